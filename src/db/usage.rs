//! Usage roll-ups: per member, per project, per month (UTC), kept with the events.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::usage_monthly;

/// The first day of the month `t` falls in (UTC).
pub fn month_of(t: NaiveDateTime) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub messages: i64,
    pub tokens: i64,
    pub agent_runs: i64,
    pub automations: i64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.messages += o.messages;
        self.tokens += o.tokens;
        self.agent_runs += o.agent_runs;
        self.automations += o.automations;
    }
}

/// Each member's totals for a month, summed over projects: (user id, totals).
pub fn per_user(conn: &mut DbConnection, workspace_id: i64, month: NaiveDate) -> QueryResult<Vec<(i64, Totals)>> {
    let rows: Vec<(i64, i64, i64, i64, i64)> = usage_monthly::table
        .filter(usage_monthly::workspace_id.eq(workspace_id))
        .filter(usage_monthly::month.eq(month))
        .select((
            usage_monthly::user_id,
            usage_monthly::messages,
            usage_monthly::tokens,
            usage_monthly::agent_runs,
            usage_monthly::automations,
        ))
        .load(conn)?;
    let mut out: std::collections::BTreeMap<i64, Totals> = Default::default();
    for (user, messages, tokens, agent_runs, automations) in rows {
        *out.entry(user).or_default() += Totals { messages, tokens, agent_runs, automations };
    }
    Ok(out.into_iter().collect())
}
