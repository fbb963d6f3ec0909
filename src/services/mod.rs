//! Use cases, one function each: a transaction that checks the rules, changes the rows and writes
//! the audit row (and outbox message). Called from handlers inside `web::block`.

pub mod accounts;
pub mod api_keys;
pub mod audit_log;
pub mod demo;
pub mod invitations;
pub mod members;
pub mod plans;
pub mod projects;
pub mod setup;
pub mod usage;
pub mod workspaces;

/// What a use case can refuse, in words the person can act on. Mapped to HTTP statuses in one
/// place (`web::error`).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input the person can correct; shown next to the form.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// A link that worked once and no longer does.
    #[error("{message}")]
    Gone { title: String, message: String },
    #[error("{0}")]
    Throttled(String),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;
