//! Projects (the workspace's chatbots and agents) and who may view or edit each. Owner and admins
//! see and edit every project and manage access; a member sees only the projects assigned to
//! them, and may rename one only with edit access. Every change locks the workspace and writes its
//! audit row in the same transaction.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::audit::{self, Actor, Entry};
use crate::db::membership::{MemberRow, Membership};
use crate::db::project::Project;
use crate::db::schema::{project_members, projects, usage_monthly};
use crate::db::usage::{Totals, month_of};
use crate::db::{DbConnection, lock_workspace};
use crate::domain::audit::Action;
use crate::domain::role::{Access, Role};

/// (membership id, name, email, access) of someone with access to a project.
pub type ProjectMember = (i64, String, String, Access);

/// A project as a list or page shows it.
pub struct ProjectView {
    pub project: Project,
    /// The viewer's access: `Edit` for owner and admins.
    pub access: Access,
    /// (membership id, name, email, access), by name. Owner and admins are not listed: they
    /// always have edit access.
    pub members: Vec<ProjectMember>,
    pub usage: Totals,
}

pub fn check_name(name: &str) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::Invalid("Enter a name for the project.".into()));
    }
    if name.chars().count() > 100 {
        return Err(ServiceError::Invalid("Project names are at most 100 characters.".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid("The project name contains a control character.".into()));
    }
    Ok(name.to_owned())
}

/// The viewer's access to a project: always edit for owner and admins, else their assignment.
fn access_of(conn: &mut DbConnection, project_id: i64, viewer: &Membership) -> ServiceResult<Option<Access>> {
    if viewer.role().can_manage_members() {
        return Ok(Some(Access::Edit));
    }
    let a: Option<String> = project_members::table
        .filter(project_members::project_id.eq(project_id))
        .filter(project_members::membership_id.eq(viewer.id))
        .select(project_members::access)
        .first(conn)
        .optional()?;
    Ok(a.and_then(|a| Access::parse(&a)))
}

fn find(conn: &mut DbConnection, ws_id: i64, project_id: i64) -> ServiceResult<Project> {
    projects::table
        .filter(projects::workspace_id.eq(ws_id))
        .filter(projects::id.eq(project_id))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ServiceError::NotFound("There is no such project in this workspace. It may have been deleted.".into())
        })
}

fn usage_by_project(conn: &mut DbConnection, ws_id: i64) -> ServiceResult<HashMap<i64, Totals>> {
    let month = month_of(crate::domain::now());
    let rows: Vec<(Option<i64>, i64, i64, i64, i64)> = usage_monthly::table
        .filter(usage_monthly::workspace_id.eq(ws_id))
        .filter(usage_monthly::month.eq(month))
        .filter(usage_monthly::project_id.is_not_null())
        .select((
            usage_monthly::project_id,
            usage_monthly::messages,
            usage_monthly::tokens,
            usage_monthly::agent_runs,
            usage_monthly::automations,
        ))
        .load(conn)?;
    let mut out: HashMap<i64, Totals> = HashMap::new();
    for (p, messages, tokens, agent_runs, automations) in rows {
        let Some(p) = p else { continue };
        *out.entry(p).or_default() += Totals { messages, tokens, agent_runs, automations };
    }
    Ok(out)
}

fn members_by_project(conn: &mut DbConnection, ws_id: i64) -> ServiceResult<HashMap<i64, Vec<ProjectMember>>> {
    let people: HashMap<i64, MemberRow> =
        Membership::list_with_users(conn, ws_id)?.into_iter().map(|m| (m.membership.id, m)).collect();
    let rows: Vec<(i64, i64, String)> = project_members::table
        .inner_join(projects::table)
        .filter(projects::workspace_id.eq(ws_id))
        .select((project_members::project_id, project_members::membership_id, project_members::access))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<ProjectMember>> = HashMap::new();
    for (project, membership, access) in rows {
        if let (Some(m), Some(a)) = (people.get(&membership), Access::parse(&access)) {
            out.entry(project).or_default().push((membership, m.name.clone(), m.email.clone(), a));
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|(_, name, _, _)| name.to_lowercase());
    }
    Ok(out)
}

/// The projects the viewer may see, by name.
pub fn list(conn: &mut DbConnection, ws_id: i64, viewer: &Membership) -> ServiceResult<Vec<ProjectView>> {
    let mut members = members_by_project(conn, ws_id)?;
    let usage = usage_by_project(conn, ws_id)?;
    let mut out = Vec::new();
    for project in Project::list(conn, ws_id)? {
        let list = members.remove(&project.id).unwrap_or_default();
        let access = if viewer.role().can_manage_members() {
            Some(Access::Edit)
        } else {
            list.iter().find(|(m, ..)| *m == viewer.id).map(|(.., a)| *a)
        };
        let Some(access) = access else { continue };
        out.push(ProjectView {
            usage: usage.get(&project.id).copied().unwrap_or_default(),
            access,
            members: list,
            project,
        });
    }
    Ok(out)
}

/// One project, if the viewer may see it; a 403 naming it otherwise.
pub fn get(conn: &mut DbConnection, ws_id: i64, project_id: i64, viewer: &Membership) -> ServiceResult<ProjectView> {
    let project = find(conn, ws_id, project_id)?;
    let Some(access) = access_of(conn, project.id, viewer)? else {
        return Err(ServiceError::Forbidden(format!(
            "You aren't assigned to the project {}. Ask the owner or an admin to add you to it.",
            project.name
        )));
    };
    let members = members_by_project(conn, ws_id)?.remove(&project.id).unwrap_or_default();
    let usage = usage_by_project(conn, ws_id)?.get(&project.id).copied().unwrap_or_default();
    Ok(ProjectView { project, access, members, usage })
}

fn require_manager(role: Role, what: &str) -> ServiceResult<()> {
    if role.can_manage_members() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!("Only the owner and admins can {what}.")))
    }
}

fn name_taken(conn: &mut DbConnection, ws_id: i64, name: &str, except: Option<i64>) -> ServiceResult<bool> {
    let ids: Vec<i64> = projects::table
        .filter(projects::workspace_id.eq(ws_id))
        .filter(projects::name.eq(name))
        .select(projects::id)
        .load(conn)?;
    Ok(ids.into_iter().any(|id| Some(id) != except))
}

pub fn create(conn: &mut DbConnection, ws_id: i64, name: &str, actor: &Actor, role: Role) -> ServiceResult<Project> {
    require_manager(role, "create projects")?;
    let name = check_name(name)?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        if name_taken(conn, ws_id, &name, None)? {
            return Err(ServiceError::Conflict(format!("A project named {name} already exists; choose another name.")));
        }
        diesel::insert_into(projects::table)
            .values((
                projects::workspace_id.eq(ws_id),
                projects::name.eq(&name),
                projects::created_at.eq(crate::domain::now()),
            ))
            .execute(conn)?;
        let project: Project =
            projects::table.filter(projects::workspace_id.eq(ws_id)).filter(projects::name.eq(&name)).first(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::ProjectCreated,
                actor,
                target_type: Some("project"),
                target_id: Some(project.id),
                target_label: Some(&project.name),
                target_email: None,
                details: serde_json::json!({}),
            },
        )?;
        Ok(project)
    })
}

/// Renames a project: owner, admins, and members with edit access.
pub fn rename(
    conn: &mut DbConnection,
    ws_id: i64,
    project_id: i64,
    name: &str,
    actor: &Actor,
    viewer: &Membership,
) -> ServiceResult<Project> {
    let name = check_name(name)?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let project = find(conn, ws_id, project_id)?;
        match access_of(conn, project.id, viewer)? {
            Some(Access::Edit) => {}
            Some(Access::View) => {
                return Err(ServiceError::Forbidden(format!(
                    "You have view access to {}; renaming needs edit access.",
                    project.name
                )));
            }
            None => {
                return Err(ServiceError::Forbidden(format!("You aren't assigned to the project {}.", project.name)));
            }
        }
        if project.name == name {
            return Ok(project);
        }
        if name_taken(conn, ws_id, &name, Some(project.id))? {
            return Err(ServiceError::Conflict(format!("A project named {name} already exists; choose another name.")));
        }
        diesel::update(projects::table.find(project.id)).set(projects::name.eq(&name)).execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::ProjectRenamed,
                actor,
                target_type: Some("project"),
                target_id: Some(project.id),
                target_label: Some(&name),
                target_email: None,
                details: serde_json::json!({ "from": project.name, "to": name }),
            },
        )?;
        Ok(Project { name, ..project })
    })
}

/// Deletes a project after the name is typed to confirm. Owner and admins only.
pub fn delete(
    conn: &mut DbConnection,
    ws_id: i64,
    project_id: i64,
    confirm_name: &str,
    actor: &Actor,
    role: Role,
) -> ServiceResult<Project> {
    require_manager(role, "delete projects")?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let project = find(conn, ws_id, project_id)?;
        if confirm_name.trim() != project.name {
            return Err(ServiceError::Invalid(format!(
                "Type the project's name, {}, exactly to confirm. Nothing was deleted.",
                project.name
            )));
        }
        let members: i64 =
            project_members::table.filter(project_members::project_id.eq(project.id)).count().get_result(conn)?;
        diesel::delete(project_members::table.filter(project_members::project_id.eq(project.id))).execute(conn)?;
        diesel::delete(projects::table.find(project.id)).execute(conn)?;
        audit::record(
            conn,
            &Entry {
                workspace_id: Some(ws_id),
                action: Action::ProjectDeleted,
                actor,
                target_type: Some("project"),
                target_id: Some(project.id),
                target_label: Some(&project.name),
                target_email: None,
                details: serde_json::json!({ "members_with_access": members }),
            },
        )?;
        Ok(project)
    })
}

/// What `set_access` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    Granted(Access),
    Changed { from: Access, to: Access },
    Removed(Access),
    Unchanged,
}

/// Gives, changes or removes (`None`) a member's access to a project. Runs inside the caller's
/// locked transaction.
fn apply_access(
    conn: &mut DbConnection,
    ws_id: i64,
    project: &Project,
    member: &MemberRow,
    to: Option<Access>,
    actor: &Actor,
) -> ServiceResult<AccessChange> {
    let current: Option<Access> = project_members::table
        .filter(project_members::project_id.eq(project.id))
        .filter(project_members::membership_id.eq(member.membership.id))
        .select(project_members::access)
        .first::<String>(conn)
        .optional()?
        .and_then(|a| Access::parse(&a));
    let row = project_members::table
        .filter(project_members::project_id.eq(project.id))
        .filter(project_members::membership_id.eq(member.membership.id));
    let (change, action) = match (current, to) {
        (None, None) => return Ok(AccessChange::Unchanged),
        (Some(a), Some(b)) if a == b => return Ok(AccessChange::Unchanged),
        (None, Some(a)) => {
            diesel::insert_into(project_members::table)
                .values((
                    project_members::project_id.eq(project.id),
                    project_members::membership_id.eq(member.membership.id),
                    project_members::access.eq(a.as_str()),
                    project_members::created_at.eq(crate::domain::now()),
                ))
                .execute(conn)?;
            (AccessChange::Granted(a), Action::ProjectAccessGranted)
        }
        (Some(from), Some(to)) => {
            diesel::update(row).set(project_members::access.eq(to.as_str())).execute(conn)?;
            (AccessChange::Changed { from, to }, Action::ProjectAccessChanged)
        }
        (Some(from), None) => {
            diesel::delete(row).execute(conn)?;
            (AccessChange::Removed(from), Action::ProjectAccessRemoved)
        }
    };
    let details = match &change {
        AccessChange::Granted(a) => {
            serde_json::json!({ "project": project.name, "project_id": project.id, "access": a.as_str() })
        }
        AccessChange::Changed { from, to } => {
            serde_json::json!({ "project": project.name, "project_id": project.id, "from": from.as_str(), "to": to.as_str() })
        }
        AccessChange::Removed(a) => {
            serde_json::json!({ "project": project.name, "project_id": project.id, "access": a.as_str() })
        }
        AccessChange::Unchanged => serde_json::json!({}),
    };
    audit::record(
        conn,
        &Entry {
            workspace_id: Some(ws_id),
            action,
            actor,
            target_type: Some("member"),
            target_id: Some(member.membership.id),
            target_label: Some(&member.name),
            target_email: Some(&member.email),
            details,
        },
    )?;
    Ok(change)
}

/// Gives, changes or removes one member's access to one project (owner and admins).
pub fn set_access(
    conn: &mut DbConnection,
    ws_id: i64,
    project_id: i64,
    membership_id: i64,
    to: Option<Access>,
    actor: &Actor,
    role: Role,
) -> ServiceResult<(String, String, AccessChange)> {
    require_manager(role, "change who can use a project")?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let project = find(conn, ws_id, project_id)?;
        let m = super::members::member_by_id(conn, ws_id, membership_id)?;
        if m.membership.role().can_manage_members() {
            return Err(ServiceError::Invalid(format!(
                "{} is {} and always has edit access to every project.",
                m.name,
                if m.membership.role() == Role::Owner { "the owner" } else { "an admin" }
            )));
        }
        let change = apply_access(conn, ws_id, &project, &m, to, actor)?;
        Ok((m.name, project.name, change))
    })
}

/// Sets all of one member's project access at once (the "Manage projects" control on My Users):
/// `choices` maps project id to access (`None`: no access). Projects not named are left alone.
pub fn set_member_projects(
    conn: &mut DbConnection,
    ws_id: i64,
    membership_id: i64,
    choices: &[(i64, Option<Access>)],
    actor: &Actor,
    role: Role,
) -> ServiceResult<(String, usize)> {
    require_manager(role, "change who can use a project")?;
    conn.transaction(|conn| {
        lock_workspace(conn, ws_id)?;
        let m = super::members::member_by_id(conn, ws_id, membership_id)?;
        if m.membership.role().can_manage_members() {
            return Err(ServiceError::Invalid(format!("{} always has edit access to every project.", m.name)));
        }
        let mut changed = 0;
        for (project_id, to) in choices {
            let project = find(conn, ws_id, *project_id)?;
            if apply_access(conn, ws_id, &project, &m, *to, actor)? != AccessChange::Unchanged {
                changed += 1;
            }
        }
        Ok((m.name, changed))
    })
}

/// Active members (role member) with no project yet, for the banner on My Users.
pub fn members_without_projects(conn: &mut DbConnection, ws_id: i64) -> ServiceResult<Vec<String>> {
    let assigned: std::collections::HashSet<i64> = project_members::table
        .inner_join(projects::table)
        .filter(projects::workspace_id.eq(ws_id))
        .select(project_members::membership_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    Ok(Membership::list_with_users(conn, ws_id)?
        .into_iter()
        .filter(|m| m.membership.role() == Role::Member && !assigned.contains(&m.membership.id))
        .map(|m| m.name)
        .collect())
}
