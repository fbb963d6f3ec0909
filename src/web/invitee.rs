//! The invitee's side: the page an invitation link opens, and accepting it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{MaybeViewer, client_ip, run, user_agent};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, see_other, session};
use crate::domain::role::Role;
use crate::services::ServiceError;
use crate::services::invitations::{self, AcceptAs, Lookup, OpenInvitation};

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    token: String,
    workspace: String,
    inviter: String,
    email: String,
    role: &'static str,
    expires: String,
    projects: Vec<(String, String)>,
    /// `accept` (signed in as the invitee), `switch` (signed in as someone else), `signin`
    /// (an account exists) or `signup`.
    mode: &'static str,
    signed_in_as: String,
    name: String,
    error: Option<String>,
}

fn page_for(
    session: &Session,
    viewer: &MaybeViewer,
    token: String,
    open: &OpenInvitation,
    name: String,
    error: Option<String>,
) -> InvitationPage {
    let signed_in_as = viewer.0.as_ref().map(|v| v.user.email.clone()).unwrap_or_default();
    let mode = match &viewer.0 {
        Some(v) if v.user.email == open.invitation.email => "accept",
        Some(_) => "switch",
        None if open.account_exists => "signin",
        None => "signup",
    };
    let mut chrome = Chrome::public(session, format!("Join {}", open.workspace.name));
    chrome.user = None;
    InvitationPage {
        chrome,
        token,
        workspace: open.workspace.name.clone(),
        inviter: open.inviter.clone(),
        email: open.invitation.email.clone(),
        role: Role::parse(&open.invitation.role).unwrap_or(Role::Member).label(),
        expires: open.invitation.expires_at.format("%B %-d, %Y at %H:%M UTC").to_string(),
        projects: open.projects.clone(),
        mode,
        signed_in_as,
        name,
        error,
    }
}

fn gone(lookup: Lookup) -> AppError {
    let (status, title, message) = match lookup {
        Lookup::Unknown => (
            StatusCode::NOT_FOUND,
            "This invitation link is not valid".to_owned(),
            "Check that you copied the whole link from the email. If it still does not work, ask the person who invited you to resend the invitation.".to_owned(),
        ),
        Lookup::Replaced { workspace } => (
            StatusCode::GONE,
            "This invitation link was replaced".to_owned(),
            format!("A newer invitation to {workspace} was sent. Use the link in the most recent email, or ask for it to be resent."),
        ),
        Lookup::Revoked { workspace } => (
            StatusCode::GONE,
            "This invitation was withdrawn".to_owned(),
            format!("The invitation to {workspace} was removed. Ask the person who invited you to send a new one."),
        ),
        Lookup::Accepted { workspace, .. } => (
            StatusCode::GONE,
            "This invitation has already been used".to_owned(),
            format!("It was accepted already. Sign in to open {workspace}."),
        ),
        Lookup::Expired { workspace, inviter } => (
            StatusCode::GONE,
            "This invitation has expired".to_owned(),
            format!(
                "Invitation links work for {} days. Ask {inviter} to resend the invitation to {workspace}.",
                invitations::VALID_DAYS
            ),
        ),
        Lookup::Open(_) => (StatusCode::CONFLICT, "Already open".to_owned(), String::new()),
    };
    AppError::page(status, title, message)
}

pub async fn show(
    session: Session,
    state: web::Data<AppState>,
    viewer: MaybeViewer,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let t = token.clone();
    let found = run(&state, move |conn| Ok(invitations::lookup(conn, &t)?)).await?;
    let Lookup::Open(open) = found else { return Err(gone(found)) };
    let page = page_for(&session, &viewer, token, &open, String::new(), None);
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub async fn accept(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    viewer: MaybeViewer,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let form = form.into_inner();
    let how = match (&viewer.0, form.mode.as_str()) {
        (Some(v), _) => AcceptAs::SignedIn { user_id: v.user.id },
        (None, "signin") => AcceptAs::ExistingAccount { password: form.password.clone() },
        (None, _) => AcceptAs::NewAccount { name: form.name.clone(), password: form.password.clone() },
    };
    let (ip, ua) = (Some(client_ip(&req)), user_agent(&req));
    let t = token.clone();
    let result = run(&state, move |conn| Ok(invitations::accept(conn, &t, how, ip, ua))).await?;
    match result {
        Ok((user, ws)) => {
            session::sign_in(&session, user.id, user.session_epoch).map_err(AppError::internal)?;
            session::set_flash(
                &session,
                "success",
                format!("Welcome to {}, {}. You are now a member.", ws.name, user.name),
            );
            Ok(see_other(&format!("/w/{}/settings/users", ws.slug)))
        }
        Err(ServiceError::Invalid(message)) => {
            let t = token.clone();
            let found = run(&state, move |conn| Ok(invitations::lookup(conn, &t)?)).await?;
            let Lookup::Open(open) = found else { return Err(gone(found)) };
            let page = page_for(&session, &viewer, token, &open, form.name, Some(message));
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
        }
        Err(e) => Err(e.into()),
    }
}
