//! Invitations: an email, a role and optional project grants, waiting to be accepted.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{email_outbox, invitations};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i64,
    pub workspace_id: i64,
    pub email: String,
    pub role: String,
    pub status: String,
    pub token_hash: String,
    pub invited_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_sent_at: NaiveDateTime,
    pub send_count: i32,
    pub accepted_at: Option<NaiveDateTime>,
    pub accepted_user_id: Option<i64>,
    pub ended_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation<'a> {
    pub workspace_id: i64,
    pub email: &'a str,
    pub role: &'a str,
    pub status: &'a str,
    pub token_hash: &'a str,
    pub invited_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_sent_at: NaiveDateTime,
    pub send_count: i32,
}

/// (invitation id, status, sent at, last error) of an outbox row.
type DeliveryRow = (Option<i64>, String, Option<NaiveDateTime>, Option<String>);

/// Where the latest email of an invitation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// An attempt failed; another will follow.
    Retrying(String),
    Sent(NaiveDateTime),
    Failed(String),
}

impl Invitation {
    /// Pending but past its expiry (the worker will mark it expired).
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.status == "expired" || (self.status == "pending" && self.expires_at <= now)
    }

    pub fn insert(conn: &mut DbConnection, new: &NewInvitation<'_>) -> QueryResult<Invitation> {
        diesel::insert_into(invitations::table).values(new).execute(conn)?;
        invitations::table.filter(invitations::token_hash.eq(new.token_hash)).first(conn)
    }

    pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> QueryResult<Option<Invitation>> {
        invitations::table
            .filter(invitations::workspace_id.eq(workspace_id))
            .filter(invitations::id.eq(id))
            .first(conn)
            .optional()
    }

    /// Invitations the members table shows: pending ones, expired ones included.
    pub fn open_for_workspace(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<Vec<Invitation>> {
        invitations::table
            .filter(invitations::workspace_id.eq(workspace_id))
            .filter(invitations::status.eq_any(["pending", "expired"]))
            .order((invitations::created_at.asc(), invitations::id.asc()))
            .load(conn)
    }

    /// The delivery state of each invitation's latest email.
    pub fn deliveries(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<Vec<(i64, Delivery)>> {
        let rows: Vec<DeliveryRow> = email_outbox::table
            .filter(email_outbox::workspace_id.eq(workspace_id))
            .filter(email_outbox::invitation_id.is_not_null())
            .order(email_outbox::id.asc())
            .select((
                email_outbox::invitation_id,
                email_outbox::status,
                email_outbox::sent_at,
                email_outbox::last_error,
            ))
            .load(conn)?;
        // Later rows (newer emails) overwrite earlier ones.
        let mut latest = std::collections::BTreeMap::new();
        for (inv, status, sent_at, error) in rows {
            let Some(inv) = inv else { continue };
            let d = match status.as_str() {
                "sent" => Delivery::Sent(sent_at.unwrap_or_default()),
                "failed" => Delivery::Failed(error.unwrap_or_else(|| "unknown error".into())),
                _ => match error {
                    Some(reason) => Delivery::Retrying(reason),
                    None => Delivery::Queued,
                },
            };
            latest.insert(inv, d);
        }
        Ok(latest.into_iter().collect())
    }
}
