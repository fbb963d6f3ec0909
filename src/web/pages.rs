//! Small pages: health check, the home redirect.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::AppResult;
use super::extract::{MaybeViewer, WsCtx, run};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, see_other};

/// Liveness and database reachability, for load balancers.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let db = run(&state, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await;
    match db {
        Ok(()) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("database unreachable\n")
        }
    }
}

#[derive(Template)]
#[template(path = "no_workspace.html")]
struct NoWorkspacePage {
    chrome: Chrome,
}

/// `/`: the first workspace's My Users, or sign in.
pub async fn home(session: Session, viewer: MaybeViewer) -> AppResult<HttpResponse> {
    let Some(viewer) = viewer.0 else { return Ok(see_other("/login")) };
    if let Some(ws) = viewer.workspaces.first() {
        return Ok(see_other(&format!("/w/{}/settings/users", ws.slug)));
    }
    if viewer.user.is_staff {
        return Ok(see_other("/support"));
    }
    let page = NoWorkspacePage { chrome: Chrome::account(&session, &viewer, "No workspace yet", "") };
    Ok(html(StatusCode::OK, page.render()?))
}

pub async fn workspace_home(ctx: WsCtx) -> HttpResponse {
    see_other(&format!("/w/{}/settings/users", ctx.ws.slug))
}

/// Any address no route matches.
pub async fn not_found() -> AppResult<HttpResponse> {
    Err(super::error::AppError::not_found("There is nothing at this address. Check the link, or go to your workspace."))
}
