//! Audit rows: written in the same transaction as the change they describe, chained by hash per
//! workspace, never updated or deleted (the database's triggers refuse it).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::audit_events;
use crate::domain::audit::{Action, GENESIS_HASH, HashedFields, chain_hash};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub workspace_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub action: String,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub actor_email: String,
    pub actor_kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub target_label: Option<String>,
    pub target_email: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    pub fn hashed_fields(&self) -> HashedFields<'_> {
        HashedFields {
            workspace_id: self.workspace_id,
            created_at: self.created_at,
            action: &self.action,
            actor_user_id: self.actor_user_id,
            actor_name: &self.actor_name,
            actor_email: &self.actor_email,
            actor_kind: &self.actor_kind,
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            target_type: self.target_type.as_deref(),
            target_id: self.target_id,
            target_label: self.target_label.as_deref(),
            target_email: self.target_email.as_deref(),
            details: &self.details,
        }
    }

    /// The newest rows of a workspace, newest first.
    pub fn latest(conn: &mut DbConnection, workspace_id: i64, limit: i64) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::workspace_id.eq(workspace_id))
            .order(audit_events::id.desc())
            .limit(limit)
            .load(conn)
    }

    /// Every row of a workspace with the given action, oldest first.
    pub fn with_action(conn: &mut DbConnection, workspace_id: i64, action: Action) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::workspace_id.eq(workspace_id))
            .filter(audit_events::action.eq(action.as_str()))
            .order(audit_events::id.asc())
            .load(conn)
    }
}

/// Who did something, as they were at the time.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub email: String,
    /// `user`, `staff`, `system` or `api`.
    pub kind: &'static str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "Roster".into(),
            email: "system".into(),
            kind: "system",
            ip: None,
            user_agent: None,
        }
    }
}

/// What happened, to whom or what.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub workspace_id: Option<i64>,
    pub action: Action,
    pub actor: &'a Actor,
    pub target_type: Option<&'a str>,
    pub target_id: Option<i64>,
    pub target_label: Option<&'a str>,
    pub target_email: Option<&'a str>,
    pub details: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    workspace_id: Option<i64>,
    created_at: NaiveDateTime,
    action: &'a str,
    actor_user_id: Option<i64>,
    actor_name: &'a str,
    actor_email: &'a str,
    actor_kind: &'a str,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    target_type: Option<&'a str>,
    target_id: Option<i64>,
    target_label: Option<&'a str>,
    target_email: Option<&'a str>,
    details: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

/// Appends one row to the workspace's chain. Call inside the transaction of the change, after
/// `db::lock_workspace`, so that two writers cannot both chain onto the same previous row.
pub fn record(conn: &mut DbConnection, entry: &Entry<'_>) -> QueryResult<()> {
    record_at(conn, entry, crate::domain::now())
}

/// As `record`, with the time given (imports and tests of retention).
pub fn record_at(conn: &mut DbConnection, entry: &Entry<'_>, created_at: NaiveDateTime) -> QueryResult<()> {
    let created_at = crate::domain::truncate_micros(created_at);
    let mut query = audit_events::table.into_boxed();
    query = match entry.workspace_id {
        Some(ws) => query.filter(audit_events::workspace_id.eq(ws)),
        None => query.filter(audit_events::workspace_id.is_null()),
    };
    let prev: Option<String> =
        query.order(audit_events::id.desc()).select(audit_events::hash).first(conn).optional()?;
    let prev = prev.unwrap_or_else(|| GENESIS_HASH.to_owned());
    let details = entry.details.to_string();
    let fields = HashedFields {
        workspace_id: entry.workspace_id,
        created_at,
        action: entry.action.as_str(),
        actor_user_id: entry.actor.user_id,
        actor_name: &entry.actor.name,
        actor_email: &entry.actor.email,
        actor_kind: entry.actor.kind,
        ip: entry.actor.ip.as_deref(),
        user_agent: entry.actor.user_agent.as_deref(),
        target_type: entry.target_type,
        target_id: entry.target_id,
        target_label: entry.target_label,
        target_email: entry.target_email,
        details: &details,
    };
    let hash = chain_hash(&prev, &fields);
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            workspace_id: fields.workspace_id,
            created_at,
            action: fields.action,
            actor_user_id: fields.actor_user_id,
            actor_name: fields.actor_name,
            actor_email: fields.actor_email,
            actor_kind: fields.actor_kind,
            ip: fields.ip,
            user_agent: fields.user_agent,
            target_type: fields.target_type,
            target_id: fields.target_id,
            target_label: fields.target_label,
            target_email: fields.target_email,
            details: &details,
            prev_hash: &prev,
            hash: &hash,
        })
        .execute(conn)?;
    Ok(())
}
