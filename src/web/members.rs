//! Settings → My Users: seats, the members table, and (for owner and admins) the actions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::AppResult;
use super::extract::{WsCtx, run};
use super::html;
use super::layout::Chrome;
use super::state::AppState;
use crate::domain::{format_count, relative_time};
use crate::services::members::members_view;

pub struct SeatLine {
    pub summary: String,
    pub used: i64,
    pub limit: Option<i64>,
    pub full: bool,
    pub plan: String,
}

pub struct MemberItem {
    pub name: String,
    pub initial: String,
    pub email: String,
    pub role: &'static str,
    pub is_owner: bool,
    pub is_you: bool,
    pub joined: String,
    pub last_active: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    seats: SeatLine,
    members: Vec<MemberItem>,
    member_count: String,
}

pub async fn page(session: Session, state: web::Data<AppState>, ctx: WsCtx) -> AppResult<HttpResponse> {
    let ws = ctx.ws.clone();
    let view = run(&state, move |conn| Ok(members_view(conn, &ws)?)).await?;
    let now = crate::domain::now();
    let members = view
        .members
        .iter()
        .map(|m| MemberItem {
            name: m.name.clone(),
            initial: super::layout::initial(&m.name),
            email: m.email.clone(),
            role: m.membership.role().label(),
            is_owner: m.membership.role() == crate::domain::role::Role::Owner,
            is_you: m.membership.user_id == ctx.user().id,
            joined: m.membership.created_at.format("%b %-d, %Y").to_string(),
            last_active: m
                .membership
                .last_active_at
                .map(|t| (relative_time(t, now), t.format("%Y-%m-%dT%H:%M:%SZ").to_string())),
        })
        .collect::<Vec<_>>();
    let seats = SeatLine {
        summary: view.seats.summary(),
        used: view.seats.used(),
        limit: view.seats.plan.seat_limit(),
        full: view.seats.is_full(),
        plan: view.seats.plan.label().to_owned(),
    };
    let page = UsersPage {
        chrome: Chrome::workspace(&session, &ctx, format!("My Users · {}", ctx.ws.name), "users"),
        seats,
        member_count: format_count(members.len() as i64),
        members,
    };
    Ok(html(StatusCode::OK, page.render()?))
}
