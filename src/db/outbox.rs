//! The email outbox: messages written in the same transaction as the change that caused them,
//! delivered later by the worker (`mail::outbox`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::email_outbox;
use crate::mail::Email;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub workspace_id: Option<i64>,
    pub invitation_id: Option<i64>,
    pub kind: String,
    pub to_email: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxMessage {
    pub fn email(&self) -> Email {
        Email {
            to: self.to_email.clone(),
            subject: self.subject.clone(),
            text: self.body_text.clone(),
            html: self.body_html.clone(),
        }
    }
}

/// Queues a message. Call inside the transaction of the change that causes it.
pub fn enqueue(
    conn: &mut DbConnection,
    workspace_id: Option<i64>,
    invitation_id: Option<i64>,
    kind: &str,
    email: &Email,
) -> QueryResult<()> {
    let now = crate::domain::now();
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::workspace_id.eq(workspace_id),
            email_outbox::invitation_id.eq(invitation_id),
            email_outbox::kind.eq(kind),
            email_outbox::to_email.eq(&email.to),
            email_outbox::subject.eq(&email.subject),
            email_outbox::body_text.eq(&email.text),
            email_outbox::body_html.eq(&email.html),
            email_outbox::status.eq("queued"),
            email_outbox::attempts.eq(0),
            email_outbox::next_attempt_at.eq(now),
            email_outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `limit` due messages for this worker until `lease_until`. On PostgreSQL rows
/// another instance holds are skipped (`FOR UPDATE SKIP LOCKED`), so instances share the work.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxMessage>> {
    use diesel::sql_types::{BigInt, Timestamp};
    let ids: Vec<IdRow> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(
            "UPDATE email_outbox SET locked_until = $1 WHERE id IN (\
               SELECT id FROM email_outbox WHERE status = 'queued' AND next_attempt_at <= $2 \
               AND (locked_until IS NULL OR locked_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(pg)?,
        DbConnection::Sqlite(lite) => diesel::sql_query(
            "UPDATE email_outbox SET locked_until = ? WHERE id IN (\
               SELECT id FROM email_outbox WHERE status = 'queued' AND next_attempt_at <= ? \
               AND (locked_until IS NULL OR locked_until < ?) ORDER BY id LIMIT ?) \
             RETURNING id",
        )
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(lite)?,
    };
    let ids: Vec<i64> = ids.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    email_outbox::table.filter(email_outbox::id.eq_any(ids)).order(email_outbox::id.asc()).load(conn)
}

pub fn mark_sent(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq("sent"),
            email_outbox::sent_at.eq(Some(at)),
            email_outbox::attempts.eq(email_outbox::attempts + 1),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let status = if retry_at.is_some() { "queued" } else { "failed" };
    let next = retry_at.unwrap_or_else(crate::domain::now);
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(status),
            email_outbox::attempts.eq(email_outbox::attempts + 1),
            email_outbox::next_attempt_at.eq(next),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)
}

/// How many messages of `kinds` a workspace queued since `since` (for daily limits).
pub fn count_since(
    conn: &mut DbConnection,
    workspace_id: i64,
    kinds: &[&str],
    since: NaiveDateTime,
) -> QueryResult<i64> {
    email_outbox::table
        .filter(email_outbox::workspace_id.eq(workspace_id))
        .filter(email_outbox::kind.eq_any(kinds))
        .filter(email_outbox::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// How many messages of `kind` were queued for one invitation since `since`.
pub fn count_for_invitation_since(
    conn: &mut DbConnection,
    invitation_id: i64,
    kind: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    email_outbox::table
        .filter(email_outbox::invitation_id.eq(invitation_id))
        .filter(email_outbox::kind.eq(kind))
        .filter(email_outbox::created_at.gt(since))
        .count()
        .get_result(conn)
}
