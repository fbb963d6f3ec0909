//! Signing in and out, and the first-run setup link.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{MaybeViewer, client_ip, run};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, safe_next, see_other, session};
use crate::domain::plan::Plan;
use crate::services::ServiceError;
use crate::services::accounts::{self, SignInRefusal};
use crate::services::setup::{self, SetupInput};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(session: Session, viewer: MaybeViewer, q: web::Query<NextQuery>) -> AppResult<HttpResponse> {
    let next = safe_next(q.next.as_deref());
    if viewer.0.is_some() {
        return Ok(see_other(&next));
    }
    let page = LoginPage { chrome: Chrome::public(&session, "Sign in"), email: String::new(), next, error: None };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let render_error = |status: StatusCode, message: String, email: String| -> AppResult<HttpResponse> {
        let page =
            LoginPage { chrome: Chrome::public(&session, "Sign in"), email, next: next.clone(), error: Some(message) };
        Ok(html(status, page.render()?))
    };
    if form.email.trim().is_empty() || form.password.is_empty() {
        return render_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address and password.".into(),
            form.email,
        );
    }
    let ip = client_ip(&req);
    let (email, password) = (form.email.clone(), form.password);
    let outcome = run(&state, move |conn| Ok(accounts::authenticate(conn, &email, &password, &ip)?)).await?;
    match outcome {
        Ok(user) => {
            session::sign_in(&session, user.id, user.session_epoch).map_err(AppError::internal)?;
            tracing::info!(user_id = user.id, "signed in");
            Ok(see_other(&next))
        }
        Err(SignInRefusal::WrongCredentials) => render_error(
            StatusCode::UNAUTHORIZED,
            "That email and password don't match an account. Check both and try again.".into(),
            form.email,
        ),
        Err(SignInRefusal::Throttled { minutes }) => render_error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. For your security, wait {minutes} minute{} before trying again.",
                if minutes == 1 { "" } else { "s" }
            ),
            form.email,
        ),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    next: Option<String>,
}

/// Signs out; an optional `next` (a path on this site) says where to go after, as "sign out and
/// continue" on an invitation for another address does.
pub async fn logout(session: Session, form: Option<web::Form<LogoutForm>>) -> HttpResponse {
    session::sign_out(&session);
    session::set_flash(&session, "success", "You are signed out.");
    match form.and_then(|f| f.into_inner().next) {
        Some(next) => see_other(&safe_next(Some(&next))),
        None => see_other("/login"),
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    plans: Vec<Plan>,
    form: SetupFormValues,
    error: Option<String>,
}

#[derive(Default)]
struct SetupFormValues {
    workspace_name: String,
    name: String,
    email: String,
    plan: String,
}

pub async fn setup_page(
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let t = token.clone();
    run(&state, move |conn| Ok(setup::check_link(conn, &t)?)).await?;
    let page = SetupPage {
        chrome: Chrome::public(&session, "Set up Roster"),
        token,
        plans: Plan::ALL.to_vec(),
        form: SetupFormValues { plan: "professional".into(), ..Default::default() },
        error: None,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    workspace_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    plan: String,
}

pub async fn setup(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SetupForm>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let form = form.into_inner();
    let input = SetupInput {
        workspace_name: form.workspace_name.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
        plan: form.plan.clone(),
    };
    let ip = Some(client_ip(&req));
    let t = token.clone();
    let result = run(&state, move |conn| Ok(setup::complete(conn, &t, &input, ip))).await?;
    match result {
        Ok((user, ws)) => {
            session::sign_in(&session, user.id, user.session_epoch).map_err(AppError::internal)?;
            session::set_flash(&session, "success", format!("Welcome to Roster. {} is ready.", ws.name));
            Ok(see_other(&format!("/w/{}/settings/users", ws.slug)))
        }
        Err(ServiceError::Invalid(message)) => {
            let page = SetupPage {
                chrome: Chrome::public(&session, "Set up Roster"),
                token,
                plans: Plan::ALL.to_vec(),
                form: SetupFormValues {
                    workspace_name: form.workspace_name,
                    name: form.name,
                    email: form.email,
                    plan: form.plan,
                },
                error: Some(message),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
        }
        Err(e) => Err(e.into()),
    }
}
