//! One error type for the web layer: a styled page (or an htmx fragment) with a specific message
//! and the right status; the log gets the cause.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::services::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Anonymous visitor on a page that needs an account: sent to sign in, then back.
    #[error("sign-in required")]
    LoginRequired { next: String },
    #[error("{title}: {message}")]
    Page { status: StatusCode, title: String, message: String },
    /// The account may not use this workspace (never could, or was removed): a 403 page, and for
    /// htmx a full reload so that the page itself says so.
    #[error("{title}: {message}")]
    NoAccess { title: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn page(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Page { status, title: title.into(), message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::page(StatusCode::NOT_FOUND, "Not found", message)
    }

    pub fn forbidden(title: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::page(StatusCode::FORBIDDEN, title, message)
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::page(StatusCode::BAD_REQUEST, "Something in the request is not right", message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> AppError {
        match e {
            ServiceError::Invalid(m) => {
                AppError::page(StatusCode::UNPROCESSABLE_ENTITY, "Please check what you entered", m)
            }
            ServiceError::NotFound(m) => AppError::not_found(m),
            ServiceError::Forbidden(m) => AppError::forbidden("Not allowed", m),
            ServiceError::Conflict(m) => AppError::page(StatusCode::CONFLICT, "Already done", m),
            ServiceError::Gone { title, message } => AppError::page(StatusCode::GONE, title, message),
            ServiceError::Throttled(m) => AppError::page(StatusCode::TOO_MANY_REQUESTS, "Please wait a moment", m),
            ServiceError::Db(e) => AppError::Internal(format!("database: {e}")),
            ServiceError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        AppError::Internal(format!("database: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> AppError {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> AppError {
        AppError::Internal(format!("blocking task: {e}"))
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> AppError {
        AppError::Internal(format!("database pool: {e}"))
    }
}

/// The message an error page shows, kept on the response so that the htmx middleware can turn
/// the page into a fragment.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub title: String,
    pub message: String,
    /// htmx should reload the whole page rather than show an alert.
    pub full_page: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    status: u16,
    assets: &'static crate::web::assets::Assets,
}

#[derive(Template)]
#[template(path = "partials/error.html")]
pub struct ErrorFragment<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Page { status, .. } => *status,
            AppError::NoAccess { .. } => StatusCode::FORBIDDEN,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            AppError::LoginRequired { next } => {
                let to = format!("/login?next={}", super::url_encode(next));
                return HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish();
            }
            AppError::Page { title, message, .. } | AppError::NoAccess { title, message } => {
                (title.as_str(), message.as_str())
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    "Something went wrong on our side",
                    "The problem has been logged. Please try again in a moment; nothing you entered was saved.",
                )
            }
        };
        let status = self.status_code();
        let page = ErrorPage { title, message, status: status.as_u16(), assets: crate::web::assets::assets() };
        let body = page.render().unwrap_or_else(|_| format!("{title}\n\n{message}"));
        let mut res = HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .body(body);
        let full_page = matches!(self, AppError::NoAccess { .. });
        res.extensions_mut().insert(ErrorInfo { title: title.to_owned(), message: message.to_owned(), full_page });
        res
    }
}
