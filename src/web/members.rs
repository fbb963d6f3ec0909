//! Settings → My Users: seats, the members table, and (for owner and admins) the actions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::error::AppResult;
use super::extract::{WsCtx, run};
use super::html;
use super::layout::{Chrome, initial};
use super::state::AppState;
use crate::db::invitation::Delivery;
use crate::domain::plan::{SeatNotice, SeatUsage};
use crate::domain::role::Role;
use crate::domain::{format_count, relative_time};
use crate::services::members::members_view;

/// The seat line at the top of My Users (also used on the Plan page).
pub struct SeatLine {
    pub summary: String,
    pub used: i64,
    pub limit: Option<i64>,
    pub pending: i64,
    pub plan: String,
    /// `room`, `full` or `solo`.
    pub state: &'static str,
    /// For `full`: the plan to upgrade to.
    pub upgrade_to: String,
    pub limit_label: String,
}

impl SeatLine {
    pub fn new(seats: &SeatUsage) -> SeatLine {
        let (state, upgrade_to) = match seats.notice() {
            SeatNotice::Room => ("room", String::new()),
            SeatNotice::Full { next, .. } => ("full", next.label().to_owned()),
            SeatNotice::Solo { .. } => ("solo", "Professional".to_owned()),
        };
        SeatLine {
            summary: seats.summary(),
            used: seats.used(),
            limit: seats.plan.seat_limit(),
            pending: seats.pending,
            plan: seats.plan.label().to_owned(),
            state,
            upgrade_to,
            limit_label: seats.plan.seat_limit().map(|l| l.to_string()).unwrap_or_default(),
        }
    }
}

pub struct Stamp {
    pub relative: String,
    pub iso: String,
    pub date: String,
}

impl Stamp {
    pub fn new(t: NaiveDateTime, now: NaiveDateTime) -> Stamp {
        Stamp {
            relative: relative_time(t, now),
            iso: t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            date: t.format("%b %-d, %Y").to_string(),
        }
    }
}

pub struct MemberItem {
    pub membership_id: i64,
    /// The viewer may remove this person (the trash icon is shown only then).
    pub removable: bool,
    /// The viewer may change this person's role.
    pub role_editable: bool,
    pub is_admin: bool,
    pub name: String,
    pub initial: String,
    pub email: String,
    pub role: &'static str,
    pub is_owner: bool,
    pub is_you: bool,
    pub joined: Stamp,
    pub projects: Vec<(String, String)>,
    pub messages: String,
    pub tokens: String,
    pub last_active: Option<Stamp>,
    pub idle_days: Option<i64>,
    /// For the "Manage projects" control: (project id, name, current access or `none`).
    pub project_choices: Vec<(i64, String, String)>,
}

pub struct InvitationItem {
    pub id: i64,
    pub projects: Vec<(String, String)>,
    pub email: String,
    pub role: &'static str,
    pub expired: bool,
    pub invited: Stamp,
    pub expires: Stamp,
    /// `queued`, `retrying`, `sent` or `failed`, with words.
    pub delivery: Option<(&'static str, String)>,
}

/// One line of the invite form's results.
pub struct OutcomeLine {
    pub tone: &'static str,
    pub text: String,
    /// For "already invited": the invitation to offer a Resend for.
    pub resend_id: Option<i64>,
}

/// What the invite form shows besides the page: results of the last submit and what was typed.
#[derive(Default)]
pub struct InviteForm {
    pub outcomes: Vec<OutcomeLine>,
    pub error: Option<String>,
    pub addresses: String,
    pub role: String,
}

pub struct ProjectChoice {
    pub id: i64,
    pub name: String,
}

/// One line of the Logs panel.
pub struct LogItem {
    pub text: String,
    pub when: Stamp,
}

pub fn log_items(rows: &[crate::db::audit::AuditEvent], now: NaiveDateTime) -> Vec<LogItem> {
    rows.iter()
        .map(|r| {
            let details: serde_json::Value = serde_json::from_str(&r.details).unwrap_or_default();
            LogItem {
                text: crate::domain::audit::sentence(&crate::domain::audit::LogLine {
                    action: &r.action,
                    actor_name: &r.actor_name,
                    actor_kind: &r.actor_kind,
                    target_label: r.target_label.as_deref(),
                    target_email: r.target_email.as_deref(),
                    details: &details,
                }),
                when: Stamp::new(r.created_at, now),
            }
        })
        .collect()
}

/// Entries in the Logs panel at the bottom of My Users.
pub const LOG_PANEL_SIZE: i64 = 20;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    logs: Vec<LogItem>,
    admins: Vec<(i64, String)>,
    /// Members (role member) with no project yet: (membership id, name).
    unassigned: Vec<(i64, String)>,
    chrome: Chrome,
    slug: String,
    can_manage: bool,
    can_change_plan: bool,
    can_invite_admins: bool,
    seats: SeatLine,
    members: Vec<MemberItem>,
    invitations: Vec<InvitationItem>,
    member_count: String,
    idle_count: usize,
    form: InviteForm,
    projects: Vec<ProjectChoice>,
}

pub async fn page(session: Session, state: web::Data<AppState>, ctx: WsCtx) -> AppResult<HttpResponse> {
    render(&session, &state, &ctx, InviteForm::default(), StatusCode::OK).await
}

/// The whole My Users page, with the invite form's results when there are some.
pub async fn render(
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    form: InviteForm,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let ws = ctx.ws.clone();
    let now = crate::domain::now();
    let view = run(state, move |conn| {
        let view = members_view(conn, &ws, now)?;
        let projects = crate::db::project::Project::list(conn, ws.id)?;
        let logs = crate::db::audit::AuditEvent::latest(conn, ws.id, LOG_PANEL_SIZE)?;
        let grants = crate::services::invitations::open_invitation_grants(conn, ws.id)?;
        Ok((view, projects, logs, grants))
    })
    .await?;
    let (view, projects, logs, mut grants) = view;
    let viewer_role = ctx.role();
    let members: Vec<MemberItem> = view
        .members
        .into_iter()
        .map(|m| MemberItem {
            project_choices: if viewer_role.can_manage_members() && m.row.membership.role() == Role::Member {
                projects
                    .iter()
                    .map(|p| {
                        let current = m.projects.iter().find(|(n, _)| *n == p.name).map(|(_, a)| a.clone());
                        (p.id, p.name.clone(), current.unwrap_or_else(|| "none".into()))
                    })
                    .collect()
            } else {
                Vec::new()
            },
            membership_id: m.row.membership.id,
            removable: m.row.membership.user_id != ctx.user().id && viewer_role.can_remove(m.row.membership.role()),
            role_editable: m.row.membership.user_id != ctx.user().id
                && viewer_role.can_remove(m.row.membership.role())
                && viewer_role.can_invite_as(Role::Admin),
            is_admin: m.row.membership.role() == Role::Admin,
            initial: initial(&m.row.name),
            is_owner: m.row.membership.role() == Role::Owner,
            is_you: m.row.membership.user_id == ctx.user().id,
            role: m.row.membership.role().label(),
            joined: Stamp::new(m.row.membership.created_at, now),
            projects: m.projects,
            messages: format_count(m.usage.messages),
            tokens: format_count(m.usage.tokens),
            last_active: m.row.membership.last_active_at.map(|t| Stamp::new(t, now)),
            idle_days: m.idle_days,
            name: m.row.name,
            email: m.row.email,
        })
        .collect();
    let invitations = view
        .invitations
        .into_iter()
        .map(|i| InvitationItem {
            id: i.invitation.id,
            projects: grants.remove(&i.invitation.id).unwrap_or_default(),
            role: Role::parse(&i.invitation.role).unwrap_or(Role::Member).label(),
            expired: i.expired,
            invited: Stamp::new(i.invitation.last_sent_at, now),
            expires: Stamp::new(i.invitation.expires_at, now),
            delivery: i.delivery.map(|d| match d {
                Delivery::Queued => ("queued", "Email queued".to_owned()),
                Delivery::Retrying(reason) => ("retrying", format!("Email delayed: {reason}. Retrying automatically.")),
                Delivery::Sent(at) => ("sent", format!("Email sent {}", relative_time(at, now))),
                Delivery::Failed(reason) => ("failed", format!("Email failed: {reason}")),
            }),
            email: i.invitation.email,
        })
        .collect();
    let idle_count = members.iter().filter(|m| m.idle_days.is_some()).count();
    let unassigned: Vec<(i64, String)> = members
        .iter()
        .filter(|m| m.role == Role::Member.label() && m.projects.is_empty())
        .map(|m| (m.membership_id, m.name.clone()))
        .collect();
    let admins =
        members.iter().filter(|m| m.is_admin).map(|m| (m.membership_id, format!("{} ({})", m.name, m.email))).collect();
    let logs = if viewer_role.can_manage_members() { log_items(&logs, now) } else { Vec::new() };
    let page = UsersPage {
        chrome: Chrome::workspace(session, ctx, format!("My Users · {}", ctx.ws.name), "users"),
        slug: ctx.ws.slug.clone(),
        can_manage: ctx.role().can_manage_members(),
        can_change_plan: ctx.role().can_change_plan(),
        can_invite_admins: ctx.role().can_invite_as(Role::Admin),
        form,
        projects: projects.iter().map(|p| ProjectChoice { id: p.id, name: p.name.clone() }).collect(),
        logs,
        admins,
        unassigned,
        seats: SeatLine::new(&view.seats),
        member_count: format_count(members.len() as i64),
        members,
        invitations,
        idle_count,
    };
    Ok(html(status, page.render()?))
}
