//! Settings → API keys: create (shown once) and revoke the keys the chatbot platform uses.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::AppResult;
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::members::Stamp;
use super::state::AppState;
use super::{html, see_other, session};
use crate::db::api_key::ApiKey;
use crate::services::{ServiceError, api_keys};

pub struct KeyItem {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created: Stamp,
    pub last_used: Option<Stamp>,
    pub revoked: Option<Stamp>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage {
    chrome: Chrome,
    slug: String,
    keys: Vec<KeyItem>,
    /// A key just created: shown this once.
    new_key: Option<(String, String)>,
    error: Option<String>,
    public_url: String,
}

async fn render(
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    new_key: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let ws_id = ctx.ws.id;
    let rows = run(state, move |conn| Ok(ApiKey::list(conn, ws_id)?)).await?;
    let now = crate::domain::now();
    let keys = rows
        .into_iter()
        .map(|(k, by)| KeyItem {
            id: k.id,
            name: k.name,
            prefix: k.key_prefix,
            created_by: by.unwrap_or_else(|| "A former member".into()),
            created: Stamp::new(k.created_at, now),
            last_used: k.last_used_at.map(|t| Stamp::new(t, now)),
            revoked: k.revoked_at.map(|t| Stamp::new(t, now)),
        })
        .collect();
    let page = KeysPage {
        chrome: Chrome::workspace(session, ctx, format!("API keys · {}", ctx.ws.name), "api-keys"),
        slug: ctx.ws.slug.clone(),
        keys,
        new_key,
        error,
        public_url: state.config.public_url.clone(),
    };
    Ok(html(status, page.render()?))
}

pub async fn page(session: Session, state: web::Data<AppState>, ctx: WsCtx) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    render(&session, &state, &ctx, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewKey {
    #[serde(default)]
    name: String,
}

pub async fn create(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<NewKey>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let actor = actor(&req, ctx.user());
    let (ws_id, role, name) = (ctx.ws.id, ctx.role(), form.into_inner().name);
    match run(&state, move |conn| Ok(api_keys::create(conn, ws_id, &name, &actor, role))).await? {
        Ok((key, secret)) => render(&session, &state, &ctx, Some((key.name, secret)), None, StatusCode::OK).await,
        Err(ServiceError::Invalid(m)) => {
            render(&session, &state, &ctx, None, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    let key = run(&state, move |conn| Ok(api_keys::revoke(conn, ws_id, id, &actor, role)?)).await?;
    session::set_flash(
        &session,
        "success",
        format!("Revoked the key {}. Requests with it are refused from now on.", key.name),
    );
    Ok(see_other(&format!("/w/{}/settings/api-keys", ctx.ws.slug)))
}
