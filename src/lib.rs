//! Roster: "Settings → My Users" of an AI chatbot platform. `build` assembles the whole
//! application from a `Config`, so `main` and the tests start the same thing.

pub mod config;
pub mod db;
pub mod domain;
pub mod mail;
pub mod services;
pub mod web;

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web as aweb};

use crate::config::Config;
use crate::db::Pool;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Opens the database named by the configuration and applies pending migrations.
pub fn prepare_database(config: &Config) -> Result<Pool, String> {
    let pool = db::build_pool(&config.database_url, config.db_pool_size).map_err(|e| {
        if config.database_url.is_postgres() {
            format!(
                "Cannot connect to the PostgreSQL database in ROSTER_DATABASE_URL ({}): {e}. Check that the server is running and the URL is right.",
                config.database_url.redacted()
            )
        } else {
            format!(
                "Cannot open the SQLite database in ROSTER_DATABASE_URL ({}): {e}. Check that its folder exists and is writable.",
                config.database_url.redacted()
            )
        }
    })?;
    let mut conn = pool.get().map_err(|e| format!("Cannot get a database connection: {e}"))?;
    db::run_migrations(&mut conn)?;
    Ok(pool)
}

/// A bound, ready-to-run server with its outbox worker.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    worker: mail::outbox::Worker,
    pub state: AppState,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and builds the server around `pool`, with
    /// the mailer the configuration names.
    pub fn build(config: Config, pool: Pool) -> Result<Application, String> {
        let mailer = mail::Mailer::from_config(&config)?;
        Self::build_with_mailer(config, pool, mailer)
    }

    /// As `build`, with a given mailer (tests use `Mailer::memory()`).
    pub fn build_with_mailer(config: Config, pool: Pool, mailer: mail::Mailer) -> Result<Application, String> {
        let listener = TcpListener::bind(config.bind).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                format!(
                    "ROSTER_BIND: {} is already in use; stop the program using it or choose another port, for example ROSTER_BIND=127.0.0.1:{}.",
                    config.bind,
                    config.bind.port().wrapping_add(1)
                )
            } else {
                format!("ROSTER_BIND: cannot listen on {} ({e}); choose another address.", config.bind)
            }
        })?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let signal = mail::outbox::OutboxSignal::default();
        let worker = mail::outbox::Worker {
            pool: pool.clone(),
            mailer,
            from: config.mail_from.clone(),
            signal: signal.clone(),
            poll: config.outbox_poll,
        };
        let state = AppState { pool, config: Arc::new(config), outbox: signal };
        let server = serve(listener, state.clone())?;
        Ok(Application { port, server, worker, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs the server and the outbox worker until the server stops.
    pub async fn run(self) -> std::io::Result<()> {
        let worker = tokio::spawn(self.worker.run());
        let result = self.server.await;
        worker.abort();
        result
    }

    pub fn server(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn serve(listener: TcpListener, state: AppState) -> Result<actix_web::dev::Server, String> {
    let key = Key::derive_from(&state.config.secret_key);
    let secure = state.config.secure_cookies();
    let workers = state.config.http_workers;
    let data = aweb::Data::new(state);
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name("roster_session".into())
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(actix_web::cookie::time::Duration::days(14)))
            .build();
        App::new()
            .app_data(data.clone())
            .app_data(
                aweb::FormConfig::default().limit(web::middleware::FORM_LIMIT).error_handler(|err, _| {
                    AppError::bad_request(format!("The form could not be read ({err}).")).into()
                }),
            )
            .app_data(aweb::QueryConfig::default().error_handler(|err, _| {
                AppError::bad_request(format!("The address has a parameter that is not right ({err}).")).into()
            }))
            .app_data(
                aweb::PathConfig::default()
                    .error_handler(|_, _| AppError::not_found("There is nothing at this address.").into()),
            )
            .configure(|cfg| {
                web::routes(cfg);
            })
            .default_service(aweb::to(web::pages::not_found))
            .wrap(from_fn(web::middleware::htmx_fragments))
            .wrap(from_fn(web::middleware::csrf))
            .wrap(from_fn(web::middleware::security_headers))
            .wrap(sessions)
            .wrap(actix_web::middleware::Compress::default())
            .wrap(from_fn(web::middleware::request_log))
    })
    .workers(workers)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    Ok(server)
}
