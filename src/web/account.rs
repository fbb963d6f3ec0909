//! The account page: change password, sign out everywhere.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{Viewer, run};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, see_other, session};
use crate::services::{ServiceError, accounts};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    error: Option<String>,
}

pub async fn page(session: Session, viewer: Viewer) -> AppResult<HttpResponse> {
    let page = AccountPage { chrome: Chrome::account(&session, &viewer, "Your account", "account"), error: None };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_password(
    session: Session,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let refuse = |message: String| -> AppResult<HttpResponse> {
        let page =
            AccountPage { chrome: Chrome::account(&session, &viewer, "Your account", "account"), error: Some(message) };
        Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
    };
    if form.new_password != form.confirm_password {
        return refuse("The new password and its confirmation differ.".into());
    }
    let uid = viewer.user.id;
    let result =
        run(&state, move |conn| Ok(accounts::change_password(conn, uid, &form.current_password, &form.new_password)))
            .await?;
    match result {
        Ok(user) => {
            // This session carries on; every other one ends.
            session::set_epoch(&session, user.session_epoch).map_err(AppError::internal)?;
            session::set_flash(&session, "success", "Your password is changed. Other devices have been signed out.");
            Ok(see_other("/account"))
        }
        Err(ServiceError::Invalid(message)) => refuse(message),
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_out_everywhere(
    session: Session,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> AppResult<HttpResponse> {
    let uid = viewer.user.id;
    run(&state, move |conn| Ok(accounts::sign_out_everywhere(conn, uid)?)).await?;
    session::sign_out(&session);
    session::set_flash(&session, "success", "You are signed out on every device.");
    Ok(see_other("/login"))
}
