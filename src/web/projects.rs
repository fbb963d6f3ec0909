//! My Projects: the list, one project's page, and who may view or edit it. Forms post and
//! redirect; with htmx the same forms swap only the affected section (`hx-select`), so the server
//! answers both the same way.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{AppError, AppResult};
use super::extract::{WsCtx, actor, run};
use super::layout::Chrome;
use super::state::AppState;
use super::{html, see_other, session};
use crate::db::membership::Membership;
use crate::domain::format_count;
use crate::domain::role::{Access, Role};
use crate::services::ServiceError;
use crate::services::projects::{self, AccessChange, ProjectView};

pub struct ProjectItem {
    pub id: i64,
    pub name: String,
    pub access: &'static str,
    pub members: Vec<(i64, String, String, &'static str)>,
    pub messages: String,
    pub tokens: String,
}

fn item(p: ProjectView) -> ProjectItem {
    ProjectItem {
        id: p.project.id,
        name: p.project.name,
        access: p.access.as_str(),
        members: p.members.into_iter().map(|(id, n, e, a)| (id, n, e, a.as_str())).collect(),
        messages: format_count(p.usage.messages),
        tokens: format_count(p.usage.tokens),
    }
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    slug: String,
    can_manage: bool,
    projects: Vec<ProjectItem>,
    error: Option<String>,
    name: String,
}

async fn render_list(
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    error: Option<String>,
    name: String,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let (ws_id, viewer) = (ctx.ws.id, ctx.membership.clone());
    let list = run(state, move |conn| Ok(projects::list(conn, ws_id, &viewer)?)).await?;
    let page = ProjectsPage {
        chrome: Chrome::workspace(session, ctx, format!("My Projects · {}", ctx.ws.name), "projects"),
        slug: ctx.ws.slug.clone(),
        can_manage: ctx.role().can_manage_members(),
        projects: list.into_iter().map(item).collect(),
        error,
        name,
    };
    Ok(html(status, page.render()?))
}

pub async fn list(session: Session, state: web::Data<AppState>, ctx: WsCtx) -> AppResult<HttpResponse> {
    render_list(&session, &state, &ctx, None, String::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: web::Form<NameForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let name = form.into_inner().name;
    let actor = actor(&req, ctx.user());
    let (ws_id, role, n) = (ctx.ws.id, ctx.role(), name.clone());
    match run(&state, move |conn| Ok(projects::create(conn, ws_id, &n, &actor, role))).await? {
        Ok(p) => {
            session::set_flash(
                &session,
                "success",
                format!("Created the project {}. Add the people who should work in it.", p.name),
            );
            Ok(see_other(&format!("/w/{}/projects/{}", ctx.ws.slug, p.id)))
        }
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            render_list(&session, &state, &ctx, Some(m), name, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    chrome: Chrome,
    slug: String,
    can_manage: bool,
    project: ProjectItem,
    /// Active members (role member) without access yet: (membership id, "Name (email)").
    addable: Vec<(i64, String)>,
    error: Option<String>,
}

async fn render_project(
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let (ws_id, viewer) = (ctx.ws.id, ctx.membership.clone());
    let (view, people) = run(state, move |conn| {
        let view = projects::get(conn, ws_id, id, &viewer)?;
        let people = Membership::list_with_users(conn, ws_id)?;
        Ok((view, people))
    })
    .await?;
    let mut addable: Vec<(i64, String)> = people
        .into_iter()
        .filter(|m| m.membership.role() == Role::Member && !view.members.iter().any(|(id, ..)| *id == m.membership.id))
        .map(|m| (m.membership.id, format!("{} ({})", m.name, m.email)))
        .collect();
    addable.sort_by_key(|(_, label)| label.to_lowercase());
    let page = ProjectPage {
        chrome: Chrome::workspace(session, ctx, format!("{} · {}", view.project.name, ctx.ws.name), "projects"),
        slug: ctx.ws.slug.clone(),
        can_manage: ctx.role().can_manage_members(),
        project: item(view),
        addable,
        error,
    };
    Ok(html(status, page.render()?))
}

pub async fn show(
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    render_project(&session, &state, &ctx, path.into_inner().1, None, StatusCode::OK).await
}

fn project_url(ctx: &WsCtx, id: i64) -> String {
    format!("/w/{}/projects/{id}", ctx.ws.slug)
}

pub async fn rename(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<NameForm>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner().1;
    let name = form.into_inner().name;
    let actor = actor(&req, ctx.user());
    let (ws_id, viewer) = (ctx.ws.id, ctx.membership.clone());
    match run(&state, move |conn| Ok(projects::rename(conn, ws_id, id, &name, &actor, &viewer))).await? {
        Ok(p) => {
            session::set_flash(&session, "success", format!("The project is now called {}.", p.name));
            Ok(see_other(&project_url(&ctx, id)))
        }
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            render_project(&session, &state, &ctx, id, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm_name: String,
}

pub async fn delete(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<DeleteForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let id = path.into_inner().1;
    let confirm = form.into_inner().confirm_name;
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    match run(&state, move |conn| Ok(projects::delete(conn, ws_id, id, &confirm, &actor, role))).await? {
        Ok(p) => {
            session::set_flash(
                &session,
                "success",
                format!("Deleted the project {}. Everyone's access to it ended.", p.name),
            );
            Ok(see_other(&format!("/w/{}/projects", ctx.ws.slug)))
        }
        Err(ServiceError::Invalid(m)) => {
            render_project(&session, &state, &ctx, id, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    membership_id: String,
    #[serde(default)]
    access: String,
}

fn parse_access(raw: &str) -> AppResult<Option<Access>> {
    match raw {
        "none" | "remove" => Ok(None),
        other => Access::parse(other)
            .map(Some)
            .ok_or_else(|| AppError::bad_request(format!("'{other}' is not an access level; choose view or edit."))),
    }
}

fn change_sentence(name: &str, project: &str, change: &AccessChange) -> String {
    match change {
        AccessChange::Granted(a) => format!("{name} can now {} {project}.", a.as_str()),
        AccessChange::Changed { to, .. } => format!("{name} now has {} access to {project}.", to.as_str()),
        AccessChange::Removed(_) => format!("{name} no longer has access to {project}."),
        AccessChange::Unchanged => format!("Nothing changed for {name} in {project}."),
    }
}

async fn apply(
    req: &HttpRequest,
    session: &Session,
    state: &AppState,
    ctx: &WsCtx,
    project: i64,
    member: i64,
    to: Option<Access>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let actor = actor(req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    match run(state, move |conn| Ok(projects::set_access(conn, ws_id, project, member, to, &actor, role))).await? {
        Ok((name, project_name, change)) => {
            session::set_flash(session, "success", change_sentence(&name, &project_name, &change));
            Ok(see_other(&format!("{}#project-members", project_url(ctx, project))))
        }
        Err(ServiceError::Invalid(m)) => {
            render_project(session, state, ctx, project, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST …/projects/{id}/members`: add someone with view or edit access.
pub async fn add_member(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<AccessForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let project = path.into_inner().1;
    let member: i64 = form.membership_id.parse().map_err(|_| {
        AppError::page(StatusCode::UNPROCESSABLE_ENTITY, "Choose a member", "Choose who should get access.")
    })?;
    let to = parse_access(&form.access)?;
    apply(&req, &session, &state, &ctx, project, member, to).await
}

/// `POST …/projects/{id}/members/{membership}`: change (`view`, `edit`) or remove (`none`).
pub async fn set_member(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64, i64)>,
    form: web::Form<AccessForm>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let (_, project, member) = path.into_inner();
    let to = parse_access(&form.access)?;
    apply(&req, &session, &state, &ctx, project, member, to).await
}

/// `POST /w/{ws}/settings/users/members/{id}/projects`: the "Manage projects" control of a row on
/// My Users; fields `project_{id}` = `none`, `view` or `edit`.
pub async fn member_projects(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    ctx: WsCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    ctx.require_manager()?;
    let member = path.into_inner().1;
    let mut choices = Vec::new();
    for (k, v) in form.into_inner() {
        let Some(id) = k.strip_prefix("project_") else { continue };
        let id: i64 =
            id.parse().map_err(|_| AppError::bad_request("A project in the form is not valid; reload the page."))?;
        choices.push((id, parse_access(&v)?));
    }
    let actor = actor(&req, ctx.user());
    let (ws_id, role) = (ctx.ws.id, ctx.role());
    let (name, changed) =
        run(&state, move |conn| Ok(projects::set_member_projects(conn, ws_id, member, &choices, &actor, role)?))
            .await?;
    let text = match changed {
        0 => format!("Nothing changed for {name}."),
        1 => format!("Updated 1 project for {name}."),
        n => format!("Updated {n} projects for {name}."),
    };
    session::set_flash(&session, "success", text);
    Ok(see_other(&format!("/w/{}/settings/users#member-{member}", ctx.ws.slug)))
}
