//! The My Users page's data: seats and the members table.

use super::{ServiceResult, workspaces};
use crate::db::DbConnection;
use crate::db::membership::{MemberRow, Membership};
use crate::db::workspace::Workspace;
use crate::domain::plan::SeatUsage;
use crate::domain::role::Role;

pub struct MembersView {
    pub seats: SeatUsage,
    /// Owner first, then admins and members by name.
    pub members: Vec<MemberRow>,
}

pub fn members_view(conn: &mut DbConnection, ws: &Workspace) -> ServiceResult<MembersView> {
    let seats = workspaces::seat_usage(conn, ws)?;
    let mut members = Membership::list_with_users(conn, ws.id)?;
    members.sort_by(|a, b| {
        let owner_first = (a.membership.role() != Role::Owner).cmp(&(b.membership.role() != Role::Owner));
        owner_first.then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())).then_with(|| a.email.cmp(&b.email))
    });
    Ok(MembersView { seats, members })
}

/// Adds an account to a workspace with a role, with its `member.added` audit row. Runs inside
/// the caller's transaction, after `db::lock_workspace` (used by accepting an invitation, and by
/// tests to seed workspaces).
pub fn add_member(
    conn: &mut DbConnection,
    ws: &Workspace,
    user: &crate::db::user::User,
    role: Role,
    actor: &crate::db::audit::Actor,
    details: serde_json::Value,
) -> ServiceResult<Membership> {
    if Membership::find(conn, ws.id, user.id)?.is_some() {
        return Err(super::ServiceError::Conflict(format!("{} is already a member of {}.", user.email, ws.name)));
    }
    let membership = Membership::insert(
        conn,
        &crate::db::membership::NewMembership {
            workspace_id: ws.id,
            user_id: user.id,
            role: role.as_str(),
            created_at: crate::domain::now(),
            last_active_at: None,
        },
    )?;
    crate::db::audit::record(
        conn,
        &crate::db::audit::Entry {
            workspace_id: Some(ws.id),
            action: crate::domain::audit::Action::MemberAdded,
            actor,
            target_type: Some("member"),
            target_id: Some(membership.id),
            target_label: Some(&user.name),
            target_email: Some(&user.email),
            details,
        },
    )?;
    Ok(membership)
}
