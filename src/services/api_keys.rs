//! Creating and revoking workspace API keys. A key is shown once; only its SHA-256 is kept.

use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::api_key::ApiKey;
use crate::db::audit::{self, Actor, Entry};
use crate::db::schema::api_keys;
use crate::db::{DbConnection, lock_workspace};
use crate::domain::audit::Action;
use crate::domain::role::Role;
use crate::domain::token;

/// Keys look like `rk_live_<43 characters>`; the prefix shown in lists is its first 12 characters.
pub const KEY_PREFIX: &str = "rk_live_";

fn require_manager(role: Role) -> ServiceResult<()> {
    if role.can_manage_members() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Only the owner and admins can manage API keys.".into()))
    }
}

/// Creates a key; returns it with the secret, which is never shown again.
pub fn create(
    conn: &mut DbConnection,
    ws_id: i64,
    name: &str,
    actor: &Actor,
    role: Role,
) -> ServiceResult<(ApiKey, String)> {
    require_manager(role)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::Invalid(
            "Give the key a name of 1 to 100 characters, like \"Production bot\".".into(),
        ));
    }
    let secret = format!("{KEY_PREFIX}{}", token::generate());
    let hash = token::hash(&secret);
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::workspace_id.eq(ws_id),
                api_keys::name.eq(name),
                api_keys::key_prefix.eq(&secret[..12]),
                api_keys::key_hash.eq(&hash),
                api_keys::created_by.eq(actor.user_id),
                api_keys::created_at.eq(crate::domain::now()),
            ))
            .execute(conn)?;
        let key: ApiKey = api_keys::table.filter(api_keys::key_hash.eq(&hash)).first(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::ApiKeyCreated,
                actor,
                target_type: Some("api_key"),
                target_id: Some(key.id),
                target_label: Some(&key.name),
                target_email: None,
                details: serde_json::json!({ "prefix": key.key_prefix }),
            },
        )?;
        Ok((key, secret))
    })
}

pub fn revoke(conn: &mut DbConnection, ws_id: i64, key_id: i64, actor: &Actor, role: Role) -> ServiceResult<ApiKey> {
    require_manager(role)?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let key: ApiKey = api_keys::table
            .filter(api_keys::workspace_id.eq(ws_id))
            .filter(api_keys::id.eq(key_id))
            .first(conn)
            .optional()?
            .ok_or_else(|| ServiceError::NotFound("There is no such API key in this workspace.".into()))?;
        if key.revoked_at.is_some() {
            return Err(ServiceError::Conflict(format!("The key {} is already revoked.", key.name)));
        }
        diesel::update(api_keys::table.find(key.id))
            .set(api_keys::revoked_at.eq(Some(crate::domain::now())))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::ApiKeyRevoked,
                actor,
                target_type: Some("api_key"),
                target_id: Some(key.id),
                target_label: Some(&key.name),
                target_email: None,
                details: serde_json::json!({ "prefix": key.key_prefix }),
            },
        )?;
        Ok(key)
    })
}

/// The active key a bearer token names, with its use recorded (at most once a minute).
pub fn authenticate(conn: &mut DbConnection, bearer: &str) -> ServiceResult<Option<ApiKey>> {
    if !bearer.starts_with(KEY_PREFIX) || bearer.len() > 200 {
        return Ok(None);
    }
    let Some(key) = ApiKey::find_active_by_hash(conn, &token::hash(bearer))? else { return Ok(None) };
    let now = crate::domain::now();
    if key.last_used_at.is_none_or(|t| now - t > chrono::Duration::seconds(60)) {
        diesel::update(api_keys::table.find(key.id)).set(api_keys::last_used_at.eq(Some(now))).execute(conn)?;
    }
    Ok(Some(key))
}
