//! Reading the audit log (filters, keyset pages), checking its hash chain, pruning it under a
//! retention policy, and the support staff's read-only view of any workspace.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{ServiceError, ServiceResult, workspaces};
use crate::db::audit::{self, Actor, AuditEvent, Entry};
use crate::db::membership::Membership;
use crate::db::schema::{audit_events, audit_retention, memberships, users, workspaces as ws_table};
use crate::db::workspace::Workspace;
use crate::db::{DbConnection, lock_workspace};
use crate::domain::audit::{Action, GENESIS_HASH, chain_hash};

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Rows on one page of the full log.
pub const PAGE_SIZE: i64 = 50;

/// Validated filters of the full log (from the query string, so views can be bookmarked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub action: Option<Action>,
    /// Matches the actor's name or email (contains, any case).
    pub actor: Option<String>,
    /// Matches the target's email (contains, any case).
    pub target: Option<String>,
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
}

impl LogQuery {
    /// Reads raw filter values; a bad one is a sentence the page shows.
    pub fn parse(action: &str, actor: &str, target: &str, from: &str, to: &str) -> Result<LogQuery, String> {
        let action = match action.trim() {
            "" => None,
            a => Some(Action::parse(a).ok_or_else(|| format!("'{a}' is not an action in the log."))?),
        };
        let date = |s: &str, what: &str| -> Result<Option<NaiveDate>, String> {
            match s.trim() {
                "" => Ok(None),
                d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| format!("The {what} date '{d}' is not a date; use the form 2026-12-04.")),
            }
        };
        let from = date(from, "from")?;
        let to = date(to, "to")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err("The from date is after the to date.".into());
        }
        let text = |s: &str| Some(s.trim().to_lowercase()).filter(|s| !s.is_empty() && s.len() <= 254);
        Ok(LogQuery { action, actor: text(actor), target: text(target), from, to })
    }

    pub fn is_empty(&self) -> bool {
        *self == LogQuery::default()
    }
}

fn like_pattern(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One page of a workspace's log, newest first, strictly before the row `before` (a keyset
/// cursor: the 10,000th page costs what the first does, and rows arriving meanwhile cause no
/// duplicates or gaps). Returns the rows and whether more follow.
pub fn page(
    conn: &mut DbConnection,
    ws_id: i64,
    q: &LogQuery,
    before: Option<i64>,
    limit: i64,
) -> ServiceResult<(Vec<AuditEvent>, bool)> {
    let mut query = audit_events::table.filter(audit_events::workspace_id.eq(ws_id)).into_boxed();
    if let Some(a) = q.action {
        query = query.filter(audit_events::action.eq(a.as_str()));
    }
    if let Some(actor) = &q.actor {
        let p = like_pattern(actor);
        query = query.filter(
            lower(audit_events::actor_name)
                .like(p.clone())
                .escape('\\')
                .or(lower(audit_events::actor_email).like(p).escape('\\')),
        );
    }
    if let Some(target) = &q.target {
        query = query.filter(audit_events::target_email.like(like_pattern(target)).escape('\\'));
    }
    if let Some(from) = q.from {
        query = query.filter(audit_events::created_at.ge(from.and_hms_opt(0, 0, 0).unwrap_or_default()));
    }
    if let Some(to) = q.to {
        query = query
            .filter(audit_events::created_at.lt((to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default()));
    }
    if let Some(b) = before {
        query = query.filter(audit_events::id.lt(b));
    }
    let mut rows: Vec<AuditEvent> = query.order(audit_events::id.desc()).limit(limit + 1).load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// Writes the `support.logs_viewed` row that every look by support staff leaves in the
/// workspace's own log.
pub fn record_support_view(conn: &mut DbConnection, ws_id: i64, staff: &Actor, what: &str) -> ServiceResult<()> {
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::SupportLogsViewed,
                actor: staff,
                target_type: Some("workspace"),
                target_id: Some(ws_id),
                target_label: None,
                target_email: None,
                details: serde_json::json!({ "viewed": what }),
            },
        )?;
        Ok(())
    })
}

// ----- tamper evidence -----

/// The first row of a chain that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRow {
    pub workspace: String,
    pub id: i64,
    pub action: String,
    pub created_at: NaiveDateTime,
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub chains: usize,
    pub rows: usize,
    pub broken: Vec<BrokenRow>,
}

/// Walks each workspace's chain (or one workspace's) from its first kept row, recomputing every
/// hash. A chain whose old rows were pruned starts from the anchor the pruning recorded.
pub fn verify(conn: &mut DbConnection, only: Option<i64>) -> ServiceResult<VerifyReport> {
    let mut chains: Vec<(Option<i64>, String)> = match only {
        Some(id) => {
            let ws = Workspace::find(conn, id)?.ok_or_else(|| ServiceError::NotFound("No such workspace.".into()))?;
            vec![(Some(ws.id), format!("{} ({})", ws.name, ws.slug))]
        }
        None => ws_table::table
            .order(ws_table::id.asc())
            .select((ws_table::id, ws_table::name, ws_table::slug))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, n, s)| (Some(id), format!("{n} ({s})")))
            .collect(),
    };
    if only.is_none() {
        chains.push((None, "rows without a workspace".into()));
    }
    let mut report = VerifyReport::default();
    for (ws_id, label) in chains {
        report.chains += 1;
        let mut anchor_q = audit_retention::table.into_boxed();
        anchor_q = match ws_id {
            Some(id) => anchor_q.filter(audit_retention::workspace_id.eq(id)),
            None => anchor_q.filter(audit_retention::workspace_id.is_null()),
        };
        let anchors: Vec<(i64, String)> = anchor_q
            .order(audit_retention::cutoff_id.desc())
            .select((audit_retention::cutoff_id, audit_retention::anchor_hash))
            .load(conn)?;
        let mut last_id = 0i64;
        let mut prev: Option<String> = None;
        loop {
            let mut q = audit_events::table.filter(audit_events::id.gt(last_id)).into_boxed();
            q = match ws_id {
                Some(id) => q.filter(audit_events::workspace_id.eq(id)),
                None => q.filter(audit_events::workspace_id.is_null()),
            };
            let batch: Vec<AuditEvent> = q.order(audit_events::id.asc()).limit(1000).load(conn)?;
            if batch.is_empty() {
                break;
            }
            for row in &batch {
                report.rows += 1;
                let expected_prev = match &prev {
                    Some(p) => p.clone(),
                    // The first kept row: the genesis hash, or the anchor a pruning recorded.
                    None => anchors
                        .iter()
                        .find(|(cut, _)| *cut == row.id)
                        .map(|(_, h)| h.clone())
                        .unwrap_or_else(|| GENESIS_HASH.to_owned()),
                };
                let problem = if row.prev_hash != expected_prev {
                    Some(
                        "does not point back to the row before it (a row was inserted, removed or reordered)"
                            .to_owned(),
                    )
                } else if chain_hash(&row.prev_hash, &row.hashed_fields()) != row.hash {
                    Some("does not match its own hash (its content was changed)".to_owned())
                } else {
                    None
                };
                if let Some(problem) = problem {
                    report.broken.push(BrokenRow {
                        workspace: label.clone(),
                        id: row.id,
                        action: row.action.clone(),
                        created_at: row.created_at,
                        problem,
                    });
                    break;
                }
                prev = Some(row.hash.clone());
                last_id = row.id;
            }
            if report.broken.last().is_some_and(|b| b.workspace == label) {
                break;
            }
        }
    }
    Ok(report)
}

// ----- retention -----

/// Deletes each workspace's rows older than `days` days, oldest first, recording the cutoff (so
/// the delete trigger lets exactly those rows go and the chain verifies from the first row kept)
/// and the pruning itself as an `audit.pruned` row. Returns (workspaces pruned, rows deleted).
pub fn prune(conn: &mut DbConnection, days: i64) -> ServiceResult<(usize, usize)> {
    let cutoff_at = crate::domain::now() - Duration::days(days);
    let ids: Vec<i64> = ws_table::table.select(ws_table::id).order(ws_table::id.asc()).load(conn)?;
    let mut pruned = (0, 0);
    for ws_id in ids {
        let deleted = conn.transaction(|conn| {
            lock_workspace(conn, ws_id)?;
            let first_kept: Option<AuditEvent> = audit_events::table
                .filter(audit_events::workspace_id.eq(ws_id))
                .filter(audit_events::created_at.ge(cutoff_at))
                .order(audit_events::id.asc())
                .first(conn)
                .optional()?;
            let old: i64 = audit_events::table
                .filter(audit_events::workspace_id.eq(ws_id))
                .filter(audit_events::created_at.lt(cutoff_at))
                .count()
                .get_result(conn)?;
            // Keep at least the newest row: a chain needs somewhere to start.
            let Some(first_kept) = first_kept else { return Ok::<usize, ServiceError>(0) };
            if old == 0 {
                return Ok(0);
            }
            diesel::insert_into(audit_retention::table)
                .values((
                    audit_retention::workspace_id.eq(Some(ws_id)),
                    audit_retention::cutoff_id.eq(first_kept.id),
                    audit_retention::anchor_hash.eq(&first_kept.prev_hash),
                    audit_retention::cutoff_at.eq(cutoff_at),
                    audit_retention::recorded_at.eq(crate::domain::now()),
                ))
                .execute(conn)?;
            let n = diesel::delete(
                audit_events::table
                    .filter(audit_events::workspace_id.eq(ws_id))
                    .filter(audit_events::id.lt(first_kept.id)),
            )
            .execute(conn)?;
            audit::record(
                conn,
                &Entry {
                    workspace_id: Some(ws_id),
                    action: Action::AuditPruned,
                    actor: &Actor::system(),
                    target_type: Some("workspace"),
                    target_id: Some(ws_id),
                    target_label: None,
                    target_email: None,
                    details: serde_json::json!({
                        "deleted": n,
                        "retention_days": days,
                        "cutoff_date": cutoff_at.format("%Y-%m-%d").to_string(),
                        "first_kept_id": first_kept.id,
                    }),
                },
            )?;
            Ok(n)
        })?;
        if deleted > 0 {
            pruned.0 += 1;
            pruned.1 += deleted;
        }
    }
    Ok(pruned)
}

// ----- support console -----

pub struct WorkspaceSummary {
    pub workspace: Workspace,
    pub owner_email: String,
    pub members: i64,
    pub seats: crate::domain::plan::SeatUsage,
    pub allowance_percent: i64,
}

pub fn summary(conn: &mut DbConnection, ws: Workspace) -> ServiceResult<WorkspaceSummary> {
    let seats = workspaces::seat_usage(conn, &ws)?;
    let owner_email: String = memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(ws.id))
        .filter(memberships::role.eq("owner"))
        .select(users::email)
        .first(conn)
        .optional()?
        .unwrap_or_default();
    let members = Membership::count_active(conn, ws.id)?;
    let allowance =
        super::usage::allowance_status(conn, &ws, crate::db::usage::month_of(crate::domain::now()))?.percent();
    Ok(WorkspaceSummary { workspace: ws, owner_email, members, seats, allowance_percent: allowance })
}

/// Workspaces whose name, owner's email or a member's email contains `q` (any case), at most 50.
pub fn search_workspaces(conn: &mut DbConnection, q: &str) -> ServiceResult<Vec<WorkspaceSummary>> {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let p = like_pattern(&q);
    let by_name: Vec<i64> = ws_table::table
        .filter(lower(ws_table::name).like(p.clone()).escape('\\'))
        .select(ws_table::id)
        .limit(50)
        .load(conn)?;
    let by_member: Vec<i64> = memberships::table
        .inner_join(users::table)
        .filter(users::email.like(p).escape('\\'))
        .select(memberships::workspace_id)
        .limit(200)
        .load(conn)?;
    let mut ids: Vec<i64> = by_name.into_iter().chain(by_member).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(50);
    let found: Vec<Workspace> =
        ws_table::table.filter(ws_table::id.eq_any(&ids)).order(ws_table::name.asc()).load(conn)?;
    found.into_iter().map(|ws| summary(conn, ws)).collect()
}
