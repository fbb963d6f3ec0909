//! Invitations, from the owner's "Invite" to the invitee's "Accept": one function per use case,
//! each a single transaction that locks the workspace, recounts seats, changes the rows, and writes
//! its audit row and outbox message together.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{ServiceError, ServiceResult, accounts, members, workspaces};
use crate::db::audit::{self, Actor, Entry};
use crate::db::invitation::{Invitation, NewInvitation};
use crate::db::membership::Membership;
use crate::db::schema::{
    invitation_projects, invitation_retired_tokens, invitations, memberships, project_members, projects, users,
};
use crate::db::user::User;
use crate::db::workspace::Workspace;
use crate::db::{self as database, DbConnection, Pool, outbox};
use crate::domain::audit::Action;
use crate::domain::email::{Email, split_addresses};
use crate::domain::role::{Access, Role};
use crate::domain::token;
use crate::mail::compose::{self, InvitationMail};

/// Addresses one invite form may carry.
pub const MAX_BATCH: usize = 50;
/// How long a link works.
pub const VALID_DAYS: i64 = 7;
/// Resend limits per invitation.
pub const RESEND_INTERVAL_SECONDS: i64 = 60;
pub const RESENDS_PER_DAY: i64 = 5;

/// Deployment settings the invitation use cases need.
#[derive(Debug, Clone)]
pub struct InviteSettings {
    pub public_url: String,
    pub invites_per_day: i64,
}

impl InviteSettings {
    pub fn from_config(c: &crate::config::Config) -> InviteSettings {
        InviteSettings { public_url: c.public_url.clone(), invites_per_day: c.invites_per_day }
    }

    fn link(&self, token: &str) -> String {
        format!("{}/invitations/{token}", self.public_url)
    }
}

pub struct InviteRequest {
    pub addresses: String,
    pub role: Role,
    pub projects: Vec<(i64, Access)>,
}

/// What happened to one address of the invite form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteOutcome {
    Invited {
        email: String,
    },
    /// An expired invitation to the same address was sent again with a new link.
    Reinvited {
        email: String,
    },
    AlreadyMember {
        email: String,
    },
    AlreadyInvited {
        email: String,
        invitation_id: i64,
    },
    Invalid {
        input: String,
        reason: String,
    },
    Repeated {
        email: String,
    },
    NoSeat {
        email: String,
        message: String,
    },
    DailyLimit {
        email: String,
        limit: i64,
    },
}

impl InviteOutcome {
    pub fn succeeded(&self) -> bool {
        matches!(self, InviteOutcome::Invited { .. } | InviteOutcome::Reinvited { .. })
    }

    /// `ok`, `info` or `error`, for styling.
    pub fn tone(&self) -> &'static str {
        match self {
            InviteOutcome::Invited { .. } | InviteOutcome::Reinvited { .. } => "ok",
            InviteOutcome::AlreadyMember { .. }
            | InviteOutcome::AlreadyInvited { .. }
            | InviteOutcome::Repeated { .. } => "info",
            _ => "error",
        }
    }

    pub fn sentence(&self) -> String {
        match self {
            InviteOutcome::Invited { email } => format!("{email}: invited. The email is on its way."),
            InviteOutcome::Reinvited { email } => {
                format!("{email}: invited again. The earlier invitation had expired; a new link is on its way.")
            }
            InviteOutcome::AlreadyMember { email } => format!("{email}: already a member of this workspace."),
            InviteOutcome::AlreadyInvited { email, .. } => {
                format!("{email}: already invited and waiting to accept. Resend the invitation if it went missing.")
            }
            InviteOutcome::Invalid { input, reason } => format!("{input}: not a valid email address — it {reason}."),
            InviteOutcome::Repeated { email } => format!("{email}: listed more than once; invited once."),
            InviteOutcome::NoSeat { email, message } => format!("{email}: no seat left. {message}"),
            InviteOutcome::DailyLimit { email, limit } => {
                format!(
                    "{email}: not sent. This workspace has sent its {limit} invitation emails for today; try again tomorrow."
                )
            }
        }
    }
}

fn actor_may_invite(actor_role: Role, role: Role) -> ServiceResult<()> {
    if !actor_role.can_manage_members() {
        return Err(ServiceError::Forbidden("Only the owner and admins can invite people.".into()));
    }
    if !actor_role.can_invite_as(role) {
        return Err(ServiceError::Forbidden(format!(
            "Admins can invite members only; ask the owner to invite {}s.",
            role.label().to_lowercase()
        )));
    }
    Ok(())
}

/// The names of the workspace's projects among `chosen`, refusing ids from elsewhere.
fn project_names(
    conn: &mut DbConnection,
    ws_id: i64,
    chosen: &[(i64, Access)],
) -> ServiceResult<Vec<(i64, String, Access)>> {
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = chosen.iter().map(|(id, _)| *id).collect();
    let names: HashMap<i64, String> = projects::table
        .filter(projects::workspace_id.eq(ws_id))
        .filter(projects::id.eq_any(&ids))
        .select((projects::id, projects::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    chosen
        .iter()
        .map(|(id, access)| {
            names.get(id).map(|n| (*id, n.clone(), *access)).ok_or_else(|| {
                ServiceError::Invalid(
                    "One of the chosen projects no longer exists; reload the page and choose again.".into(),
                )
            })
        })
        .collect()
}

/// Invites every address in the request. Valid addresses go through even when others fail; each
/// gets its own outcome. One transaction: the workspace is locked first and seats are recounted
/// inside it, so simultaneous invitations can never exceed the plan.
pub fn invite(
    conn: &mut DbConnection,
    ws_id: i64,
    actor: &Actor,
    actor_role: Role,
    req: &InviteRequest,
    settings: &InviteSettings,
) -> ServiceResult<Vec<InviteOutcome>> {
    actor_may_invite(actor_role, req.role)?;
    let inputs = split_addresses(&req.addresses);
    if inputs.is_empty() {
        return Err(ServiceError::Invalid("Enter at least one email address.".into()));
    }
    if inputs.len() > MAX_BATCH {
        return Err(ServiceError::Invalid(format!(
            "Invite at most {MAX_BATCH} addresses at once; you entered {}.",
            inputs.len()
        )));
    }
    conn.transaction(|conn| {
        database::lock_workspace(conn, ws_id)?;
        let ws = Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
        let grants = project_names(conn, ws.id, &req.projects)?;
        let mut seats = workspaces::seat_usage(conn, &ws)?;
        let now = crate::domain::now();
        let mut sent_today =
            outbox::count_since(conn, ws.id, &["invitation", "invitation_resend"], now - Duration::days(1))?;
        let mut seen = HashSet::new();
        let mut outcomes = Vec::with_capacity(inputs.len());
        for input in inputs {
            let email = match Email::parse(input) {
                Ok(e) => e,
                Err(reason) => {
                    outcomes.push(InviteOutcome::Invalid { input: input.to_owned(), reason: reason.to_string() });
                    continue;
                }
            };
            let address = email.as_str().to_owned();
            if !seen.insert(address.clone()) {
                outcomes.push(InviteOutcome::Repeated { email: address });
                continue;
            }
            let is_member: bool = diesel::select(diesel::dsl::exists(
                memberships::table
                    .inner_join(users::table)
                    .filter(memberships::workspace_id.eq(ws.id))
                    .filter(users::email.eq(&address)),
            ))
            .get_result(conn)?;
            if is_member {
                outcomes.push(InviteOutcome::AlreadyMember { email: address });
                continue;
            }
            let open: Option<Invitation> = invitations::table
                .filter(invitations::workspace_id.eq(ws.id))
                .filter(invitations::email.eq(&address))
                .filter(invitations::status.eq_any(["pending", "expired"]))
                .order(invitations::id.desc())
                .first(conn)
                .optional()?;
            if let Some(inv) = &open
                && !inv.is_expired(now)
            {
                outcomes.push(InviteOutcome::AlreadyInvited { email: address, invitation_id: inv.id });
                continue;
            }
            if sent_today >= settings.invites_per_day {
                outcomes.push(InviteOutcome::DailyLimit { email: address, limit: settings.invites_per_day });
                continue;
            }
            if !seats.has_room_for(1) {
                let message = no_seat_message(&seats);
                outcomes.push(InviteOutcome::NoSeat { email: address, message });
                continue;
            }
            match open {
                Some(expired) => {
                    rotate(conn, &ws, &expired, actor, Some(req.role), Delivery::Email, settings)?;
                    outcomes.push(InviteOutcome::Reinvited { email: address });
                }
                None => {
                    create(conn, &ws, &address, req.role, &grants, actor, settings, now)?;
                    outcomes.push(InviteOutcome::Invited { email: address });
                }
            }
            seats.pending += 1;
            sent_today += 1;
        }
        Ok(outcomes)
    })
}

/// "The Professional plan is full (3 of 3 seats used). Upgrade to Business or remove someone…"
pub fn no_seat_message(seats: &crate::domain::plan::SeatUsage) -> String {
    let ways = seats.no_room_message().unwrap_or_default();
    format!("The {} plan has {} of {} in use. {ways}", seats.plan, seats.used(), seats.plan.seats_label())
}

#[allow(clippy::too_many_arguments)]
fn create(
    conn: &mut DbConnection,
    ws: &Workspace,
    email: &str,
    role: Role,
    grants: &[(i64, String, Access)],
    actor: &Actor,
    settings: &InviteSettings,
    now: NaiveDateTime,
) -> ServiceResult<Invitation> {
    let t = token::generate();
    let hash = token::hash(&t);
    let inv = Invitation::insert(
        conn,
        &NewInvitation {
            workspace_id: ws.id,
            email,
            role: role.as_str(),
            status: "pending",
            token_hash: &hash,
            invited_by: actor.user_id,
            created_at: now,
            expires_at: now + Duration::days(VALID_DAYS),
            last_sent_at: now,
            send_count: 1,
        },
    )?;
    for (project_id, _, access) in grants {
        diesel::insert_into(invitation_projects::table)
            .values((
                invitation_projects::invitation_id.eq(inv.id),
                invitation_projects::project_id.eq(project_id),
                invitation_projects::access.eq(access.as_str()),
            ))
            .execute(conn)?;
    }
    let projects: Vec<(String, String)> = grants.iter().map(|(_, n, a)| (n.clone(), a.as_str().to_owned())).collect();
    let mail = compose::invitation(&InvitationMail {
        to: email,
        inviter: &actor.name,
        workspace: &ws.name,
        role: role.label(),
        link: &settings.link(&t),
        expires_at: inv.expires_at,
        projects: &projects,
    })
    .map_err(|e| ServiceError::Internal(format!("invitation email: {e}")))?;
    outbox::enqueue(conn, Some(ws.id), Some(inv.id), "invitation", &mail)?;
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws.id),
            action: Action::InvitationSent,
            actor,
            target_type: Some("invitation"),
            target_id: Some(inv.id),
            target_label: Some(email),
            target_email: Some(email),
            details: serde_json::json!({
                "role": role.as_str(),
                "projects": projects.iter().map(|(n, a)| serde_json::json!({ "name": n, "access": a })).collect::<Vec<_>>(),
                "expires_at": inv.expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            }),
        },
    )?;
    Ok(inv)
}

/// How a rotated invitation reaches its invitee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Email,
    /// Shown once to the owner or admin, to send another way.
    Link,
}

/// Gives an invitation a new token (the old link stops working) and a fresh 7 days; sends it by
/// email or returns the link. Writes `invitation.resent`.
fn rotate(
    conn: &mut DbConnection,
    ws: &Workspace,
    inv: &Invitation,
    actor: &Actor,
    new_role: Option<Role>,
    delivery: Delivery,
    settings: &InviteSettings,
) -> ServiceResult<String> {
    let now = crate::domain::now();
    let t = token::generate();
    let was_expired = inv.is_expired(now);
    let role = new_role.unwrap_or_else(|| Role::parse(&inv.role).unwrap_or(Role::Member));
    let expires_at = now + Duration::days(VALID_DAYS);
    diesel::update(invitations::table.find(inv.id))
        .set((
            invitations::token_hash.eq(token::hash(&t)),
            invitations::status.eq("pending"),
            invitations::role.eq(role.as_str()),
            invitations::expires_at.eq(expires_at),
            invitations::last_sent_at.eq(now),
            invitations::send_count.eq(invitations::send_count + 1),
        ))
        .execute(conn)?;
    diesel::insert_into(invitation_retired_tokens::table)
        .values((
            invitation_retired_tokens::token_hash.eq(&inv.token_hash),
            invitation_retired_tokens::invitation_id.eq(inv.id),
            invitation_retired_tokens::retired_at.eq(now),
        ))
        .execute(conn)?;
    let link = settings.link(&t);
    if delivery == Delivery::Email {
        let projects = invitation_grants(conn, inv.id)?;
        let mail = compose::invitation(&InvitationMail {
            to: &inv.email,
            inviter: &actor.name,
            workspace: &ws.name,
            role: role.label(),
            link: &link,
            expires_at,
            projects: &projects,
        })
        .map_err(|e| ServiceError::Internal(format!("invitation email: {e}")))?;
        outbox::enqueue(conn, Some(ws.id), Some(inv.id), "invitation_resend", &mail)?;
    }
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws.id),
            action: Action::InvitationResent,
            actor,
            target_type: Some("invitation"),
            target_id: Some(inv.id),
            target_label: Some(&inv.email),
            target_email: Some(&inv.email),
            details: serde_json::json!({
                "via": if delivery == Delivery::Email { "email" } else { "link" },
                "was_expired": was_expired,
                "role": role.as_str(),
                "expires_at": expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            }),
        },
    )?;
    Ok(link)
}

/// (project name, access) an invitation grants on acceptance.
pub fn invitation_grants(conn: &mut DbConnection, invitation_id: i64) -> ServiceResult<Vec<(String, String)>> {
    Ok(invitation_projects::table
        .inner_join(projects::table)
        .filter(invitation_projects::invitation_id.eq(invitation_id))
        .order(projects::name.asc())
        .select((projects::name, invitation_projects::access))
        .load(conn)?)
}

/// The project grants of every open invitation of a workspace: invitation id → (name, access).
pub fn open_invitation_grants(
    conn: &mut DbConnection,
    ws_id: i64,
) -> ServiceResult<HashMap<i64, Vec<(String, String)>>> {
    let rows: Vec<(i64, String, String)> = invitation_projects::table
        .inner_join(invitations::table)
        .inner_join(projects::table)
        .filter(invitations::workspace_id.eq(ws_id))
        .filter(invitations::status.eq_any(["pending", "expired"]))
        .order(projects::name.asc())
        .select((invitation_projects::invitation_id, projects::name, invitation_projects::access))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (id, name, access) in rows {
        out.entry(id).or_default().push((name, access));
    }
    Ok(out)
}

/// Loads an open (pending or expired) invitation of the workspace, locked.
fn open_invitation(conn: &mut DbConnection, ws_id: i64, id: i64) -> ServiceResult<(Workspace, Invitation)> {
    database::lock_workspace(conn, ws_id)?;
    let ws = Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
    let inv = Invitation::find(conn, ws_id, id)?
        .ok_or_else(|| ServiceError::NotFound("That invitation does not exist in this workspace.".into()))?;
    match inv.status.as_str() {
        "pending" | "expired" => Ok((ws, inv)),
        "accepted" => Err(ServiceError::Conflict(format!("{} has already accepted and is a member.", inv.email))),
        _ => Err(ServiceError::Conflict(format!("The invitation to {} was removed.", inv.email))),
    }
}

/// An expired invitation holds no seat: sending it again needs a free one.
fn ensure_seat_if_expired(conn: &mut DbConnection, ws: &Workspace, inv: &Invitation) -> ServiceResult<()> {
    if inv.is_expired(crate::domain::now()) {
        let seats = workspaces::seat_usage(conn, ws)?;
        if !seats.has_room_for(1) {
            return Err(ServiceError::Conflict(format!("No seat left for {}. {}", inv.email, no_seat_message(&seats))));
        }
    }
    Ok(())
}

/// Sends an invitation again with a new link. At most once a minute and `RESENDS_PER_DAY` times a
/// day; an expired invitation needs a free seat.
pub fn resend(
    conn: &mut DbConnection,
    ws_id: i64,
    invitation_id: i64,
    actor: &Actor,
    actor_role: Role,
    settings: &InviteSettings,
) -> ServiceResult<String> {
    if !actor_role.can_manage_members() {
        return Err(ServiceError::Forbidden("Only the owner and admins can resend invitations.".into()));
    }
    conn.transaction(|conn| {
        let (ws, inv) = open_invitation(conn, ws_id, invitation_id)?;
        let now = crate::domain::now();
        let wait = RESEND_INTERVAL_SECONDS - (now - inv.last_sent_at).num_seconds();
        if wait > 0 {
            return Err(ServiceError::Throttled(format!(
                "The invitation to {} was sent moments ago. You can resend it in {wait} second{}.",
                inv.email,
                if wait == 1 { "" } else { "s" }
            )));
        }
        if outbox::count_for_invitation_since(conn, inv.id, "invitation_resend", now - Duration::days(1))? >= RESENDS_PER_DAY {
            return Err(ServiceError::Throttled(format!(
                "The invitation to {} has been resent {RESENDS_PER_DAY} times today. Try again tomorrow, or use Copy link to send it another way.",
                inv.email
            )));
        }
        if outbox::count_since(conn, ws.id, &["invitation", "invitation_resend"], now - Duration::days(1))? >= settings.invites_per_day {
            return Err(ServiceError::Throttled(format!(
                "This workspace has sent its {} invitation emails for today; try again tomorrow.",
                settings.invites_per_day
            )));
        }
        ensure_seat_if_expired(conn, &ws, &inv)?;
        rotate(conn, &ws, &inv, actor, None, Delivery::Email, settings)?;
        Ok(inv.email)
    })
}

/// Issues a new link (the old one dies) and returns it, to be shown once. An expired invitation
/// needs a free seat.
pub fn copy_link(
    conn: &mut DbConnection,
    ws_id: i64,
    invitation_id: i64,
    actor: &Actor,
    actor_role: Role,
    settings: &InviteSettings,
) -> ServiceResult<(String, String)> {
    if !actor_role.can_manage_members() {
        return Err(ServiceError::Forbidden("Only the owner and admins can copy invitation links.".into()));
    }
    conn.transaction(|conn| {
        let (ws, inv) = open_invitation(conn, ws_id, invitation_id)?;
        if inv.is_expired(crate::domain::now()) {
            let seats = workspaces::seat_usage(conn, &ws)?;
            if !seats.has_room_for(1) {
                return Err(ServiceError::Conflict(format!(
                    "No seat left for {}. {}",
                    inv.email,
                    no_seat_message(&seats)
                )));
            }
        }
        let link = rotate(conn, &ws, &inv, actor, None, Delivery::Link, settings)?;
        Ok((inv.email, link))
    })
}

/// Marks an invitation revoked with its `invitation.revoked` row (inside the caller's locked
/// transaction). Used by the trash icon and when the person who sent it loses access.
pub fn withdraw(
    conn: &mut DbConnection,
    ws_id: i64,
    invitation_id: i64,
    email: &str,
    actor: &Actor,
    details: serde_json::Value,
) -> ServiceResult<()> {
    diesel::update(invitations::table.find(invitation_id))
        .set((invitations::status.eq("revoked"), invitations::ended_at.eq(Some(crate::domain::now()))))
        .execute(conn)?;
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws_id),
            action: Action::InvitationRevoked,
            actor,
            target_type: Some("invitation"),
            target_id: Some(invitation_id),
            target_label: Some(email),
            target_email: Some(email),
            details,
        },
    )?;
    Ok(())
}

/// Withdraws a pending (or expired) invitation: the "invitation removal" of the logs.
pub fn revoke(
    conn: &mut DbConnection,
    ws_id: i64,
    invitation_id: i64,
    actor: &Actor,
    actor_role: Role,
) -> ServiceResult<Invitation> {
    if !actor_role.can_manage_members() {
        return Err(ServiceError::Forbidden("Only the owner and admins can remove invitations.".into()));
    }
    conn.transaction(|conn| {
        let (ws, inv) = open_invitation(conn, ws_id, invitation_id)?;
        let details = serde_json::json!({ "role": inv.role, "was_expired": inv.is_expired(crate::domain::now()) });
        withdraw(conn, ws.id, inv.id, &inv.email, actor, details)?;
        Ok(inv)
    })
}

/// Marks pending invitations past their expiry as expired, each with its `invitation.expired`
/// audit row (written by the background worker). Returns how many.
pub fn expire_due(pool: &Pool) -> Result<usize, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let now = crate::domain::now();
    let due: Vec<(i64, i64)> = invitations::table
        .filter(invitations::status.eq("pending"))
        .filter(invitations::expires_at.le(now))
        .select((invitations::workspace_id, invitations::id))
        .limit(500)
        .load(&mut *conn)
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for (ws_id, id) in due {
        let done = conn
            .transaction::<_, ServiceError, _>(|conn| {
                database::lock_workspace(conn, ws_id)?;
                let changed = diesel::update(
                    invitations::table
                        .filter(invitations::id.eq(id))
                        .filter(invitations::status.eq("pending"))
                        .filter(invitations::expires_at.le(now)),
                )
                .set((invitations::status.eq("expired"), invitations::ended_at.eq(Some(now))))
                .execute(conn)?;
                if changed == 0 {
                    return Ok(false);
                }
                let inv = Invitation::find(conn, ws_id, id)?.ok_or_else(|| ServiceError::NotFound("gone".into()))?;
                audit::record(conn, &Entry {
                    workspace_id: Some(ws_id),
                    action: Action::InvitationExpired,
                    actor: &Actor::system(),
                    target_type: Some("invitation"),
                    target_id: Some(inv.id),
                    target_label: Some(&inv.email),
                    target_email: Some(&inv.email),
                    details: serde_json::json!({ "expired_at": inv.expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string() }),
                })?;
                Ok(true)
            })
            .map_err(|e| e.to_string())?;
        if done {
            n += 1;
        }
    }
    Ok(n)
}

// ----- the invitee's side -----

/// An invitation as its link shows it.
pub struct OpenInvitation {
    pub invitation: Invitation,
    pub workspace: Workspace,
    pub inviter: String,
    pub projects: Vec<(String, String)>,
    pub account_exists: bool,
}

pub enum Lookup {
    Unknown,
    /// A link replaced by a resend or a copied link.
    Replaced {
        workspace: String,
    },
    Revoked {
        workspace: String,
    },
    Accepted {
        workspace: String,
        slug: String,
        email: String,
    },
    Expired {
        workspace: String,
        inviter: String,
    },
    Open(Box<OpenInvitation>),
}

/// What a link's token points at.
pub fn lookup(conn: &mut DbConnection, t: &str) -> ServiceResult<Lookup> {
    if !token::looks_valid(t) {
        return Ok(Lookup::Unknown);
    }
    let hash = token::hash(t);
    let Some(inv) =
        invitations::table.filter(invitations::token_hash.eq(&hash)).first::<Invitation>(conn).optional()?
    else {
        let replaced: Option<String> = invitation_retired_tokens::table
            .inner_join(invitations::table.inner_join(crate::db::schema::workspaces::table))
            .filter(invitation_retired_tokens::token_hash.eq(&hash))
            .select(crate::db::schema::workspaces::name)
            .first(conn)
            .optional()?;
        return Ok(replaced.map_or(Lookup::Unknown, |workspace| Lookup::Replaced { workspace }));
    };
    let ws = Workspace::find(conn, inv.workspace_id)?
        .ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
    let inviter = match inv.invited_by {
        Some(id) => User::find(conn, id)?.map(|u| u.name).unwrap_or_else(|| "A former member".into()),
        None => "The workspace owner".into(),
    };
    let now = crate::domain::now();
    Ok(match inv.status.as_str() {
        "revoked" => Lookup::Revoked { workspace: ws.name },
        "accepted" => Lookup::Accepted { workspace: ws.name, slug: ws.slug, email: inv.email },
        _ if inv.is_expired(now) => Lookup::Expired { workspace: ws.name, inviter },
        _ => {
            let projects = invitation_grants(conn, inv.id)?;
            let account_exists = User::find_by_email(conn, &inv.email)?.is_some();
            Lookup::Open(Box::new(OpenInvitation { invitation: inv, workspace: ws, inviter, projects, account_exists }))
        }
    })
}

/// Who accepts: a new account, an existing one proving its password, or the signed-in account.
pub enum AcceptAs {
    NewAccount { name: String, password: String },
    ExistingAccount { password: String },
    SignedIn { user_id: i64 },
}

/// Why an acceptance was refused, beyond the link's own state.
fn link_gone(lookup: &Lookup) -> ServiceError {
    match lookup {
        Lookup::Unknown => ServiceError::NotFound(
            "This invitation link is not valid. Check that you copied all of it, or ask for a new one.".into(),
        ),
        Lookup::Replaced { workspace } => ServiceError::Gone {
            title: "This invitation link was replaced".into(),
            message: format!(
                "A newer invitation to {workspace} was sent. Use the link in the most recent email, or ask for it to be resent."
            ),
        },
        Lookup::Revoked { workspace } => ServiceError::Gone {
            title: "This invitation was withdrawn".into(),
            message: format!(
                "The invitation to {workspace} was removed. Ask the person who invited you to send a new one."
            ),
        },
        Lookup::Accepted { workspace, .. } => ServiceError::Gone {
            title: "This invitation has already been used".into(),
            message: format!("It was accepted already. Sign in to open {workspace}."),
        },
        Lookup::Expired { workspace, inviter } => ServiceError::Gone {
            title: "This invitation has expired".into(),
            message: format!(
                "Invitation links work for {VALID_DAYS} days. Ask {inviter} to resend the invitation to {workspace}."
            ),
        },
        Lookup::Open(_) => ServiceError::Internal("open invitation treated as gone".into()),
    }
}

/// Accepts an invitation: in one transaction that locks the workspace, the invitation must still
/// be pending and unexpired; the account (if new), membership and project grants are created; and
/// `invitation.accepted` and `member.added` are written.
pub fn accept(
    conn: &mut DbConnection,
    t: &str,
    how: AcceptAs,
    ip: Option<String>,
    user_agent: Option<String>,
) -> ServiceResult<(User, Workspace)> {
    let found = lookup(conn, t)?;
    let Lookup::Open(open) = found else { return Err(link_gone(&found)) };
    let invited_email = open.invitation.email.clone();
    // A password check writes throttling rows, so it runs before (not inside) the transaction.
    let existing = match &how {
        AcceptAs::ExistingAccount { password } => {
            match accounts::authenticate(conn, &invited_email, password, ip.as_deref().unwrap_or("unknown"))? {
                Ok(user) => Some(user),
                Err(accounts::SignInRefusal::WrongCredentials) => {
                    return Err(ServiceError::Invalid(format!("That password is not right for {invited_email}.")));
                }
                Err(accounts::SignInRefusal::Throttled { minutes }) => {
                    return Err(ServiceError::Throttled(format!(
                        "Too many failed sign-ins. Wait {minutes} minute{} before trying again.",
                        if minutes == 1 { "" } else { "s" }
                    )));
                }
            }
        }
        AcceptAs::SignedIn { user_id } => {
            let user =
                User::find(conn, *user_id)?.ok_or_else(|| ServiceError::NotFound("Account not found.".into()))?;
            if user.email != invited_email {
                return Err(ServiceError::Forbidden(format!(
                    "This invitation is for {invited_email}, and you are signed in as {}. Sign out, then open the link again.",
                    user.email
                )));
            }
            Some(user)
        }
        AcceptAs::NewAccount { .. } => None,
    };
    let ws_id = open.workspace.id;
    let inv_id = open.invitation.id;
    let hash = token::hash(t);
    conn.transaction(|conn| {
        database::lock_workspace(conn, ws_id)?;
        let ws = Workspace::find(conn, ws_id)?.ok_or_else(|| ServiceError::NotFound("Workspace not found.".into()))?;
        let inv = Invitation::find(conn, ws_id, inv_id)?
            .ok_or_else(|| ServiceError::NotFound("Invitation not found.".into()))?;
        let now = crate::domain::now();
        // Re-checked under the lock: a resend, revoke or second accept may have won the race.
        if inv.token_hash != hash || inv.status != "pending" || inv.is_expired(now) {
            let again = lookup(conn, t)?;
            return Err(match again {
                Lookup::Open(_) => ServiceError::Conflict(
                    "The invitation changed while you were accepting it; open the link again.".into(),
                ),
                other => link_gone(&other),
            });
        }
        let user = match (&how, existing.clone()) {
            (_, Some(user)) => user,
            (AcceptAs::NewAccount { name, password }, None) => {
                let email = Email::parse(&inv.email).map_err(|e| ServiceError::Invalid(e.to_string()))?;
                accounts::create_account(conn, &email, name, password, false)?
            }
            _ => return Err(ServiceError::Internal("no account to accept with".into())),
        };
        let actor = Actor {
            user_id: Some(user.id),
            name: user.name.clone(),
            email: user.email.clone(),
            kind: "user",
            ip: ip.clone(),
            user_agent: user_agent.clone(),
        };
        let role = Role::parse(&inv.role).unwrap_or(Role::Member);
        let membership = match Membership::find(conn, ws.id, user.id)? {
            Some(m) => m,
            None => members::add_member(
                conn,
                &ws,
                &user,
                role,
                &actor,
                serde_json::json!({ "role": role.as_str(), "via": "invitation" }),
            )?,
        };
        let grants: Vec<(i64, String)> = invitation_projects::table
            .filter(invitation_projects::invitation_id.eq(inv.id))
            .select((invitation_projects::project_id, invitation_projects::access))
            .load(conn)?;
        for (project_id, access) in &grants {
            let exists: bool = diesel::select(diesel::dsl::exists(
                project_members::table
                    .filter(project_members::project_id.eq(project_id))
                    .filter(project_members::membership_id.eq(membership.id)),
            ))
            .get_result(conn)?;
            if !exists {
                diesel::insert_into(project_members::table)
                    .values((
                        project_members::project_id.eq(project_id),
                        project_members::membership_id.eq(membership.id),
                        project_members::access.eq(access),
                        project_members::created_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        diesel::update(invitations::table.find(inv.id))
            .set((
                invitations::status.eq("accepted"),
                invitations::accepted_at.eq(Some(now)),
                invitations::accepted_user_id.eq(Some(user.id)),
                invitations::ended_at.eq(Some(now)),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws.id),
                action: Action::InvitationAccepted,
                actor: &actor,
                target_type: Some("invitation"),
                target_id: Some(inv.id),
                target_label: Some(&inv.email),
                target_email: Some(&inv.email),
                details: serde_json::json!({ "role": inv.role, "projects": grants.len() }),
            },
        )?;
        Ok((user, ws))
    })
}
