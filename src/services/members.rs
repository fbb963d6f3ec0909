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
        owner_first
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.email.cmp(&b.email))
    });
    Ok(MembersView { seats, members })
}
