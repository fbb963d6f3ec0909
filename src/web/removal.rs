//! The trash icon (members and pending invitations), role changes, leaving, and ownership
//! transfer. Each removal works two ways: `DELETE` from htmx (the row goes; the seat line, counts
//! and logs panel update out of band) and a plain form that confirms on a page and redirects back.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::members::{LOG_PANEL_SIZE, LogItem, SeatLine, log_items};
use super::state::AppState;
use super::{html, see_other, session};
use crate::db::invitation::Invitation;
use crate::db::membership::Membership;
use crate::domain::format_count;
use crate::domain::role::Role;
use crate::services::members::{self, Departure};
use crate::services::{accounts, invitations, workspaces};

#[derive(Template)]
#[template(path = "partials/removed.html")]
struct RemovedFragment {
    oob: bool,
    slug: String,
    can_manage: bool,
    can_change_plan: bool,
    seats: SeatLine,
    member_count: String,
    pending: usize,
    logs: Vec<LogItem>,
    message: String,
}

/// The htmx answer to a removal: nothing in place of the row, and the rest out of band.
async fn removed_fragment(state: &AppState, ctx: &WsCtx, message: String) -> AppResult<HttpResponse> {
    let ws = ctx.ws.clone();
    let now = crate::domain::now();
    let (seats, members, pending, logs) = run(state, move |conn| {
        let seats = workspaces::seat_usage(conn, &ws)?;
        let members = Membership::count_active(conn, ws.id)?;
        let pending = Invitation::open_for_workspace(conn, ws.id)?.len();
        let logs = crate::db::audit::AuditEvent::latest(conn, ws.id, LOG_PANEL_SIZE)?;
        Ok((seats, members, pending, logs))
    })
    .await?;
    let fragment = RemovedFragment {
        oob: true,
        slug: ctx.ws.slug.clone(),
        can_manage: ctx.role().can_manage_members(),
        can_change_plan: ctx.role().can_change_plan(),
        seats: SeatLine::new(&seats),
        member_count: format_count(members),
        pending,
        logs: log_items(&logs, now),
        message,
    };
    let mut res = html(StatusCode::OK, fragment.render()?);
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("HX-Request"));
    Ok(res)
}

fn departure_message(d: &Departure, ws_name: &str) -> String {
    let mut m = format!("Removed {} ({}). Their access to {ws_name} ended at once.", d.name, d.email);
    if !d.withdrawn_invitations.is_empty() {
        m.push_str(&format!(
            " {} invitation{} they sent {} withdrawn ({}); invite again if still wanted.",
            d.withdrawn_invitations.len(),
            if d.withdrawn_invitations.len() == 1 { "" } else { "s" },
            if d.withdrawn_invitations.len() == 1 { "was" } else { "were" },
            d.withdrawn_invitations.join(", ")
        ));
    }
    if d.revoked_api_keys > 0 {
        m.push_str(&format!(
            " {} API key{} they created {} revoked.",
            d.revoked_api_keys,
            if d.revoked_api_keys == 1 { "" } else { "s" },
            if d.revoked_api_keys == 1 { "was" } else { "were" }
        ));
    }
    m
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    heading: String,
    sentence: String,
    action: String,
    button: String,
    cancel: String,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

async fn remove_member(state: &AppState, req: &HttpRequest, ctx: &WsCtx, id: i64) -> AppResult<Departure> {
    let actor = actor(req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    run(state, move |conn| Ok(members::remove_member(conn, ws_id, id, &actor, role)?)).await
}

/// `DELETE …/members/{id}` from the trash icon (htmx).
pub async fn delete_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let departure = remove_member(&state, &req, &ctx, path.into_inner().1).await?;
    removed_fragment(&state, &ctx, departure_message(&departure, &ctx.ws.name)).await
}

/// `POST …/members/{id}/remove` without JavaScript: a confirmation page, then the removal.
pub async fn remove_member_form(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    if form.confirm != "yes" {
        let ws_id = ctx.ws.id;
        let target = run(&state, move |conn| Ok(members::member_by_id(conn, ws_id, id)?)).await?;
        if target.membership.user_id == ctx.user().id || !ctx.role().can_remove(target.membership.role()) {
            return Err(AppError::forbidden(
                "You can't remove this person",
                match target.membership.role() {
                    Role::Owner => {
                        "The owner can't be removed. Ownership can be transferred to an admin by the owner.".to_owned()
                    }
                    _ if target.membership.user_id == ctx.user().id => {
                        "To leave, use Leave workspace in the menu.".to_owned()
                    }
                    _ => format!("Only the owner can remove an admin ({}).", target.name),
                },
            ));
        }
        let page = ConfirmPage {
            chrome: Chrome::workspace(&session, &ctx, format!("Remove {}", target.name), "users"),
            heading: format!("Remove {}?", target.name),
            sentence: format!(
                "{} ({}) loses access to {} and its projects at once. Their usage this month stays on the workspace's record.",
                target.name, target.email, ctx.ws.name
            ),
            action: format!("/w/{}/settings/users/members/{id}/remove", ctx.ws.slug),
            button: format!("Remove {}", target.name),
            cancel: ctx.users_url(),
        };
        return Ok(html(StatusCode::OK, page.render()?));
    }
    let departure = remove_member(&state, &req, &ctx, id).await?;
    session::set_flash(&session, "success", departure_message(&departure, &ctx.ws.name));
    Ok(see_other(&ctx.users_url()))
}

async fn revoke(state: &AppState, req: &HttpRequest, ctx: &WsCtx, id: i64) -> AppResult<Invitation> {
    let actor = actor(req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    run(state, move |conn| Ok(invitations::revoke(conn, ws_id, id, &actor, role)?)).await
}

/// `DELETE …/invitations/{id}` from the trash icon (htmx).
pub async fn delete_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let inv = revoke(&state, &req, &ctx, path.into_inner().1).await?;
    removed_fragment(&state, &ctx, format!("Removed the invitation to {}. Its link no longer works.", inv.email)).await
}

/// `POST …/invitations/{id}/revoke` without JavaScript.
pub async fn revoke_invitation_form(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    if form.confirm != "yes" {
        let ws_id = ctx.ws.id;
        let inv = run(&state, move |conn| Ok(Invitation::find(conn, ws_id, id)?))
            .await?
            .filter(|i| i.status == "pending" || i.status == "expired")
            .ok_or_else(|| AppError::not_found("That invitation does not exist in this workspace (any more)."))?;
        let page = ConfirmPage {
            chrome: Chrome::workspace(&session, &ctx, "Remove invitation", "users"),
            heading: format!("Remove the invitation to {}?", inv.email),
            sentence: format!(
                "The link in the email to {} stops working at once and the seat it holds is freed.",
                inv.email
            ),
            action: format!("/w/{}/settings/users/invitations/{id}/revoke", ctx.ws.slug),
            button: "Remove invitation".into(),
            cancel: ctx.users_url(),
        };
        return Ok(html(StatusCode::OK, page.render()?));
    }
    let inv = revoke(&state, &req, &ctx, id).await?;
    session::set_flash(
        &session,
        "success",
        format!("Removed the invitation to {}. Its link no longer works.", inv.email),
    );
    Ok(see_other(&ctx.users_url()))
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST …/members/{id}/role`: member ↔ admin.
pub async fn change_role(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<RoleForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    let to = match Role::parse(&form.role) {
        Some(r @ (Role::Admin | Role::Member)) => r,
        _ => return Err(AppError::bad_request(format!("'{}' is not a role; choose Member or Admin.", form.role))),
    };
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    let (name, from, to) =
        run(&state, move |conn| Ok(members::change_role(conn, ws_id, id, to, &actor, role)?)).await?;
    let text = if from == to {
        format!("{name} is already {}.", to.label())
    } else {
        format!("{name} is now {} (was {}).", to.label(), from.label())
    };
    session::set_flash(&session, "success", text);
    Ok(see_other(&format!("{}#member-{id}", ctx.users_url())))
}

/// `POST /w/{ws}/leave`: confirm on a page, then leave.
pub async fn leave(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    if ctx.role() == Role::Owner {
        return Err(AppError::forbidden(
            "The owner can't leave",
            format!("You own {}. Transfer ownership to an admin on My Users first; then you can leave.", ctx.ws.name),
        ));
    }
    if form.confirm != "yes" {
        let page = ConfirmPage {
            chrome: Chrome::workspace(&session, &ctx, format!("Leave {}", ctx.ws.name), "users"),
            heading: format!("Leave {}?", ctx.ws.name),
            sentence: format!(
                "You lose access to {} and its projects at once. To come back, someone has to invite you again.",
                ctx.ws.name
            ),
            action: format!("/w/{}/leave", ctx.ws.slug),
            button: format!("Leave {}", ctx.ws.name),
            cancel: ctx.users_url(),
        };
        return Ok(html(StatusCode::OK, page.render()?));
    }
    let actor = actor(&req, ctx.user());
    let (ws_id, uid) = (ctx.ws.id, ctx.user().id);
    run(&state, move |conn| Ok(members::leave(conn, ws_id, uid, &actor)?)).await?;
    session::set_flash(&session, "success", format!("You left {}.", ctx.ws.name));
    Ok(see_other("/"))
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    membership_id: String,
    #[serde(default)]
    password: String,
}

/// `POST …/settings/users/transfer`: the owner hands ownership to an active admin.
pub async fn transfer(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<TransferForm>,
) -> AppResult<HttpResponse> {
    if ctx.role() != Role::Owner {
        return Err(AppError::forbidden(
            "Only the owner can transfer ownership",
            format!("Ask the owner of {}.", ctx.ws.name),
        ));
    }
    let form = form.into_inner();
    let to: i64 = form.membership_id.parse().map_err(|_| {
        AppError::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the new owner",
            "Choose an active admin to hand ownership to.",
        )
    })?;
    let actor = actor(&req, ctx.user());
    let (ws_id, role, uid) = (ctx.ws.id, ctx.role(), ctx.user().id);
    let name = run(&state, move |conn| {
        let user = crate::db::user::User::find(conn, uid)?.ok_or_else(|| AppError::not_found("Account not found."))?;
        if !accounts::verify_password(&form.password, &user.password_hash) {
            return Err(AppError::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Your password is not right",
                "Ownership was not transferred. Enter your own password to confirm.",
            ));
        }
        Ok(members::transfer_ownership(conn, ws_id, to, &actor, role)?)
    })
    .await?;
    session::set_flash(&session, "success", format!("{name} now owns {}. You are an admin.", ctx.ws.name));
    Ok(see_other(&ctx.users_url()))
}
