//! The full audit log of a workspace (owner and admins), its CSV export, and the support
//! console's read-only view of any workspace's log. Filters live in the query string; pages use a
//! keyset cursor (`before`), never OFFSET.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{Viewer, WsCtx, actor, run};
use super::html;
use super::layout::Chrome;
use super::members::{Stamp, log_items};
use super::state::AppState;
use crate::db::audit::AuditEvent;
use crate::db::workspace::Workspace;
use crate::domain::audit::Action;
use crate::domain::csv;
use crate::services::audit_log::{self, LogQuery, PAGE_SIZE, WorkspaceSummary};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogParams {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

impl LogParams {
    fn query(&self) -> Result<LogQuery, String> {
        LogQuery::parse(&self.action, &self.actor, &self.target, &self.from, &self.to)
    }

    /// The filters as a query string (without the cursor), for links.
    fn filters(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("target", self.target.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

pub struct Entry {
    pub id: i64,
    pub text: String,
    pub when: Stamp,
    pub action: String,
    pub actor: String,
    pub ip: String,
    pub user_agent: String,
    pub target: String,
    pub details: Vec<(String, String)>,
    pub hash: String,
}

fn entries(rows: &[AuditEvent]) -> Vec<Entry> {
    let now = crate::domain::now();
    let texts = log_items(rows, now);
    rows.iter()
        .zip(texts)
        .map(|(r, t)| {
            let details: serde_json::Value = serde_json::from_str(&r.details).unwrap_or_default();
            let details = match details {
                serde_json::Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            },
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Entry {
                id: r.id,
                text: t.text,
                when: t.when,
                action: r.action.clone(),
                actor: format!("{} <{}> ({})", r.actor_name, r.actor_email, r.actor_kind),
                ip: r.ip.clone().unwrap_or_else(|| "—".into()),
                user_agent: r.user_agent.clone().unwrap_or_else(|| "—".into()),
                target: match (&r.target_label, &r.target_email) {
                    (Some(l), Some(e)) if l != e => format!("{l} <{e}>"),
                    (Some(l), _) => l.clone(),
                    (None, Some(e)) => e.clone(),
                    (None, None) => "—".into(),
                },
                details,
                hash: r.hash[..16].to_owned(),
            }
        })
        .collect()
}

pub struct Summary {
    pub name: String,
    pub slug: String,
    pub plan: String,
    pub owner: String,
    pub members: String,
    pub seats: String,
    pub allowance: String,
}

pub fn summary_view(s: &WorkspaceSummary) -> Summary {
    Summary {
        name: s.workspace.name.clone(),
        slug: s.workspace.slug.clone(),
        plan: s.workspace.plan().label().to_owned(),
        owner: s.owner_email.clone(),
        members: crate::domain::format_count(s.members),
        seats: s.seats.summary(),
        allowance: format!("{}% of this month's allowance used", s.allowance_percent),
    }
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    chrome: Chrome,
    /// Where this log lives: `/w/{ws}/settings/users/logs` or `/support/workspaces/{ws}/logs`.
    base: String,
    workspace: String,
    slug: String,
    support: Option<Summary>,
    entries: Vec<Entry>,
    actions: Vec<&'static str>,
    params: LogParams,
    filters: String,
    next: Option<i64>,
    paged: bool,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    chrome: Chrome,
    base: String,
    ws: &Workspace,
    support: Option<Summary>,
    params: LogParams,
) -> AppResult<HttpResponse> {
    let (query, error) = match params.query() {
        Ok(q) => (q, None),
        Err(e) => (LogQuery::default(), Some(e)),
    };
    let (ws_id, before) = (ws.id, params.before);
    let (rows, more) = run(state, move |conn| Ok(audit_log::page(conn, ws_id, &query, before, PAGE_SIZE)?)).await?;
    let next = if more { rows.last().map(|r| r.id) } else { None };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = LogsPage {
        chrome,
        base,
        workspace: ws.name.clone(),
        slug: ws.slug.clone(),
        support,
        entries: entries(&rows),
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        filters: params.filters(),
        paged: params.before.is_some(),
        params,
        next,
        error,
    };
    Ok(html(status, page.render()?))
}

pub async fn page(
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    q: web::Query<LogParams>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let chrome = Chrome::workspace(&session, &ctx, format!("Logs · {}", ctx.ws.name), "users");
    render(&state, chrome, format!("/w/{}/settings/users/logs", ctx.ws.slug), &ctx.ws, None, q.into_inner()).await
}

/// Streams the filtered log as CSV in pages of 500 rows, so memory stays flat however long it is.
fn csv_stream(
    state: web::Data<AppState>,
    ws_id: i64,
    query: LogQuery,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    enum Cursor {
        Header,
        Before(Option<i64>),
        Done,
    }
    futures_util::stream::unfold(Cursor::Header, move |cursor| {
        let state = state.clone();
        let query = query.clone();
        async move {
            let before = match cursor {
                Cursor::Done => return None,
                Cursor::Header => {
                    let header = csv::line([
                        "id",
                        "time_utc",
                        "action",
                        "summary",
                        "actor_name",
                        "actor_email",
                        "actor_kind",
                        "ip",
                        "user_agent",
                        "target_type",
                        "target",
                        "target_email",
                        "details",
                        "hash",
                    ]);
                    return Some((Ok(Bytes::from(header)), Cursor::Before(None)));
                }
                Cursor::Before(b) => b,
            };
            let page = run(&state, move |conn| Ok(audit_log::page(conn, ws_id, &query, before, 500)?)).await;
            let (rows, more) = match page {
                Ok(p) => p,
                Err(e) => return Some((Err(actix_web::error::ErrorInternalServerError(e.to_string())), Cursor::Done)),
            };
            let texts = log_items(&rows, crate::domain::now());
            let mut chunk = String::new();
            for (r, t) in rows.iter().zip(texts) {
                let id = r.id.to_string();
                let time = r.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
                chunk.push_str(&csv::line([
                    id.as_str(),
                    time.as_str(),
                    r.action.as_str(),
                    t.text.as_str(),
                    r.actor_name.as_str(),
                    r.actor_email.as_str(),
                    r.actor_kind.as_str(),
                    r.ip.as_deref().unwrap_or(""),
                    r.user_agent.as_deref().unwrap_or(""),
                    r.target_type.as_deref().unwrap_or(""),
                    r.target_label.as_deref().unwrap_or(""),
                    r.target_email.as_deref().unwrap_or(""),
                    r.details.as_str(),
                    r.hash.as_str(),
                ]));
            }
            let next = if more { Cursor::Before(rows.last().map(|r| r.id)) } else { Cursor::Done };
            Some((Ok(Bytes::from(chunk)), next))
        }
    })
}

fn csv_response(state: web::Data<AppState>, ws: &Workspace, params: &LogParams) -> AppResult<HttpResponse> {
    let query = params.query().map_err(AppError::bad_request)?;
    let filename = format!("roster-log-{}-{}.csv", ws.slug, crate::domain::now().format("%Y%m%d"));
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .streaming(csv_stream(state, ws.id, query)))
}

pub async fn csv(state: web::Data<AppState>, ctx: WsCtx, q: web::Query<LogParams>) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    csv_response(state, &ctx.ws, &q)
}

// ----- support console -----

fn staff_only(viewer: &Viewer) -> AppResult<()> {
    if viewer.user.is_staff {
        Ok(())
    } else {
        Err(AppError::not_found("There is nothing at this address. Check the link, or go to your workspace."))
    }
}

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    chrome: Chrome,
    q: String,
    results: Vec<Summary>,
    searched: bool,
}

pub async fn support(
    session: Session,
    state: web::Data<AppState>,
    viewer: Viewer,
    params: web::Query<SearchParams>,
) -> AppResult<HttpResponse> {
    staff_only(&viewer)?;
    let q = params.into_inner().q;
    let needle = q.clone();
    let results = run(&state, move |conn| Ok(audit_log::search_workspaces(conn, &needle)?)).await?;
    let page = SupportPage {
        chrome: Chrome::account(&session, &viewer, "Support console", "support"),
        searched: !q.trim().is_empty(),
        q,
        results: results.iter().map(summary_view).collect(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

async fn support_workspace(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    slug: String,
    what: &'static str,
) -> AppResult<WorkspaceSummary> {
    staff_only(viewer)?;
    let staff = actor(req, &viewer.user);
    run(state, move |conn| {
        let ws = Workspace::find_by_slug(conn, &slug)?
            .ok_or_else(|| AppError::not_found("No workspace at this address."))?;
        audit_log::record_support_view(conn, ws.id, &staff, what)?;
        Ok(audit_log::summary(conn, ws)?)
    })
    .await
}

pub async fn support_logs(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    q: web::Query<LogParams>,
) -> AppResult<HttpResponse> {
    let summary = support_workspace(&state, &req, &viewer, path.into_inner(), "logs").await?;
    let chrome = Chrome::account(&session, &viewer, format!("Logs · {} · Support", summary.workspace.name), "support");
    let base = format!("/support/workspaces/{}/logs", summary.workspace.slug);
    let ws = summary.workspace.clone();
    render(&state, chrome, base, &ws, Some(summary_view(&summary)), q.into_inner()).await
}

pub async fn support_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    q: web::Query<LogParams>,
) -> AppResult<HttpResponse> {
    let summary = support_workspace(&state, &req, &viewer, path.into_inner(), "logs.csv").await?;
    csv_response(state, &summary.workspace, &q)
}
