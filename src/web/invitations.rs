//! The owner's and admins' side of invitations: invite, resend, copy link, revoke.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{AppError, AppResult};
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::members::{InviteForm, OutcomeLine, render};
use super::state::AppState;
use super::{html, see_other, session};
use crate::domain::role::{Access, Role};
use crate::services::ServiceError;
use crate::services::invitations::{self, InviteOutcome, InviteRequest};

/// The invite form: `emails`, `role`, and `project_{id}` = `none`, `view` or `edit`.
pub async fn invite(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let fields = form.into_inner();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let addresses = field("emails");
    let role_raw = field("role");
    let role = match role_raw.as_str() {
        "" => Role::Member,
        r => match Role::parse(r) {
            Some(role @ (Role::Admin | Role::Member)) => role,
            _ => {
                return Err(AppError::bad_request(format!(
                    "'{r}' is not a role you can invite as; choose Member or Admin."
                )));
            }
        },
    };
    let mut projects = Vec::new();
    for (k, v) in &fields {
        let Some(id) = k.strip_prefix("project_") else { continue };
        let id: i64 =
            id.parse().map_err(|_| AppError::bad_request("A project in the form is not valid; reload the page."))?;
        match v.as_str() {
            "" | "none" => {}
            access => projects.push((
                id,
                Access::parse(access).ok_or_else(|| {
                    AppError::bad_request(format!("'{access}' is not an access level; choose view or edit."))
                })?,
            )),
        }
    }
    let request = InviteRequest { addresses: addresses.clone(), role, projects };
    let actor = actor(&req, ctx.user());
    let (ws_id, actor_role, settings) = (ctx.ws.id, ctx.role(), state.invite_settings());
    let result =
        run(&state, move |conn| Ok(invitations::invite(conn, ws_id, &actor, actor_role, &request, &settings))).await?;
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(ServiceError::Invalid(message)) => {
            let form = InviteForm { error: Some(message), addresses, role: role.as_str().into(), ..Default::default() };
            return render(&session, &state, &ctx, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return Err(e.into()),
    };
    if outcomes.iter().any(InviteOutcome::succeeded) {
        state.outbox.wake();
    }
    let status = if outcomes.iter().any(InviteOutcome::succeeded) {
        StatusCode::OK
    } else if outcomes.iter().any(|o| matches!(o, InviteOutcome::NoSeat { .. })) {
        StatusCode::CONFLICT
    } else if outcomes.iter().any(|o| matches!(o, InviteOutcome::DailyLimit { .. })) {
        StatusCode::TOO_MANY_REQUESTS
    } else if outcomes.iter().any(|o| matches!(o, InviteOutcome::Invalid { .. })) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Keep in the box only what still needs attention.
    let retry: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            InviteOutcome::Invalid { input, .. } => Some(input.clone()),
            InviteOutcome::NoSeat { email, .. } | InviteOutcome::DailyLimit { email, .. } => Some(email.clone()),
            _ => None,
        })
        .collect();
    let lines = outcomes
        .iter()
        .map(|o| OutcomeLine {
            tone: o.tone(),
            text: o.sentence(),
            resend_id: match o {
                InviteOutcome::AlreadyInvited { invitation_id, .. } => Some(*invitation_id),
                _ => None,
            },
        })
        .collect();
    let form = InviteForm { outcomes: lines, error: None, addresses: retry.join("\n"), role: role.as_str().into() };
    render(&session, &state, &ctx, form, status).await
}

pub async fn resend(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let (_, id) = path.into_inner();
    let actor = actor(&req, ctx.user());
    let (ws_id, role, settings) = (ctx.ws.id, ctx.role(), state.invite_settings());
    let email = run(&state, move |conn| Ok(invitations::resend(conn, ws_id, id, &actor, role, &settings)?)).await?;
    state.outbox.wake();
    session::set_flash(
        &session,
        "success",
        format!("Invitation sent again to {email}, with a new link. The old link no longer works."),
    );
    Ok(see_other(&format!("{}#invitation-{id}", ctx.users_url())))
}

#[derive(Template)]
#[template(path = "invitation_link.html")]
struct LinkPage {
    chrome: Chrome,
    slug: String,
    email: String,
    link: String,
}

pub async fn copy_link(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let (_, id) = path.into_inner();
    let actor = actor(&req, ctx.user());
    let (ws_id, role, settings) = (ctx.ws.id, ctx.role(), state.invite_settings());
    let (email, link) =
        run(&state, move |conn| Ok(invitations::copy_link(conn, ws_id, id, &actor, role, &settings)?)).await?;
    let page = LinkPage {
        chrome: Chrome::workspace(&session, &ctx, "Invitation link", "users"),
        slug: ctx.ws.slug.clone(),
        email,
        link,
    };
    Ok(html(StatusCode::OK, page.render()?))
}
