//! Changing a workspace's plan. No payment is taken: a change is a row update and its audit row.

use diesel::Connection;

use super::{ServiceError, ServiceResult, workspaces};
use crate::db::audit::{self, Actor, Entry};
use crate::db::invitation::Invitation;
use crate::db::membership::Membership;
use crate::db::workspace::Workspace;
use crate::db::{self as database, DbConnection};
use crate::domain::audit::Action;
use crate::domain::plan::{Plan, SeatUsage};
use crate::domain::role::Role;

#[derive(Debug)]
pub enum PlanChange {
    Changed {
        from: Plan,
        to: Plan,
    },
    Unchanged,
    /// The new plan has fewer seats than are in use: `excess` of `people` must go first.
    TooManySeats {
        to: Plan,
        seats: SeatUsage,
        excess: i64,
        people: Vec<String>,
    },
}

/// Changes the plan in one transaction that locks the workspace and recounts its seats.
pub fn change_plan(
    conn: &mut DbConnection,
    ws_id: i64,
    to: Plan,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<PlanChange> {
    if !actor_role.can_change_plan() {
        return Err(ServiceError::Forbidden("Only the workspace owner can change the plan.".into()));
    }
    conn.transaction(|conn| {
        database::lock_workspace(conn, ws_id)?;
        let ws = Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
        let from = ws.plan();
        if from == to {
            return Ok(PlanChange::Unchanged);
        }
        let seats = workspaces::seat_usage(conn, &ws)?;
        let excess = seats.excess_for(to);
        if excess > 0 {
            let now = crate::domain::now();
            let mut people: Vec<String> = Membership::list_with_users(conn, ws.id)?
                .into_iter()
                .filter(|m| m.membership.role() != Role::Owner)
                .map(|m| format!("{} ({}, {})", m.name, m.email, m.membership.role().label()))
                .collect();
            people.sort();
            people.extend(
                Invitation::open_for_workspace(conn, ws.id)?
                    .into_iter()
                    .filter(|i| !i.is_expired(now))
                    .map(|i| format!("{} (pending invitation)", i.email)),
            );
            return Ok(PlanChange::TooManySeats { to, seats, excess, people });
        }
        Workspace::set_plan(conn, ws.id, to)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws.id),
                action: Action::PlanChanged,
                actor,
                target_type: Some("workspace"),
                target_id: Some(ws.id),
                target_label: Some(&ws.name),
                target_email: None,
                details: serde_json::json!({ "from": from.as_str(), "to": to.as_str() }),
            },
        )?;
        Ok(PlanChange::Changed { from, to })
    })
}
