//! Settings → Plan: the current plan, seats, allowance, a comparison, and (for the owner) the
//! change-plan form. Admins see it read-only; members get a 403.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::members::SeatLine;
use super::state::AppState;
use super::{html, see_other, session};
use crate::domain::format_count;
use crate::domain::plan::Plan;
use crate::services::plans::{PlanChange, change_plan};
use crate::services::workspaces::seat_usage;

pub struct PlanRow {
    pub value: &'static str,
    pub label: &'static str,
    pub seats: String,
    pub messages: String,
    pub tokens: String,
    pub current: bool,
}

pub struct Refusal {
    pub plan: String,
    pub used: i64,
    pub limit: i64,
    pub excess: i64,
    pub people: Vec<String>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    chrome: Chrome,
    slug: String,
    plan: String,
    seats: SeatLine,
    messages: String,
    tokens: String,
    plans: Vec<PlanRow>,
    can_change: bool,
    refusal: Option<Refusal>,
}

fn plan_rows(current: Plan) -> Vec<PlanRow> {
    Plan::ALL
        .into_iter()
        .map(|p| PlanRow {
            value: p.as_str(),
            label: p.label(),
            seats: p.seats_label(),
            messages: format_count(p.allowance().messages),
            tokens: format_count(p.allowance().tokens),
            current: p == current,
        })
        .collect()
}

async fn render(session: &Session, state: &AppState, ctx: &WsCtx, refusal: Option<Refusal>) -> AppResult<HttpResponse> {
    let ws_id = ctx.ws.id;
    let (ws, seats) = run(state, move |conn| {
        let ws = crate::db::workspace::Workspace::find(conn, ws_id)?
            .ok_or_else(|| AppError::not_found("Workspace not found."))?;
        let seats = seat_usage(conn, &ws)?;
        Ok((ws, seats))
    })
    .await?;
    let plan = ws.plan();
    let status = if refusal.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let page = PlanPage {
        chrome: Chrome::workspace(session, ctx, format!("Plan · {}", ws.name), "plan"),
        slug: ws.slug.clone(),
        plan: plan.label().to_owned(),
        seats: SeatLine::new(&seats),
        messages: format_count(plan.allowance().messages),
        tokens: format_count(plan.allowance().tokens),
        plans: plan_rows(plan),
        can_change: ctx.role().can_change_plan(),
        refusal,
    };
    Ok(html(status, page.render()?))
}

pub async fn page(session: Session, state: web::Data<AppState>, ctx: WsCtx) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    render(&session, &state, &ctx, None).await
}

#[derive(Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
}

pub async fn change(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<PlanForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    if !ctx.role().can_change_plan() {
        return Err(AppError::forbidden(
            "Only the owner can change the plan",
            format!("Ask the owner of {} to change its plan.", ctx.ws.name),
        ));
    }
    let to = Plan::parse(&form.plan).ok_or_else(|| {
        AppError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a plan",
            format!("'{}' is not a plan. Choose Free, Individual, Professional or Business.", form.plan),
        )
    })?;
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    let outcome = run(&state, move |conn| Ok(change_plan(conn, ws_id, to, &actor, role)?)).await?;
    let back = format!("/w/{}/settings/plan", ctx.ws.slug);
    match outcome {
        PlanChange::Changed { from, to } => {
            let word = if to > from { "Upgraded" } else { "Changed" };
            session::set_flash(
                &session,
                "success",
                format!(
                    "{word} {} from {from} to {to}: {} and {} messages a month.",
                    ctx.ws.name,
                    to.seats_label(),
                    format_count(to.allowance().messages)
                ),
            );
            Ok(see_other(&back))
        }
        PlanChange::Unchanged => {
            session::set_flash(&session, "info", format!("{} is already on the {to} plan.", ctx.ws.name));
            Ok(see_other(&back))
        }
        PlanChange::TooManySeats { to, seats, excess, people } => {
            let refusal = Refusal {
                plan: to.label().to_owned(),
                used: seats.used(),
                limit: to.seat_limit().unwrap_or_default(),
                excess,
                people,
            };
            render(&session, &state, &ctx, Some(refusal)).await
        }
    }
}
