//! Projects (the workspace's chatbots and agents) and who may view or edit each.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{project_members, projects};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
}

impl Project {
    pub fn list(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<Vec<Project>> {
        projects::table.filter(projects::workspace_id.eq(workspace_id)).order(projects::name.asc()).load(conn)
    }

    /// (membership id, project name, access) for every assignment in the workspace, by name.
    pub fn assignments(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<Vec<(i64, String, String)>> {
        project_members::table
            .inner_join(projects::table)
            .filter(projects::workspace_id.eq(workspace_id))
            .order(projects::name.asc())
            .select((project_members::membership_id, projects::name, project_members::access))
            .load(conn)
    }
}
