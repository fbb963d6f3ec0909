//! Workspaces: the unit that owns a plan, seats, members, projects and an audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{memberships, workspaces};
use crate::domain::plan::Plan;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub lock_version: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspaces)]
pub struct NewWorkspace<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub lock_version: i64,
    pub created_at: NaiveDateTime,
}

impl Workspace {
    /// The plan; a value the CHECK constraint let through always parses.
    pub fn plan(&self) -> Plan {
        Plan::parse(&self.plan).unwrap_or(Plan::Free)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Workspace>> {
        workspaces::table.find(id).first(conn).optional()
    }

    pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Workspace>> {
        workspaces::table.filter(workspaces::slug.eq(slug)).first(conn).optional()
    }

    pub fn insert(conn: &mut DbConnection, new: &NewWorkspace<'_>) -> QueryResult<Workspace> {
        diesel::insert_into(workspaces::table).values(new).execute(conn)?;
        workspaces::table.filter(workspaces::slug.eq(new.slug)).first(conn)
    }

    /// A slug derived from `base` that no workspace has yet ("acme", "acme-2", …).
    pub fn free_slug(conn: &mut DbConnection, base: &str) -> QueryResult<String> {
        let taken: Vec<String> = workspaces::table
            .filter(workspaces::slug.eq(base).or(workspaces::slug.like(format!("{base}-%"))))
            .select(workspaces::slug)
            .load(conn)?;
        if !taken.iter().any(|s| s == base) {
            return Ok(base.to_owned());
        }
        let mut n = 2;
        loop {
            let candidate = format!("{base}-{n}");
            if !taken.contains(&candidate) {
                return Ok(candidate);
            }
            n += 1;
        }
    }

    pub fn set_plan(conn: &mut DbConnection, id: i64, plan: Plan) -> QueryResult<usize> {
        diesel::update(workspaces::table.find(id)).set(workspaces::plan.eq(plan.as_str())).execute(conn)
    }

    /// The workspaces an account belongs to, by name, for the switcher.
    pub fn for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<Workspace>> {
        workspaces::table
            .inner_join(memberships::table)
            .filter(memberships::user_id.eq(user_id))
            .select(workspaces::all_columns)
            .order(workspaces::name.asc())
            .load(conn)
    }
}
