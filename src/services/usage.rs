//! The shared monthly allowance: ingesting usage events from the chatbot platform, the roll-ups
//! that keep the usage page cheap, per-member caps, alerts, and the usage report.
//!
//! Usage events are not audit rows (they would drown the log); what changes the rules — API keys,
//! caps, plans — is audited.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::audit::{self, Actor, Entry};
use crate::db::membership::Membership;
use crate::db::schema::{memberships, projects, usage_alerts, usage_daily, usage_events, usage_monthly, users};
use crate::db::usage::{Totals, month_of};
use crate::db::workspace::Workspace;
use crate::db::{DbConnection, lock_workspace, outbox};
use crate::domain::audit::Action;
use crate::domain::format_count;
use crate::domain::role::Role;

/// Events one request may carry.
pub const MAX_BATCH: usize = 1000;
/// Largest count one event may report.
const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Alert thresholds, in percent of the allowance.
pub const THRESHOLDS: [i32; 2] = [80, 100];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    AgentRun,
    Automation,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "message" => Some(Kind::Message),
            "agent_run" => Some(Kind::AgentRun),
            "automation" => Some(Kind::Automation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::AgentRun => "agent_run",
            Kind::Automation => "automation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(i64),
    Email(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    Id(i64),
    Name(String),
}

#[derive(Debug, Clone)]
pub struct EventInput {
    pub member: MemberRef,
    pub project: Option<ProjectRef>,
    pub kind: Kind,
    pub messages: i64,
    pub tokens: i64,
    pub time: NaiveDateTime,
    pub idempotency_key: String,
}

/// Reads a request body: one event, `{"events": [...]}` or a bare list. Any shape or type error
/// refuses the whole request with a message naming the field.
pub fn parse_events(body: &serde_json::Value, now: NaiveDateTime) -> Result<Vec<EventInput>, String> {
    use serde_json::Value;
    let (list, batch) = match body {
        Value::Array(items) => (items.as_slice(), true),
        Value::Object(map) if map.contains_key("events") => match map.get("events") {
            Some(Value::Array(items)) => (items.as_slice(), true),
            _ => return Err("\"events\" must be a list of events.".into()),
        },
        Value::Object(_) => (std::slice::from_ref(body), false),
        _ => return Err("The body must be a JSON object (one event) or a list of events.".into()),
    };
    if list.is_empty() {
        return Err("The batch is empty; send at least one event.".into());
    }
    if list.len() > MAX_BATCH {
        return Err(format!(
            "A batch holds at most {} events; this one has {}.",
            format_count(MAX_BATCH as i64),
            format_count(list.len() as i64)
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let at = if batch { format!("events[{i}].") } else { String::new() };
            parse_event(v, &at, now)
        })
        .collect()
}

fn parse_event(v: &serde_json::Value, at: &str, now: NaiveDateTime) -> Result<EventInput, String> {
    use serde_json::Value;
    let Value::Object(m) = v else {
        return Err(format!(
            "{}must be a JSON object.",
            if at.is_empty() { "The event ".to_owned() } else { format!("{at} ") }.trim_end_matches('.')
        ));
    };
    let member = match m.get("member") {
        Some(Value::String(s)) if !s.trim().is_empty() => MemberRef::Email(s.trim().to_lowercase()),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n > 0) => MemberRef::Id(n.as_i64().unwrap_or_default()),
        None | Some(Value::Null) => {
            return Err(format!("{at}member is required: the member's user id or email address."));
        }
        _ => return Err(format!("{at}member must be a user id (a positive whole number) or an email address.")),
    };
    let project = match m.get("project") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n > 0) => {
            Some(ProjectRef::Id(n.as_i64().unwrap_or_default()))
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(ProjectRef::Name(s.trim().to_owned())),
        _ => return Err(format!("{at}project must be a project id or name, or left out.")),
    };
    let kind = match m.get("kind") {
        None | Some(Value::Null) => Kind::Message,
        Some(Value::String(s)) => Kind::parse(s)
            .ok_or_else(|| format!("{at}kind must be \"message\", \"agent_run\" or \"automation\", not \"{s}\"."))?,
        _ => return Err(format!("{at}kind must be \"message\", \"agent_run\" or \"automation\".")),
    };
    let amount = |field: &str| -> Result<i64, String> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(x) if (0..=MAX_AMOUNT).contains(&x) => Ok(x),
                Some(x) if x < 0 => Err(format!("{at}{field} must be 0 or more, not {x}.")),
                _ if n.is_f64() => Err(format!("{at}{field} must be a whole number, not {n}.")),
                _ => Err(format!("{at}{field} is too large.")),
            },
            Some(other) => Err(format!("{at}{field} must be a whole number, not {}.", type_name(other))),
        }
    };
    let messages = amount("messages")?;
    let tokens = amount("tokens")?;
    let time = match m.get("time") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| crate::domain::truncate_micros(t.naive_utc()))
            .map_err(|_| format!("{at}time must be an RFC 3339 time like 2026-12-04T10:00:00Z, not \"{s}\"."))?,
        _ => return Err(format!("{at}time must be an RFC 3339 time like 2026-12-04T10:00:00Z.")),
    };
    let idempotency_key = match m.get("idempotency_key") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 200 => s.clone(),
        Some(Value::String(_)) => return Err(format!("{at}idempotency_key must be 1 to 200 characters.")),
        None | Some(Value::Null) => {
            return Err(format!("{at}idempotency_key is required, so that a retried event is counted once."));
        }
        _ => return Err(format!("{at}idempotency_key must be a string.")),
    };
    Ok(EventInput { member, project, kind, messages, tokens, time, idempotency_key })
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Bool(_) => "true or false",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
        _ => "that",
    }
}

/// A month's allowance and how much of it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowanceStatus {
    pub month: NaiveDate,
    pub used: Totals,
    pub messages_limit: i64,
    pub tokens_limit: i64,
}

impl AllowanceStatus {
    pub fn exhausted(&self) -> bool {
        self.used.messages >= self.messages_limit || self.used.tokens >= self.tokens_limit
    }

    /// The larger of the two shares, in percent.
    pub fn percent(&self) -> i64 {
        let m = self.used.messages.saturating_mul(100) / self.messages_limit.max(1);
        let t = self.used.tokens.saturating_mul(100) / self.tokens_limit.max(1);
        m.max(t)
    }

    /// Midnight UTC on the first day of the next month.
    pub fn resets_at(&self) -> NaiveDateTime {
        next_month(self.month).and_hms_opt(0, 0, 0).unwrap_or_default()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} messages and {} tokens a month (resets {})",
            format_count(self.messages_limit),
            format_count(self.tokens_limit),
            self.resets_at().format("%B %-d, %Y at 00:00 UTC")
        )
    }
}

pub fn next_month(month: NaiveDate) -> NaiveDate {
    if month.month() == 12 {
        NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
    }
    .unwrap_or(month)
}

/// The workspace's totals for a month, from the roll-up.
pub fn month_totals(conn: &mut DbConnection, ws_id: i64, month: NaiveDate) -> ServiceResult<Totals> {
    Ok(crate::db::usage::per_user(conn, ws_id, month)?.into_iter().fold(Totals::default(), |mut acc, (_, t)| {
        acc += t;
        acc
    }))
}

pub fn allowance_status(conn: &mut DbConnection, ws: &Workspace, month: NaiveDate) -> ServiceResult<AllowanceStatus> {
    let a = ws.plan().allowance();
    Ok(AllowanceStatus {
        month,
        used: month_totals(conn, ws.id, month)?,
        messages_limit: a.messages,
        tokens_limit: a.tokens,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStatus {
    Accepted,
    /// The idempotency key was seen before: accepted once, not counted again.
    Duplicate,
    Rejected {
        reason: &'static str,
        message: String,
    },
}

pub enum IngestOutcome {
    /// This month's allowance was already used up: nothing was looked at.
    Exhausted(AllowanceStatus),
    Done {
        results: Vec<EventStatus>,
        allowance: AllowanceStatus,
    },
}

struct Person {
    user_id: i64,
    name: String,
    message_cap: Option<i64>,
    token_cap: Option<i64>,
}

/// Records a batch of usage events in one transaction (the workspace locked, so the allowance and
/// caps hold under concurrency): each event is accepted, a duplicate, or rejected with a reason;
/// the roll-ups are updated; crossing 80 % or 100 % of the allowance emails the owner once.
pub fn ingest(
    conn: &mut DbConnection,
    ws_id: i64,
    api_key_id: Option<i64>,
    events: &[EventInput],
) -> ServiceResult<IngestOutcome> {
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let ws = Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
        let now = crate::domain::now();
        let current = month_of(now);
        let before = allowance_status(conn, &ws, current)?;
        if before.exhausted() {
            return Ok(IngestOutcome::Exhausted(before));
        }
        let allowance = ws.plan().allowance();
        // Who may be charged: active members, by user id and by email.
        type PersonRow = (i64, String, String, Option<i64>, Option<i64>);
        let people: Vec<PersonRow> = memberships::table
            .inner_join(users::table)
            .filter(memberships::workspace_id.eq(ws.id))
            .select((
                users::id,
                users::email,
                users::name,
                memberships::monthly_message_cap,
                memberships::monthly_token_cap,
            ))
            .load(conn)?;
        let mut by_id: HashMap<i64, Person> = HashMap::new();
        let mut by_email: HashMap<String, i64> = HashMap::new();
        for (id, email, name, message_cap, token_cap) in people {
            by_email.insert(email, id);
            by_id.insert(id, Person { user_id: id, name, message_cap, token_cap });
        }
        let project_rows: Vec<(i64, String)> = projects::table
            .filter(projects::workspace_id.eq(ws.id))
            .select((projects::id, projects::name))
            .load(conn)?;
        let project_ids: HashSet<i64> = project_rows.iter().map(|(id, _)| *id).collect();
        let project_names: HashMap<String, i64> = project_rows.into_iter().map(|(id, n)| (n, id)).collect();
        let keys: Vec<&str> = events.iter().map(|e| e.idempotency_key.as_str()).collect();
        let mut seen: HashSet<String> = HashSet::new();
        for chunk in keys.chunks(500) {
            let found: Vec<String> = usage_events::table
                .filter(usage_events::workspace_id.eq(ws.id))
                .filter(usage_events::idempotency_key.eq_any(chunk))
                .select(usage_events::idempotency_key)
                .load(conn)?;
            seen.extend(found);
        }
        let mut ws_month: HashMap<NaiveDate, Totals> = HashMap::from([(current, before.used)]);
        let mut member_month: HashMap<(NaiveDate, i64), Totals> = HashMap::new();
        let mut monthly_delta: BTreeMap<(NaiveDate, i64, Option<i64>), Totals> = BTreeMap::new();
        let mut daily_delta: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
        let mut results = Vec::with_capacity(events.len());
        for e in events {
            if seen.contains(&e.idempotency_key) {
                results.push(EventStatus::Duplicate);
                continue;
            }
            let user_id = match &e.member {
                MemberRef::Id(id) => by_id.contains_key(id).then_some(*id),
                MemberRef::Email(email) => by_email.get(email).copied(),
            };
            let Some(person) = user_id.and_then(|id| by_id.get(&id)) else {
                let who = match &e.member {
                    MemberRef::Id(id) => format!("User {id}"),
                    MemberRef::Email(email) => email.clone(),
                };
                results.push(EventStatus::Rejected {
                    reason: "not_a_member",
                    message: format!("{who} is not an active member of {}.", ws.name),
                });
                continue;
            };
            let project_id = match &e.project {
                None => None,
                Some(ProjectRef::Id(id)) if project_ids.contains(id) => Some(*id),
                Some(ProjectRef::Name(n)) if project_names.contains_key(n) => project_names.get(n).copied(),
                Some(p) => {
                    let what = match p {
                        ProjectRef::Id(id) => format!("Project {id}"),
                        ProjectRef::Name(n) => format!("The project \"{n}\""),
                    };
                    results.push(EventStatus::Rejected {
                        reason: "unknown_project",
                        message: format!("{what} is not in {}.", ws.name),
                    });
                    continue;
                }
            };
            if e.time > now + Duration::minutes(5) {
                results.push(EventStatus::Rejected {
                    reason: "time_in_future",
                    message: format!("The event's time, {}, is in the future.", e.time.format("%Y-%m-%dT%H:%M:%SZ")),
                });
                continue;
            }
            let month = month_of(e.time);
            if let std::collections::hash_map::Entry::Vacant(slot) = ws_month.entry(month) {
                slot.insert(month_totals(conn, ws.id, month)?);
            }
            let totals = ws_month.get(&month).copied().unwrap_or_default();
            let status = AllowanceStatus {
                month,
                used: totals,
                messages_limit: allowance.messages,
                tokens_limit: allowance.tokens,
            };
            if status.exhausted() {
                results.push(EventStatus::Rejected {
                    reason: "allowance_exhausted",
                    message: format!("The workspace's allowance of {} is used up.", status.describe()),
                });
                continue;
            }
            let key = (month, person.user_id);
            if let std::collections::hash_map::Entry::Vacant(slot) = member_month.entry(key) {
                let t = crate::db::usage::per_user(conn, ws.id, month)?
                    .into_iter()
                    .find(|(u, _)| *u == person.user_id)
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                slot.insert(t);
            }
            let mine = member_month.get(&key).copied().unwrap_or_default();
            let capped = match (person.message_cap, person.token_cap) {
                (Some(cap), _) if mine.messages >= cap => Some(format!("{} messages", format_count(cap))),
                (_, Some(cap)) if mine.tokens >= cap => Some(format!("{} tokens", format_count(cap))),
                _ => None,
            };
            if let Some(cap) = capped {
                results.push(EventStatus::Rejected {
                    reason: "member_cap_reached",
                    message: format!(
                        "{} has reached their monthly cap of {cap}; it resets {}.",
                        person.name,
                        status.resets_at().format("%B %-d, %Y at 00:00 UTC")
                    ),
                });
                continue;
            }
            diesel::insert_into(usage_events::table)
                .values((
                    usage_events::workspace_id.eq(ws.id),
                    usage_events::user_id.eq(person.user_id),
                    usage_events::project_id.eq(project_id),
                    usage_events::kind.eq(e.kind.as_str()),
                    usage_events::messages.eq(e.messages),
                    usage_events::tokens.eq(e.tokens),
                    usage_events::occurred_at.eq(e.time),
                    usage_events::idempotency_key.eq(&e.idempotency_key),
                    usage_events::api_key_id.eq(api_key_id),
                    usage_events::created_at.eq(now),
                ))
                .execute(conn)?;
            seen.insert(e.idempotency_key.clone());
            let delta = Totals {
                messages: e.messages,
                tokens: e.tokens,
                agent_runs: i64::from(e.kind == Kind::AgentRun),
                automations: i64::from(e.kind == Kind::Automation),
            };
            *ws_month.entry(month).or_default() += delta;
            *member_month.entry(key).or_default() += delta;
            *monthly_delta.entry((month, person.user_id, project_id)).or_default() += delta;
            let day = daily_delta.entry(e.time.date()).or_default();
            day.0 += e.messages;
            day.1 += e.tokens;
            results.push(EventStatus::Accepted);
        }
        flush_rollups(conn, ws.id, &monthly_delta, &daily_delta)?;
        let after = allowance_status(conn, &ws, current)?;
        send_alerts(conn, &ws, &before, &after)?;
        Ok(IngestOutcome::Done { results, allowance: after })
    })
}

/// Adds the batch's totals to the monthly and daily roll-ups (inside the locked transaction, so a
/// read-then-write is safe on both backends).
fn flush_rollups(
    conn: &mut DbConnection,
    ws_id: i64,
    monthly: &BTreeMap<(NaiveDate, i64, Option<i64>), Totals>,
    daily: &BTreeMap<NaiveDate, (i64, i64)>,
) -> ServiceResult<()> {
    for ((month, user, project), d) in monthly {
        let mut q = usage_monthly::table
            .filter(usage_monthly::workspace_id.eq(ws_id))
            .filter(usage_monthly::month.eq(month))
            .filter(usage_monthly::user_id.eq(user))
            .select(usage_monthly::id)
            .into_boxed();
        q = match project {
            Some(p) => q.filter(usage_monthly::project_id.eq(*p)),
            None => q.filter(usage_monthly::project_id.is_null()),
        };
        let existing: Option<i64> = q.first(conn).optional()?;
        match existing {
            Some(id) => {
                diesel::update(usage_monthly::table.find(id))
                    .set((
                        usage_monthly::messages.eq(usage_monthly::messages + d.messages),
                        usage_monthly::tokens.eq(usage_monthly::tokens + d.tokens),
                        usage_monthly::agent_runs.eq(usage_monthly::agent_runs + d.agent_runs),
                        usage_monthly::automations.eq(usage_monthly::automations + d.automations),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(usage_monthly::table)
                    .values((
                        usage_monthly::workspace_id.eq(ws_id),
                        usage_monthly::month.eq(month),
                        usage_monthly::user_id.eq(user),
                        usage_monthly::project_id.eq(project),
                        usage_monthly::messages.eq(d.messages),
                        usage_monthly::tokens.eq(d.tokens),
                        usage_monthly::agent_runs.eq(d.agent_runs),
                        usage_monthly::automations.eq(d.automations),
                    ))
                    .execute(conn)?;
            }
        }
    }
    for (day, (messages, tokens)) in daily {
        let n = diesel::update(
            usage_daily::table.filter(usage_daily::workspace_id.eq(ws_id)).filter(usage_daily::day.eq(day)),
        )
        .set((
            usage_daily::messages.eq(usage_daily::messages + messages),
            usage_daily::tokens.eq(usage_daily::tokens + tokens),
        ))
        .execute(conn)?;
        if n == 0 {
            diesel::insert_into(usage_daily::table)
                .values((
                    usage_daily::workspace_id.eq(ws_id),
                    usage_daily::day.eq(day),
                    usage_daily::messages.eq(messages),
                    usage_daily::tokens.eq(tokens),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Emails the owner when the month's usage crosses 80 % or 100 %, once per threshold per month.
fn send_alerts(
    conn: &mut DbConnection,
    ws: &Workspace,
    before: &AllowanceStatus,
    after: &AllowanceStatus,
) -> ServiceResult<()> {
    for threshold in THRESHOLDS {
        let t = i64::from(threshold);
        if before.percent() >= t || after.percent() < t {
            continue;
        }
        let sent: bool = diesel::select(diesel::dsl::exists(
            usage_alerts::table
                .filter(usage_alerts::workspace_id.eq(ws.id))
                .filter(usage_alerts::month.eq(after.month))
                .filter(usage_alerts::threshold.eq(threshold)),
        ))
        .get_result(conn)?;
        if sent {
            continue;
        }
        diesel::insert_into(usage_alerts::table)
            .values((
                usage_alerts::workspace_id.eq(ws.id),
                usage_alerts::month.eq(after.month),
                usage_alerts::threshold.eq(threshold),
                usage_alerts::created_at.eq(crate::domain::now()),
            ))
            .execute(conn)?;
        let owner: Option<(String, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::workspace_id.eq(ws.id))
            .filter(memberships::role.eq("owner"))
            .select((users::email, users::name))
            .first(conn)
            .optional()?;
        if let Some((email, name)) = owner {
            let mail = crate::mail::compose::usage_alert(&crate::mail::compose::UsageAlertMail {
                to: &email,
                owner: &name,
                workspace: &ws.name,
                threshold,
                messages: after.used.messages,
                messages_limit: after.messages_limit,
                tokens: after.used.tokens,
                tokens_limit: after.tokens_limit,
                resets: &after.resets_at().format("%B %-d, %Y").to_string(),
            })
            .map_err(|e| ServiceError::Internal(format!("usage alert email: {e}")))?;
            outbox::enqueue(conn, Some(ws.id), None, &format!("usage_alert_{threshold}"), &mail)?;
        }
    }
    Ok(())
}

/// 80 or 100 when this month's usage has reached that share of the allowance.
pub fn alert_level(conn: &mut DbConnection, ws: &Workspace) -> ServiceResult<Option<(i32, AllowanceStatus)>> {
    let status = allowance_status(conn, ws, month_of(crate::domain::now()))?;
    let p = status.percent();
    Ok(THRESHOLDS.iter().rev().find(|t| p >= i64::from(**t)).map(|t| (*t, status)))
}

/// Sets (or clears, with `None`) a member's monthly caps. The owner caps anyone; admins cap members.
pub fn set_cap(
    conn: &mut DbConnection,
    ws_id: i64,
    membership_id: i64,
    messages: Option<i64>,
    tokens: Option<i64>,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<String> {
    if !actor_role.can_manage_members() {
        return Err(ServiceError::Forbidden("Only the owner and admins can set usage caps.".into()));
    }
    if messages.is_some_and(|m| m < 0) || tokens.is_some_and(|t| t < 0) {
        return Err(ServiceError::Invalid("Caps are whole numbers of 0 or more; leave a box empty for no cap.".into()));
    }
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let target = super::members::member_by_id(conn, ws_id, membership_id)?;
        let allowed = actor_role == Role::Owner || (actor_role == Role::Admin && target.membership.role() == Role::Member);
        if !allowed {
            return Err(ServiceError::Forbidden(format!("Only the owner can set a cap for {}.", target.name)));
        }
        diesel::update(memberships::table.find(target.membership.id))
            .set((memberships::monthly_message_cap.eq(messages), memberships::monthly_token_cap.eq(tokens)))
            .execute(conn)?;
        let summary = cap_summary(messages, tokens);
        audit::record(conn, &Entry {
            workspace_id: Some(ws_id),
            action: Action::UsageCapSet,
            actor,
            target_type: Some("member"),
            target_id: Some(target.membership.id),
            target_label: Some(&target.name),
            target_email: Some(&target.email),
            details: serde_json::json!({
                "messages": messages, "tokens": tokens, "summary": summary,
                "previous_messages": target.membership.monthly_message_cap, "previous_tokens": target.membership.monthly_token_cap,
            }),
        })?;
        Ok(target.name)
    })
}

pub fn cap_summary(messages: Option<i64>, tokens: Option<i64>) -> String {
    match (messages, tokens) {
        (None, None) => "no cap".into(),
        (Some(m), None) => format!("{} messages", format_count(m)),
        (None, Some(t)) => format!("{} tokens", format_count(t)),
        (Some(m), Some(t)) => format!("{} messages, {} tokens", format_count(m), format_count(t)),
    }
}

// ----- the usage page -----

pub struct MemberUsage {
    pub membership_id: Option<i64>,
    pub name: String,
    pub email: String,
    pub role: Option<Role>,
    pub totals: Totals,
    /// Share of the workspace's messages this month, in tenths of a percent.
    pub share_permille: i64,
    pub message_cap: Option<i64>,
    pub token_cap: Option<i64>,
}

pub struct UsageReport {
    pub allowance: AllowanceStatus,
    /// One entry per day of the month: (day, messages, tokens).
    pub daily: Vec<(NaiveDate, i64, i64)>,
    pub members: Vec<MemberUsage>,
    /// (project name, totals); "No project" last.
    pub projects: Vec<(String, Totals)>,
    pub forecast: Option<String>,
    /// Months with usage, newest first (the current one always included).
    pub months: Vec<NaiveDate>,
}

pub fn report(
    conn: &mut DbConnection,
    ws: &Workspace,
    month: NaiveDate,
    now: NaiveDateTime,
) -> ServiceResult<UsageReport> {
    let allowance = allowance_status(conn, ws, month)?;
    let end = next_month(month);
    let days: Vec<(NaiveDate, i64, i64)> = usage_daily::table
        .filter(usage_daily::workspace_id.eq(ws.id))
        .filter(usage_daily::day.ge(month))
        .filter(usage_daily::day.lt(end))
        .select((usage_daily::day, usage_daily::messages, usage_daily::tokens))
        .load(conn)?;
    let by_day: HashMap<NaiveDate, (i64, i64)> = days.into_iter().map(|(d, m, t)| (d, (m, t))).collect();
    let daily = month
        .iter_days()
        .take_while(|d| *d < end)
        .map(|d| {
            let (m, t) = by_day.get(&d).copied().unwrap_or_default();
            (d, m, t)
        })
        .collect();
    let rows: Vec<(i64, Option<i64>, i64, i64, i64, i64)> = usage_monthly::table
        .filter(usage_monthly::workspace_id.eq(ws.id))
        .filter(usage_monthly::month.eq(month))
        .select((
            usage_monthly::user_id,
            usage_monthly::project_id,
            usage_monthly::messages,
            usage_monthly::tokens,
            usage_monthly::agent_runs,
            usage_monthly::automations,
        ))
        .load(conn)?;
    let mut per_user: HashMap<i64, Totals> = HashMap::new();
    let mut per_project: HashMap<Option<i64>, Totals> = HashMap::new();
    for (u, p, messages, tokens, agent_runs, automations) in rows {
        let t = Totals { messages, tokens, agent_runs, automations };
        *per_user.entry(u).or_default() += t;
        *per_project.entry(p).or_default() += t;
    }
    let current: HashMap<i64, (i64, Role, Option<i64>, Option<i64>)> = Membership::list_with_users(conn, ws.id)?
        .into_iter()
        .map(|m| {
            (
                m.membership.user_id,
                (
                    m.membership.id,
                    m.membership.role(),
                    m.membership.monthly_message_cap,
                    m.membership.monthly_token_cap,
                ),
            )
        })
        .collect();
    let mut user_ids: Vec<i64> = per_user.keys().copied().chain(current.keys().copied()).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let names: HashMap<i64, (String, String)> = users::table
        .filter(users::id.eq_any(&user_ids))
        .select((users::id, users::name, users::email))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, n, e)| (id, (n, e)))
        .collect();
    let total_messages = allowance.used.messages.max(1);
    let mut members: Vec<MemberUsage> = user_ids
        .into_iter()
        .map(|u| {
            let totals = per_user.get(&u).copied().unwrap_or_default();
            let (name, email) = names.get(&u).cloned().unwrap_or_default();
            let m = current.get(&u);
            MemberUsage {
                membership_id: m.map(|m| m.0),
                role: m.map(|m| m.1),
                message_cap: m.and_then(|m| m.2),
                token_cap: m.and_then(|m| m.3),
                share_permille: totals.messages * 1000 / total_messages,
                name,
                email,
                totals,
            }
        })
        .collect();
    members.sort_by(|a, b| {
        b.totals.messages.cmp(&a.totals.messages).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    let project_names: HashMap<i64, String> = projects::table
        .filter(projects::workspace_id.eq(ws.id))
        .select((projects::id, projects::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut projects: Vec<(String, Totals)> = per_project
        .iter()
        .filter_map(|(p, t)| {
            p.map(|p| (project_names.get(&p).cloned().unwrap_or_else(|| "A deleted project".into()), *t))
        })
        .collect();
    projects.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then_with(|| a.0.cmp(&b.0)));
    if let Some(t) = per_project.get(&None) {
        projects.push(("No project".into(), *t));
    }
    let mut months: Vec<NaiveDate> = usage_monthly::table
        .filter(usage_monthly::workspace_id.eq(ws.id))
        .select(usage_monthly::month)
        .distinct()
        .load(conn)?;
    let this_month = month_of(now);
    months.push(this_month);
    months.sort_unstable_by(|a, b| b.cmp(a));
    months.dedup();
    let forecast = (month == this_month).then(|| forecast(&allowance, now)).flatten();
    Ok(UsageReport { allowance, daily, members, projects, forecast, months })
}

/// "At this pace, the message allowance runs out around December 24." — or how much of it the
/// month will use. `None` before there is any usage.
pub fn forecast(a: &AllowanceStatus, now: NaiveDateTime) -> Option<String> {
    if a.used.messages == 0 && a.used.tokens == 0 {
        return None;
    }
    if a.exhausted() {
        return Some(format!("The allowance is used up until {}.", a.resets_at().format("%B %-d")));
    }
    let start = a.month.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = a.resets_at();
    let elapsed = ((now - start).num_seconds() as f64 / 86_400.0).max(1.0);
    let month_days = (end - start).num_seconds() as f64 / 86_400.0;
    let mut runs_out: Option<(NaiveDateTime, &str)> = None;
    for (used, limit, what) in
        [(a.used.messages, a.messages_limit, "message"), (a.used.tokens, a.tokens_limit, "token")]
    {
        let pace = used as f64 / elapsed;
        if pace > 0.0 {
            let day = start + Duration::seconds((limit as f64 / pace * 86_400.0) as i64);
            if day < end && runs_out.is_none_or(|(d, _)| day < d) {
                runs_out = Some((day, what));
            }
        }
    }
    Some(match runs_out {
        Some((day, what)) => format!("At this pace, the {what} allowance runs out around {}.", day.format("%B %-d")),
        None => {
            let share = |used: i64, limit: i64| {
                (used as f64 / elapsed * month_days * 100.0 / limit.max(1) as f64).round() as i64
            };
            let p = share(a.used.messages, a.messages_limit).max(share(a.used.tokens, a.tokens_limit));
            format!("At this pace, the workspace will use about {p}% of its allowance this month.")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 10).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
    }

    #[test]
    fn parses_single_batch_and_refuses_bad_shapes() {
        let one = serde_json::json!({"member": "Ana@X.io", "kind": "agent_run", "messages": 2, "tokens": 300, "idempotency_key": "k1"});
        let e = parse_events(&one, now()).expect("valid");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].member, MemberRef::Email("ana@x.io".into()));
        assert_eq!(e[0].kind, Kind::AgentRun);
        let batch = serde_json::json!({"events": [one, {"member": 7, "project": "Support", "messages": 1, "idempotency_key": "k2"}]});
        assert_eq!(parse_events(&batch, now()).expect("valid").len(), 2);
        let bad = |v: serde_json::Value| parse_events(&v, now()).expect_err("refused");
        assert_eq!(
            bad(serde_json::json!({"member": "a@x.io", "tokens": -5, "idempotency_key": "k"})),
            "tokens must be 0 or more, not -5."
        );
        assert_eq!(
            bad(serde_json::json!({"member": "a@x.io", "tokens": "5", "idempotency_key": "k"})),
            "tokens must be a whole number, not a string."
        );
        assert_eq!(
            bad(serde_json::json!({"member": "a@x.io", "messages": 1.5, "idempotency_key": "k"})),
            "messages must be a whole number, not 1.5."
        );
        assert_eq!(
            bad(serde_json::json!({"events": [{"member": "a@x.io"}]})),
            "events[0].idempotency_key is required, so that a retried event is counted once."
        );
        assert_eq!(bad(serde_json::json!({"events": []})), "The batch is empty; send at least one event.");
        assert!(
            bad(serde_json::json!({"member": "a@x.io", "kind": "chat", "idempotency_key": "k"}))
                .contains("not \"chat\"")
        );
        let many: Vec<serde_json::Value> =
            (0..1001).map(|i| serde_json::json!({"member": "a@x.io", "idempotency_key": i.to_string()})).collect();
        assert_eq!(bad(serde_json::Value::Array(many)), "A batch holds at most 1,000 events; this one has 1,001.");
    }

    #[test]
    fn forecasts_the_run_out_day() {
        let month = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        // 9 days in, 4,500 of 10,000 messages: 500 a day, so day 20.
        let a = AllowanceStatus {
            month,
            used: Totals { messages: 4_500, tokens: 0, ..Default::default() },
            messages_limit: 10_000,
            tokens_limit: 5_000_000,
        };
        assert_eq!(
            forecast(&a, now()).as_deref(),
            Some("At this pace, the message allowance runs out around December 21.")
        );
        let a = AllowanceStatus {
            month,
            used: Totals { messages: 900, tokens: 0, ..Default::default() },
            messages_limit: 10_000,
            tokens_limit: 5_000_000,
        };
        assert_eq!(
            forecast(&a, now()).as_deref(),
            Some("At this pace, the workspace will use about 31% of its allowance this month.")
        );
        assert_eq!(a.resets_at().format("%Y-%m-%d").to_string(), "2027-01-01");
    }
}
