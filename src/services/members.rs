//! The My Users page's data: seats, members with their projects and usage, and open invitations.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::{ServiceError, ServiceResult, workspaces};
use crate::db::DbConnection;
use crate::db::audit::{self, Actor, Entry};
use crate::db::invitation::{Delivery, Invitation};
use crate::db::membership::{MemberRow, Membership, NewMembership, One};
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

/// What a removal (or leaving) took with it, for the flash message and the audit row.
#[derive(Debug, Clone)]
pub struct Departure {
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Pending invitations the person had sent, withdrawn with them.
    pub withdrawn_invitations: Vec<String>,
    pub revoked_api_keys: usize,
}

/// Deletes a membership with its project access, withdraws the pending invitations the person sent
/// (nobody stands behind them any more; the owner can invite those people again) and revokes the
/// API keys they created. Runs inside the caller's locked transaction.
fn depart(
    conn: &mut DbConnection,
    ws: &Workspace,
    target: &MemberRow,
    actor: &Actor,
    action: Action,
) -> ServiceResult<Departure> {
    use crate::db::schema::{api_keys, invitations, project_members};
    use diesel::prelude::*;
    let now = crate::domain::now();
    let m = &target.membership;
    diesel::delete(project_members::table.filter(project_members::membership_id.eq(m.id))).execute(conn)?;
    diesel::delete(crate::db::schema::memberships::table.filter(crate::db::schema::memberships::id.eq(m.id)))
        .execute(conn)?;
    let sent: Vec<(i64, String)> = invitations::table
        .filter(invitations::workspace_id.eq(ws.id))
        .filter(invitations::invited_by.eq(m.user_id))
        .filter(invitations::status.eq_any(["pending", "expired"]))
        .select((invitations::id, invitations::email))
        .load(conn)?;
    for (id, email) in &sent {
        let details = serde_json::json!({ "reason": "inviter_left", "inviter": target.email });
        super::invitations::withdraw(conn, ws.id, *id, email, actor, details)?;
    }
    let revoked_api_keys = diesel::update(
        api_keys::table
            .filter(api_keys::workspace_id.eq(ws.id))
            .filter(api_keys::created_by.eq(m.user_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(now)))
    .execute(conn)?;
    let withdrawn_invitations: Vec<String> = sent.into_iter().map(|(_, e)| e).collect();
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws.id),
            action,
            actor,
            target_type: Some("member"),
            target_id: Some(m.id),
            target_label: Some(&target.name),
            target_email: Some(&target.email),
            details: serde_json::json!({
                "role": m.role,
                "withdrawn_invitations": withdrawn_invitations,
                "revoked_api_keys": revoked_api_keys,
            }),
        },
    )?;
    Ok(Departure {
        name: target.name.clone(),
        email: target.email.clone(),
        role: m.role(),
        withdrawn_invitations,
        revoked_api_keys,
    })
}

/// A member of the workspace by membership id, or a 404 that says so.
pub fn member_by_id(conn: &mut DbConnection, ws_id: i64, membership_id: i64) -> ServiceResult<MemberRow> {
    MemberRow::find(conn, ws_id, One::Membership(membership_id))?
        .ok_or_else(|| ServiceError::NotFound("That person is not a member of this workspace (any more).".into()))
}

fn locked_workspace(conn: &mut DbConnection, ws_id: i64) -> ServiceResult<Workspace> {
    crate::db::lock_workspace(conn, ws_id)?;
    Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))
}

/// Removes a member: the owner removes anyone but themself; admins remove members only.
pub fn remove_member(
    conn: &mut DbConnection,
    ws_id: i64,
    membership_id: i64,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<Departure> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let ws = locked_workspace(conn, ws_id)?;
        let target = member_by_id(conn, ws.id, membership_id)?;
        if Some(target.membership.user_id) == actor.user_id {
            return Err(ServiceError::Forbidden(if target.membership.role() == Role::Owner {
                "You are the owner: transfer ownership to an admin before you can leave.".into()
            } else {
                "You can't remove yourself here; use Leave workspace in the menu.".into()
            }));
        }
        if !actor_role.can_remove(target.membership.role()) {
            return Err(ServiceError::Forbidden(match target.membership.role() {
                Role::Owner => {
                    "The owner can't be removed. Ownership can be transferred to an admin by the owner.".into()
                }
                _ => format!("Only the owner can remove an admin ({}).", target.name),
            }));
        }
        depart(conn, &ws, &target, actor, Action::MemberRemoved)
    })
}

/// A member or admin leaves; the owner must transfer ownership first.
pub fn leave(conn: &mut DbConnection, ws_id: i64, user_id: i64, actor: &Actor) -> ServiceResult<Departure> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let ws = locked_workspace(conn, ws_id)?;
        let target = MemberRow::find(conn, ws.id, One::User(user_id))?
            .ok_or_else(|| ServiceError::NotFound("You are not a member of this workspace.".into()))?;
        if target.membership.role() == Role::Owner {
            return Err(ServiceError::Forbidden(
                "You are the owner: transfer ownership to an admin before you leave.".into(),
            ));
        }
        depart(conn, &ws, &target, actor, Action::MemberLeft)
    })
}

/// Changes a member's role between member and admin. Only the owner can: admins act on members
/// only and may not grant Admin (as they may not invite admins).
pub fn change_role(
    conn: &mut DbConnection,
    ws_id: i64,
    membership_id: i64,
    to: Role,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<(String, Role, Role)> {
    use crate::db::schema::memberships;
    use diesel::prelude::*;
    if to == Role::Owner {
        return Err(ServiceError::Invalid("Ownership is handed over with Transfer ownership, not as a role.".into()));
    }
    conn.transaction(|conn| {
        let ws = locked_workspace(conn, ws_id)?;
        let target = member_by_id(conn, ws.id, membership_id)?;
        let from = target.membership.role();
        if Some(target.membership.user_id) == actor.user_id {
            return Err(ServiceError::Forbidden("You can't change your own role.".into()));
        }
        if !actor_role.can_remove(from) || !actor_role.can_invite_as(to) {
            return Err(ServiceError::Forbidden(match actor_role {
                Role::Admin => "Only the owner can change roles; admins can't grant or take away Admin.".into(),
                _ => "You can't change this person's role.".into(),
            }));
        }
        if from == to {
            return Ok((target.name, from, to));
        }
        diesel::update(memberships::table.find(target.membership.id))
            .set(memberships::role.eq(to.as_str()))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws.id),
                action: Action::MemberRoleChanged,
                actor,
                target_type: Some("member"),
                target_id: Some(target.membership.id),
                target_label: Some(&target.name),
                target_email: Some(&target.email),
                details: serde_json::json!({ "from": from.as_str(), "to": to.as_str() }),
            },
        )?;
        Ok((target.name, from, to))
    })
}

/// Hands ownership to an active admin; the old owner becomes an admin. The owner confirms with
/// their password (checked by the caller before this runs).
pub fn transfer_ownership(
    conn: &mut DbConnection,
    ws_id: i64,
    to_membership_id: i64,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<String> {
    use crate::db::schema::memberships;
    use diesel::prelude::*;
    if actor_role != Role::Owner {
        return Err(ServiceError::Forbidden("Only the owner can transfer ownership.".into()));
    }
    conn.transaction(|conn| {
        let ws = locked_workspace(conn, ws_id)?;
        let target = member_by_id(conn, ws.id, to_membership_id)
            .map_err(|_| ServiceError::Invalid("Choose an active admin to hand ownership to.".into()))?;
        if target.membership.role() != Role::Admin {
            return Err(ServiceError::Invalid(format!(
                "Ownership can go only to an active admin; {} is a {}. Make them an admin first.",
                target.name,
                target.membership.role().label().to_lowercase()
            )));
        }
        let owner = MemberRow::find(conn, ws.id, One::Owner)?
            .ok_or_else(|| ServiceError::Internal("workspace without an owner".into()))?;
        // The old owner steps down first: one owner per workspace is a unique index.
        diesel::update(memberships::table.find(owner.membership.id))
            .set(memberships::role.eq("admin"))
            .execute(conn)?;
        diesel::update(memberships::table.find(target.membership.id))
            .set(memberships::role.eq("owner"))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws.id),
                action: Action::OwnershipTransferred,
                actor,
                target_type: Some("member"),
                target_id: Some(target.membership.id),
                target_label: Some(&target.name),
                target_email: Some(&target.email),
                details: serde_json::json!({ "from": owner.email, "to": target.email }),
            },
        )?;
        Ok(target.name)
    })
}

/// Whether the account was removed from (or left) the workspace, for the 403 page's wording.
pub fn was_removed(conn: &mut DbConnection, ws_id: i64, email: &str) -> ServiceResult<bool> {
    use crate::db::schema::audit_events;
    use diesel::prelude::*;
    Ok(diesel::select(diesel::dsl::exists(
        audit_events::table
            .filter(audit_events::workspace_id.eq(ws_id))
            .filter(audit_events::action.eq_any([Action::MemberRemoved.as_str(), Action::MemberLeft.as_str()]))
            .filter(audit_events::target_email.eq(email)),
    ))
    .get_result(conn)?)
}
