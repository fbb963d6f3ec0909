//! Memberships: an account's place in a workspace, with its role.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{memberships, users};
use crate::domain::role::Role;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub id: i64,
    pub workspace_id: i64,
    pub user_id: i64,
    pub role: String,
    pub created_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
    pub monthly_message_cap: Option<i64>,
    pub monthly_token_cap: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = memberships)]
pub struct NewMembership<'a> {
    pub workspace_id: i64,
    pub user_id: i64,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
}

/// A member with their account, as the members table shows them.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub membership: Membership,
    pub name: String,
    pub email: String,
}

impl Membership {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }

    pub fn find(conn: &mut DbConnection, workspace_id: i64, user_id: i64) -> QueryResult<Option<Membership>> {
        memberships::table
            .filter(memberships::workspace_id.eq(workspace_id))
            .filter(memberships::user_id.eq(user_id))
            .first(conn)
            .optional()
    }

    pub fn insert(conn: &mut DbConnection, new: &NewMembership<'_>) -> QueryResult<Membership> {
        diesel::insert_into(memberships::table).values(new).execute(conn)?;
        memberships::table
            .filter(memberships::workspace_id.eq(new.workspace_id))
            .filter(memberships::user_id.eq(new.user_id))
            .first(conn)
    }

    pub fn count_active(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<i64> {
        memberships::table.filter(memberships::workspace_id.eq(workspace_id)).count().get_result(conn)
    }

    /// Every member of a workspace with their account; sorted by the caller.
    pub fn list_with_users(conn: &mut DbConnection, workspace_id: i64) -> QueryResult<Vec<MemberRow>> {
        Self::load_with_users(conn, workspace_id, None)
    }

    /// Members of a workspace with their accounts, optionally narrowed to one.
    fn load_with_users(conn: &mut DbConnection, workspace_id: i64, only: Option<One>) -> QueryResult<Vec<MemberRow>> {
        let mut q = memberships::table
            .inner_join(users::table)
            .filter(memberships::workspace_id.eq(workspace_id))
            .select((memberships::all_columns, users::name, users::email))
            .into_boxed();
        q = match only {
            None => q,
            Some(One::Membership(id)) => q.filter(memberships::id.eq(id)),
            Some(One::User(id)) => q.filter(memberships::user_id.eq(id)),
            Some(One::Owner) => q.filter(memberships::role.eq("owner")),
        };
        let rows: Vec<(Membership, String, String)> = q.load(conn)?;
        Ok(rows.into_iter().map(|(membership, name, email)| MemberRow { membership, name, email }).collect())
    }
}

/// Which single member `MemberRow::find` looks for.
#[derive(Debug, Clone, Copy)]
pub enum One {
    Membership(i64),
    User(i64),
    Owner,
}

impl MemberRow {
    /// One member of a workspace with their account.
    pub fn find(conn: &mut DbConnection, workspace_id: i64, which: One) -> QueryResult<Option<MemberRow>> {
        Ok(Membership::load_with_users(conn, workspace_id, Some(which))?.into_iter().next())
    }
}

impl Membership {
    /// Records that the member used the workspace; at most once a minute, so that page views do
    /// not turn into a write each.
    pub fn touch(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
        let stale = now - chrono::Duration::seconds(60);
        diesel::update(
            memberships::table
                .filter(memberships::id.eq(id))
                .filter(memberships::last_active_at.is_null().or(memberships::last_active_at.lt(stale))),
        )
        .set(memberships::last_active_at.eq(Some(now)))
        .execute(conn)
    }
}
