//! Extractors that load who is asking, fresh from the database on every request: the signed-in
//! account (`Viewer`) and its membership of the workspace in the URL (`WsCtx`). Nothing is cached,
//! so a removal or a password change takes effect on the very next request, on any instance.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};

use super::error::{AppError, AppResult};
use super::session;
use super::state::AppState;
use crate::db::DbConnection;
use crate::db::membership::Membership;
use crate::db::user::User;
use crate::db::workspace::Workspace;
use crate::domain::role::Role;

type LocalFuture<T> = Pin<Box<dyn Future<Output = AppResult<T>>>>;

/// Runs a unit of database work, transaction included, on the blocking pool.
pub async fn run<T, F>(state: &AppState, f: F) -> AppResult<T>
where
    F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// The signed-in account and the workspaces it belongs to (for the switcher).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    pub workspaces: Vec<Workspace>,
}

/// A signed-in account, or none; never an error.
pub struct MaybeViewer(pub Option<Viewer>);

/// The viewer with their membership of the workspace named in the path (`{ws}`).
#[derive(Debug, Clone)]
pub struct WsCtx {
    pub viewer: Viewer,
    pub ws: Workspace,
    pub membership: Membership,
    /// For owner and admins: the usage banner, when this month passed 80 % or 100 %.
    pub usage_alert: Option<(i32, String)>,
}

impl WsCtx {
    pub fn role(&self) -> Role {
        self.membership.role()
    }

    pub fn user(&self) -> &User {
        &self.viewer.user
    }

    /// This workspace's My Users page.
    pub fn users_url(&self) -> String {
        format!("/w/{}/settings/users", self.ws.slug)
    }

    /// Owner and admins only; a member gets a 403 page that says why.
    pub fn require_manager(&self) -> AppResult<()> {
        if self.role().can_manage_members() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "Only the owner and admins can do this",
                format!("You are a member of {}; ask its owner or an admin.", self.ws.name),
            ))
        }
    }
}

pub fn state(req: &HttpRequest) -> AppResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| AppError::internal("application state missing"))
}

fn requested_path(req: &HttpRequest) -> String {
    // After sign-in we return to pages only (a GET); for anything else, back to where it came from.
    if req.method() == actix_web::http::Method::GET {
        match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        }
    } else {
        "/".to_owned()
    }
}

/// Loads the session's account, checking that the session's epoch is still current.
fn load_viewer(conn: &mut DbConnection, uid: i64, epoch: i64) -> AppResult<Option<Viewer>> {
    let Some(user) = User::find(conn, uid)? else { return Ok(None) };
    if user.session_epoch != epoch {
        return Ok(None);
    }
    let workspaces = Workspace::for_user(conn, user.id)?;
    Ok(Some(Viewer { user, workspaces }))
}

async fn viewer_from(req: &HttpRequest, session: &Session) -> AppResult<Option<Viewer>> {
    let Some((uid, epoch)) = session::signed_in(session) else { return Ok(None) };
    let state = state(req)?;
    let viewer = run(&state, move |conn| load_viewer(conn, uid, epoch)).await?;
    if viewer.is_none() {
        // Signed out elsewhere (password change, "sign out everywhere") or account gone.
        session::sign_out(session);
    }
    Ok(viewer)
}

impl FromRequest for MaybeViewer {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = req.get_session();
            Ok(MaybeViewer(viewer_from(&req, &session).await?))
        })
    }
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = req.get_session();
            viewer_from(&req, &session).await?.ok_or_else(|| AppError::LoginRequired { next: requested_path(&req) })
        })
    }
}

impl FromRequest for WsCtx {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = req.get_session();
            let slug = req.match_info().get("ws").unwrap_or_default().to_owned();
            let Some((uid, epoch)) = session::signed_in(&session) else {
                return Err(AppError::LoginRequired { next: requested_path(&req) });
            };
            let state = state(&req)?;
            let loaded = run(&state, move |conn| {
                let Some(viewer) = load_viewer(conn, uid, epoch)? else { return Ok(None) };
                let ws =
                    if crate::domain::slug::looks_valid(&slug) { Workspace::find_by_slug(conn, &slug)? } else { None };
                let Some(ws) = ws else { return Ok(Some((viewer, None))) };
                let membership = Membership::find(conn, ws.id, viewer.user.id)?;
                let mut alert = None;
                let removed = match &membership {
                    Some(m) => {
                        Membership::touch(conn, m.id, crate::domain::now())?;
                        if m.role().can_manage_members() {
                            alert = crate::services::usage::alert_level(conn, &ws)?.map(|(level, a)| {
                                let text = if level >= 100 {
                                    format!(
                                        "{} has used its whole monthly allowance; new usage is refused until {}.",
                                        ws.name,
                                        a.resets_at().format("%B %-d")
                                    )
                                } else {
                                    format!(
                                        "{} has used {}% of its monthly allowance ({}).",
                                        ws.name,
                                        a.percent(),
                                        a.describe()
                                    )
                                };
                                (level, text)
                            });
                        }
                        false
                    }
                    None => crate::services::members::was_removed(conn, ws.id, &viewer.user.email)?,
                };
                Ok(Some((viewer, Some((ws, membership, removed, alert)))))
            })
            .await?;
            match loaded {
                None => {
                    session::sign_out(&session);
                    Err(AppError::LoginRequired { next: requested_path(&req) })
                }
                Some((_, None)) => Err(AppError::page(
                    StatusCode::NOT_FOUND,
                    "No workspace at this address",
                    "Check the link, or pick one of your workspaces from the menu.",
                )),
                Some((_, Some((ws, None, true, _)))) => Err(AppError::NoAccess {
                    title: format!("You no longer have access to {}", ws.name),
                    message: format!(
                        "You were removed from {} (or left it), so its pages are closed to you. Your other workspaces are not affected; ask its owner to invite you again if this is a mistake.",
                        ws.name
                    ),
                }),
                Some((viewer, Some((ws, None, false, _)))) => Err(AppError::NoAccess {
                    title: format!("You don't have access to {}", ws.name),
                    message: format!(
                        "You are signed in as {}, who is not a member of {}. Ask its owner to invite you, or switch to one of your own workspaces.",
                        viewer.user.email, ws.name
                    ),
                }),
                Some((viewer, Some((ws, Some(membership), _, usage_alert)))) => {
                    Ok(WsCtx { viewer, ws, membership, usage_alert })
                }
            }
        })
    }
}

/// The client's IP address as the server saw it (the TCP peer). Behind a proxy this is the
/// proxy; Roster does not trust `X-Forwarded-For` by default.
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// The audit actor for a signed-in account making a request.
pub fn actor(req: &HttpRequest, user: &User) -> crate::db::audit::Actor {
    crate::db::audit::Actor {
        user_id: Some(user.id),
        name: user.name.clone(),
        email: user.email.clone(),
        kind: if user.is_staff { "staff" } else { "user" },
        ip: Some(client_ip(req)),
        user_agent: user_agent(req),
    }
}
