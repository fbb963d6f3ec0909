//! The My Users page's data: seats, members with their projects and usage, and open invitations.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::{ServiceError, ServiceResult, workspaces};
use crate::db::DbConnection;
use crate::db::audit::{self, Actor, Entry};
use crate::db::invitation::{Delivery, Invitation};
use crate::db::membership::{MemberRow, Membership, NewMembership};
use crate::db::project::Project;
use crate::db::usage::{self, Totals};
use crate::db::user::User;
use crate::db::workspace::Workspace;
use crate::domain::audit::Action;
use crate::domain::plan::SeatUsage;
use crate::domain::role::Role;

/// Active members not seen for this many days are flagged as a seat that could be freed.
pub const IDLE_AFTER_DAYS: i64 = 30;

pub struct MemberEntry {
    pub row: MemberRow,
    /// (project name, access), by name.
    pub projects: Vec<(String, String)>,
    pub usage: Totals,
    /// Days since last seen, when at least `IDLE_AFTER_DAYS` (never the owner).
    pub idle_days: Option<i64>,
}

pub struct InvitationEntry {
    pub invitation: Invitation,
    pub expired: bool,
    pub delivery: Option<Delivery>,
}

pub struct MembersView {
    pub seats: SeatUsage,
    /// Owner first, then everyone else by name.
    pub members: Vec<MemberEntry>,
    /// Oldest invitation first.
    pub invitations: Vec<InvitationEntry>,
}

/// Everything the members table shows, in a fixed number of queries however many rows.
pub fn members_view(conn: &mut DbConnection, ws: &Workspace, now: NaiveDateTime) -> ServiceResult<MembersView> {
    let seats = workspaces::seat_usage(conn, ws)?;
    let mut projects: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (membership_id, name, access) in Project::assignments(conn, ws.id)? {
        projects.entry(membership_id).or_default().push((name, access));
    }
    let usage: HashMap<i64, Totals> = usage::per_user(conn, ws.id, usage::month_of(now))?.into_iter().collect();
    let mut members: Vec<MemberEntry> = Membership::list_with_users(conn, ws.id)?
        .into_iter()
        .map(|row| {
            let seen = row.membership.last_active_at.unwrap_or(row.membership.created_at);
            let days = (now - seen).num_days();
            let idle_days = (row.membership.role() != Role::Owner && days >= IDLE_AFTER_DAYS).then_some(days);
            MemberEntry {
                projects: projects.remove(&row.membership.id).unwrap_or_default(),
                usage: usage.get(&row.membership.user_id).copied().unwrap_or_default(),
                idle_days,
                row,
            }
        })
        .collect();
    members.sort_by(|a, b| {
        let owner_first = (a.row.membership.role() != Role::Owner).cmp(&(b.row.membership.role() != Role::Owner));
        owner_first
            .then_with(|| a.row.name.to_lowercase().cmp(&b.row.name.to_lowercase()))
            .then_with(|| a.row.email.cmp(&b.row.email))
    });
    let deliveries: HashMap<i64, Delivery> = Invitation::deliveries(conn, ws.id)?.into_iter().collect();
    let invitations = Invitation::open_for_workspace(conn, ws.id)?
        .into_iter()
        .map(|invitation| InvitationEntry {
            expired: invitation.is_expired(now),
            delivery: deliveries.get(&invitation.id).cloned(),
            invitation,
        })
        .collect();
    Ok(MembersView { seats, members, invitations })
}

/// Adds an account to a workspace with a role, with its `member.added` audit row. Runs inside
/// the caller's transaction, after `db::lock_workspace` (used by accepting an invitation, and by
/// tests to seed workspaces).
pub fn add_member(
    conn: &mut DbConnection,
    ws: &Workspace,
    user: &User,
    role: Role,
    actor: &Actor,
    details: serde_json::Value,
) -> ServiceResult<Membership> {
    if Membership::find(conn, ws.id, user.id)?.is_some() {
        return Err(ServiceError::Conflict(format!("{} is already a member of {}.", user.email, ws.name)));
    }
    let membership = Membership::insert(
        conn,
        &NewMembership {
            workspace_id: ws.id,
            user_id: user.id,
            role: role.as_str(),
            created_at: crate::domain::now(),
            last_active_at: None,
        },
    )?;
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws.id),
            action: Action::MemberAdded,
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
