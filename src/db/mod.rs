//! Database access: one connection type over SQLite and PostgreSQL, the r2d2 pool, migrations,
//! and the row structs with their queries (one file per entity).

pub mod api_key;
pub mod audit;
pub mod invitation;
pub mod membership;
pub mod outbox;
pub mod project;
pub mod schema;
pub mod usage;
pub mod user;
pub mod workspace;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The one connection type the application uses; the variant is chosen from the URL scheme.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Which database a URL names. SQLite accepts any string as a file name, so the scheme decides,
/// never "try each backend in order".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path, or `:memory:`.
    Sqlite(String),
}

impl DatabaseUrl {
    /// Parses `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite:path` or a bare file path.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty; use postgres://user@host/db or a SQLite file path".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("names no SQLite file; use sqlite://path/to/roster.db".into());
            }
            return Ok(Self::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(format!(
                "has the scheme '{scheme}', which Roster does not support; use postgres://… or a SQLite file path"
            ));
        }
        Ok(Self::Sqlite(raw.to_owned()))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// For log lines: the URL without any password.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{path}"),
            Self::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    let creds = &url[s + 3..at];
                    let user = creds.split(':').next().unwrap_or_default();
                    format!("{}://{}@{}", &url[..s], user, &url[at + 1..])
                }
                _ => url.clone(),
            },
        }
    }
}

/// r2d2 manager that opens the backend the URL names and sets SQLite's pragmas on connect.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgresql(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // busy_timeout first, so that switching to WAL waits for other connections.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(Into::into)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Builds the pool and checks one connection out, so a bad URL fails at start-up, not on the
/// first request.
pub fn build_pool(url: &DatabaseUrl, max_size: u32) -> Result<Pool, String> {
    if let DatabaseUrl::Sqlite(path) = url
        && path != ":memory:"
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the folder {} for the SQLite database: {e}", parent.display()))?;
    }
    let manager = ConnectionManager::new(url.clone());
    // Open one connection first: r2d2 would retry for its whole timeout and then report only
    // "timed out", hiding libpq's own explanation.
    manager.connect().map_err(|e| e.to_string().trim().to_owned())?;
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
        .map_err(|e| e.to_string())
}

/// Applies every pending migration of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    let applied = match conn {
        DbConnection::Postgresql(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConnection::Sqlite(lite) => lite.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| format!("database migration failed: {e}"))
}

/// Reverts every applied migration (used by tests that prove each `down.sql` works).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    let reverted = match conn {
        DbConnection::Postgresql(pg) => pg.revert_all_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConnection::Sqlite(lite) => lite.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    reverted.map_err(|e| format!("reverting migrations failed: {e}"))
}

/// Names of the application's tables that exist, for migration tests.
pub fn table_names(conn: &mut DbConnection) -> Result<Vec<String>, diesel::result::Error> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn {
        DbConnection::Postgresql(_) => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_\\_%' ORDER BY 1"
        }
        DbConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY 1"
        }
    };
    let rows: Vec<Name> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|n| n.name).collect())
}

/// For a transaction that reads before it writes and has no workspace to lock yet (creating an
/// account and its workspace): on SQLite, a write as the first statement takes the write lock at
/// once, as `BEGIN IMMEDIATE` would. Otherwise a read snapshot that another connection overtakes
/// fails its first write with "database is locked" at once, whatever `busy_timeout` says.
/// PostgreSQL needs nothing here.
pub fn begin_writing(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    if let DbConnection::Sqlite(_) = conn {
        diesel::sql_query("UPDATE workspaces SET lock_version = lock_version WHERE 0").execute(conn)?;
    }
    Ok(())
}

/// Starts a transaction that changes a workspace's seats, members or audit chain. Its first
/// statement bumps the workspace's `lock_version`: on PostgreSQL that holds the row lock until
/// commit (like `SELECT … FOR UPDATE`); on SQLite a write as the first statement takes the database
/// write lock before anything is read (like `BEGIN IMMEDIATE`, waiting up to `busy_timeout`). So
/// every recount that follows is serialized, on one instance or many. Returns `NotFound` when the
/// workspace does not exist.
pub fn lock_workspace(conn: &mut DbConnection, workspace_id: i64) -> Result<(), diesel::result::Error> {
    use schema::workspaces::dsl as w;
    let n = diesel::update(w::workspaces.filter(w::id.eq(workspace_id)))
        .set(w::lock_version.eq(w::lock_version + 1))
        .execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

use diesel::{ExpressionMethods, QueryDsl};
