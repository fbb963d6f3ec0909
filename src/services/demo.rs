//! `roster demo`: a workspace with members, projects and two months of realistic usage, so the
//! pages can be seen without a chatbot platform. Usage goes through the same ingestion as the API.

use chrono::{Datelike, Duration, NaiveDate};
use diesel::Connection;

use super::{ServiceResult, accounts, members, projects, usage, workspaces};
use crate::db::audit::Actor;
use crate::db::user::User;
use crate::db::workspace::Workspace;
use crate::db::{DbConnection, lock_workspace};
use crate::domain::email::Email;
use crate::domain::plan::Plan;
use crate::domain::role::{Access, Role};

const PEOPLE: [(&str, &str, Role); 5] = [
    ("Ana García", "ana", Role::Admin),
    ("Ben Okafor", "ben", Role::Member),
    ("Chloé Martin", "chloe", Role::Member),
    ("Dev Patel", "dev", Role::Member),
    ("Emma Schmidt", "emma", Role::Member),
];
const PROJECTS: [&str; 3] = ["Support Bot", "Sales Agent", "Onboarding Flow"];

/// A small deterministic generator, so every demo looks alike.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: i64) -> i64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below.max(1) as u64) as i64
    }
}

pub struct Demo {
    pub workspace: Workspace,
    pub owner: User,
    pub events: usize,
}

/// Creates the demo workspace owned by `email`; members get `@<domain of email>` addresses and
/// the same password.
pub fn create(conn: &mut DbConnection, email: &Email, password: &str) -> ServiceResult<Demo> {
    let domain = email.as_str().split('@').nth(1).unwrap_or("example.com").to_owned();
    let (owner, ws, memberships) = conn.transaction(|conn| {
        crate::db::begin_writing(conn)?;
        let owner = accounts::create_account(conn, email, "Olivia Owner", password, false)?;
        let actor = Actor {
            user_id: Some(owner.id),
            name: owner.name.clone(),
            email: owner.email.clone(),
            kind: "user",
            ip: None,
            user_agent: None,
        };
        let ws = workspaces::create_with_owner(conn, &owner, "Demo Bots", Plan::Business, &actor)?;
        lock_workspace(conn, ws.id)?;
        let mut ids = Vec::new();
        for (name, local, role) in PEOPLE {
            let address =
                Email::parse(&format!("{local}@{domain}")).map_err(|e| super::ServiceError::Invalid(e.to_string()))?;
            let user = match User::find_by_email(conn, address.as_str())? {
                Some(u) => u,
                None => accounts::create_account(conn, &address, name, password, false)?,
            };
            let m = members::add_member(
                conn,
                &ws,
                &user,
                role,
                &actor,
                serde_json::json!({ "role": role.as_str(), "via": "demo" }),
            )?;
            ids.push((m.id, user.id, role));
        }
        Ok::<_, super::ServiceError>((owner, ws, ids))
    })?;
    let actor = Actor {
        user_id: Some(owner.id),
        name: owner.name.clone(),
        email: owner.email.clone(),
        kind: "user",
        ip: None,
        user_agent: None,
    };
    let mut project_ids = Vec::new();
    for name in PROJECTS {
        project_ids.push(projects::create(conn, ws.id, name, &actor, Role::Owner)?.id);
    }
    // Ben and Chloé on Support, Dev on Sales, Emma on nothing yet (the banner shows her).
    for (i, p, access) in
        [(1usize, 0usize, Access::Edit), (2, 0, Access::View), (3, 1, Access::Edit), (2, 2, Access::Edit)]
    {
        projects::set_access(conn, ws.id, project_ids[p], memberships[i].0, Some(access), &actor, Role::Owner)?;
    }
    let now = crate::domain::now();
    let this_month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default();
    let start = crate::db::usage::month_of(this_month.and_hms_opt(0, 0, 0).unwrap_or_default() - Duration::days(1));
    let mut rng = Lcg(42);
    let mut events = 0;
    let mut day = start;
    while day <= now.date() {
        let mut batch = Vec::new();
        let weekday = day.weekday().number_from_monday();
        let busy = if weekday >= 6 { 1 } else { 3 };
        for (n, (_, user_id, _)) in memberships.iter().enumerate() {
            let heavy = if n == 1 { 3 } else { 1 };
            for k in 0..(busy * heavy + rng.next(3)) {
                let project = match n {
                    1 | 2 => Some(project_ids[0]),
                    3 => Some(project_ids[1]),
                    _ => None,
                };
                let kind = match rng.next(10) {
                    0 => usage::Kind::AgentRun,
                    1 => usage::Kind::Automation,
                    _ => usage::Kind::Message,
                };
                let messages = 5 + rng.next(25);
                let time = day.and_hms_opt(8 + rng.next(10) as u32, rng.next(60) as u32, 0).unwrap_or_default();
                if time > now {
                    continue;
                }
                batch.push(usage::EventInput {
                    member: usage::MemberRef::Id(*user_id),
                    project: project.map(usage::ProjectRef::Id),
                    kind,
                    messages,
                    tokens: messages * (250 + rng.next(400)),
                    time,
                    idempotency_key: format!("demo-{day}-{n}-{k}"),
                });
            }
        }
        events += batch.len();
        usage::ingest(conn, ws.id, None, &batch)?;
        day += Duration::days(1);
    }
    Ok(Demo { workspace: ws, owner, events })
}
