//! Settings → Usage: the month's messages and tokens against the shared allowance, a daily chart
//! (server-rendered SVG with a text alternative), who used what, per project, a forecast, and
//! per-member caps.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, see_other, session};
use crate::db::usage::month_of;
use crate::domain::format_count;
use crate::domain::role::Role;
use crate::services::usage::{self, cap_summary};

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    pub label: String,
    pub day: u32,
    pub messages: String,
    pub tokens: String,
}

pub struct MemberRow {
    pub membership_id: Option<i64>,
    pub name: String,
    pub email: String,
    pub messages: String,
    pub tokens: String,
    pub agent_runs: String,
    pub automations: String,
    pub share: String,
    pub cap: String,
    pub cap_messages: String,
    pub cap_tokens: String,
    pub cap_editable: bool,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    chrome: Chrome,
    slug: String,
    month_label: String,
    months: Vec<(String, String, bool)>,
    messages_used: String,
    messages_limit: String,
    messages_used_raw: i64,
    messages_limit_raw: i64,
    tokens_used: String,
    tokens_limit: String,
    tokens_used_raw: i64,
    tokens_limit_raw: i64,
    percent: i64,
    resets: String,
    forecast: Option<String>,
    bars: Vec<Bar>,
    chart_width: i64,
    chart_max: String,
    busiest: String,
    members: Vec<MemberRow>,
    projects: Vec<(String, String, String)>,
    error: Option<String>,
}

pub const CHART_HEIGHT: i64 = 120;
const BAR_STEP: i64 = 14;

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

fn parse_month(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

async fn render(
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    month: NaiveDate,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let ws = ctx.ws.clone();
    let now = crate::domain::now();
    let report = run(state, move |conn| Ok(usage::report(conn, &ws, month, now)?)).await?;
    let a = report.allowance;
    let max = report.daily.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let bars = report
        .daily
        .iter()
        .enumerate()
        .map(|(i, (day, m, t))| {
            let height = if *m == 0 { 0 } else { (m * CHART_HEIGHT / max).max(2) };
            Bar {
                x: i as i64 * BAR_STEP,
                y: CHART_HEIGHT - height,
                height,
                label: day.format("%b %-d").to_string(),
                day: day.day(),
                messages: format_count(*m),
                tokens: format_count(*t),
            }
        })
        .collect::<Vec<_>>();
    let busiest = report
        .daily
        .iter()
        .max_by_key(|d| d.1)
        .filter(|d| d.1 > 0)
        .map(|d| format!("The busiest day was {} with {} messages.", d.0.format("%B %-d"), format_count(d.1)))
        .unwrap_or_else(|| "No messages yet this month.".into());
    let role = ctx.role();
    let members = report
        .members
        .iter()
        .map(|m| MemberRow {
            membership_id: m.membership_id,
            name: if m.membership_id.is_some() { m.name.clone() } else { format!("{} (no longer a member)", m.name) },
            email: m.email.clone(),
            messages: format_count(m.totals.messages),
            tokens: format_count(m.totals.tokens),
            agent_runs: format_count(m.totals.agent_runs),
            automations: format_count(m.totals.automations),
            share: format!("{}.{}%", m.share_permille / 10, m.share_permille % 10),
            cap: cap_summary(m.message_cap, m.token_cap),
            cap_messages: m.message_cap.map(|c| c.to_string()).unwrap_or_default(),
            cap_tokens: m.token_cap.map(|c| c.to_string()).unwrap_or_default(),
            cap_editable: m.membership_id.is_some()
                && (role == Role::Owner || (role == Role::Admin && m.role == Some(Role::Member))),
        })
        .collect();
    let page = UsagePage {
        chrome: Chrome::workspace(session, ctx, format!("Usage · {}", ctx.ws.name), "usage"),
        slug: ctx.ws.slug.clone(),
        month_label: month.format("%B %Y").to_string(),
        months: report
            .months
            .iter()
            .map(|m| (m.format("%Y-%m").to_string(), m.format("%B %Y").to_string(), *m == month))
            .collect(),
        messages_used: format_count(a.used.messages),
        messages_limit: format_count(a.messages_limit),
        messages_used_raw: a.used.messages.min(a.messages_limit),
        messages_limit_raw: a.messages_limit,
        tokens_used: format_count(a.used.tokens),
        tokens_limit: format_count(a.tokens_limit),
        tokens_used_raw: a.used.tokens.min(a.tokens_limit),
        tokens_limit_raw: a.tokens_limit,
        percent: a.percent(),
        resets: a.resets_at().format("%B %-d, %Y").to_string(),
        forecast: report.forecast,
        chart_width: bars.len() as i64 * BAR_STEP,
        bars,
        chart_max: format_count(max),
        busiest,
        members,
        projects: report
            .projects
            .iter()
            .map(|(n, t)| (n.clone(), format_count(t.messages), format_count(t.tokens)))
            .collect(),
        error,
    };
    Ok(html(status, page.render()?))
}

pub async fn page(
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    q: web::Query<MonthQuery>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let month = match q.month.as_deref() {
        None | Some("") => month_of(crate::domain::now()),
        Some(raw) => parse_month(raw)
            .ok_or_else(|| AppError::bad_request(format!("'{raw}' is not a month; use the form 2026-12.")))?,
    };
    render(&session, &state, &ctx, month, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CapForm {
    #[serde(default)]
    messages: String,
    #[serde(default)]
    tokens: String,
}

fn parse_cap(raw: &str, what: &str) -> Result<Option<i64>, String> {
    let cleaned: String = raw.chars().filter(|c| *c != ',' && *c != '_' && !c.is_whitespace()).collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    cleaned.parse::<i64>().ok().filter(|n| *n >= 0).map(Some).ok_or_else(|| {
        format!("The {what} cap must be a whole number of 0 or more (or empty for no cap), not '{raw}'.")
    })
}

pub async fn set_cap(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<CapForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    let month = month_of(crate::domain::now());
    let (messages, tokens) = match (parse_cap(&form.messages, "message"), parse_cap(&form.tokens, "token")) {
        (Ok(m), Ok(t)) => (m, t),
        (Err(e), _) | (_, Err(e)) => {
            return render(&session, &state, &ctx, month, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    let name = run(&state, move |conn| Ok(usage::set_cap(conn, ws_id, id, messages, tokens, &actor, role)?)).await?;
    let summary = cap_summary(messages, tokens);
    let text = if messages.is_none() && tokens.is_none() {
        format!("{name} has no monthly cap now.")
    } else {
        format!("{name}'s monthly cap is now {summary}. Usage beyond it is refused; the rest of the team carries on.")
    };
    session::set_flash(&session, "success", text);
    Ok(see_other(&format!("/w/{}/settings/usage#caps", ctx.ws.slug)))
}
