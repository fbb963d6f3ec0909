//! Accounts: one per person (unique email), possibly in several workspaces.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::users;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_staff: bool,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_staff: bool,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
}

impl User {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
        users::table.find(id).first(conn).optional()
    }

    /// `email` must already be normalised (see `domain::email::Email`).
    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table.filter(users::email.eq(email)).first(conn).optional()
    }

    pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<User> {
        diesel::insert_into(users::table).values(new).execute(conn)?;
        users::table.filter(users::email.eq(new.email)).first(conn)
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    pub fn set_password(conn: &mut DbConnection, id: i64, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::session_epoch.eq(users::session_epoch + 1)))
            .execute(conn)
    }

    /// Ends every session of the account (each carries the epoch it was signed in with).
    pub fn bump_session_epoch(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::update(users::table.find(id)).set(users::session_epoch.eq(users::session_epoch + 1)).execute(conn)
    }

    pub fn touch_login(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(users::table.find(id)).set(users::last_login_at.eq(Some(at))).execute(conn)
    }
}
