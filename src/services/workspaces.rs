//! Workspaces: creating one with its owner, and counting its seats.

use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::audit::{self, Actor, Entry};
use crate::db::membership::Membership;
use crate::db::schema::invitations;
use crate::db::user::User;
use crate::db::workspace::{NewWorkspace, Workspace};
use crate::db::{self as database, DbConnection};
use crate::domain::audit::Action;
use crate::domain::plan::{Plan, SeatUsage};
use crate::domain::role::Role;

pub fn check_workspace_name(name: &str) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::Invalid("Enter a name for the workspace.".into()));
    }
    if name.chars().count() > 80 {
        return Err(ServiceError::Invalid("Workspace names are at most 80 characters.".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid("The workspace name contains a control character.".into()));
    }
    Ok(name.to_owned())
}

/// Creates a workspace with `owner` as its owner, and the audit rows that say so. Runs inside the
/// caller's transaction.
pub fn create_with_owner(
    conn: &mut DbConnection,
    owner: &User,
    name: &str,
    plan: Plan,
    actor: &Actor,
) -> ServiceResult<Workspace> {
    let name = check_workspace_name(name)?;
    let slug = Workspace::free_slug(conn, &crate::domain::slug::from_name(&name))?;
    let now = crate::domain::now();
    let ws = Workspace::insert(
        conn,
        &NewWorkspace { slug: &slug, name: &name, plan: plan.as_str(), lock_version: 0, created_at: now },
    )?;
    database::lock_workspace(conn, ws.id)?;
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws.id),
            action: Action::WorkspaceCreated,
            actor,
            target_type: Some("workspace"),
            target_id: Some(ws.id),
            target_label: Some(&ws.name),
            target_email: None,
            details: serde_json::json!({ "plan": plan.as_str(), "slug": ws.slug }),
        },
    )?;
    super::members::add_member(conn, &ws, owner, Role::Owner, actor, serde_json::json!({ "role": "owner" }))?;
    Ok(ws)
}

/// Seats in use now: members plus pending invitations that have not expired.
pub fn seat_usage(conn: &mut DbConnection, ws: &Workspace) -> ServiceResult<SeatUsage> {
    let active = Membership::count_active(conn, ws.id)?;
    let pending: i64 = invitations::table
        .filter(invitations::workspace_id.eq(ws.id))
        .filter(invitations::status.eq("pending"))
        .filter(invitations::expires_at.gt(crate::domain::now()))
        .count()
        .get_result(conn)?;
    Ok(SeatUsage { plan: ws.plan(), active, pending })
}
