//! Workspace API keys, used by the chatbot platform to report usage. Only a hash is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{api_keys, users};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub key_prefix: String,
    pub key_hash: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    /// Every key of a workspace with its creator's name, newest first.
    pub fn list(conn: &mut DbConnection, ws_id: i64) -> QueryResult<Vec<(ApiKey, Option<String>)>> {
        api_keys::table
            .left_join(users::table.on(api_keys::created_by.eq(users::id.nullable())))
            .filter(api_keys::workspace_id.eq(ws_id))
            .order(api_keys::id.desc())
            .select((api_keys::all_columns, users::name.nullable()))
            .load(conn)
    }

    pub fn find_active_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<ApiKey>> {
        api_keys::table
            .filter(api_keys::key_hash.eq(hash))
            .filter(api_keys::revoked_at.is_null())
            .first(conn)
            .optional()
    }
}
