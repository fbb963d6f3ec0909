//! Starts the real application on port 0 with a fresh database (a SQLite file in a temp folder,
//! or a new PostgreSQL database) and talks HTTP to it with a cookie jar, as a browser would.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use roster::config::Config;
use roster::db::audit::Actor;
use roster::db::user::User;
use roster::db::workspace::Workspace;
use roster::db::{self, DatabaseUrl, DbConnection, Pool};
use roster::domain::email::Email as Address;
use roster::domain::plan::Plan;
use roster::domain::role::Role;
use roster::mail::{Email, Mailer};
use roster::services::{accounts, members, workspaces};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named `async fn(TestApp)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await
                        .expect("SQLite always runs");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(app).await;
                }
            )*
        }
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("ROSTER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh PostgreSQL database, dropped with the value. `None` (with the reason printed) when no
/// server is reachable outside CI; in CI that is a failure.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Option<PgDatabase> {
        let admin = pg_admin_url();
        let mut conn = match PgConnection::establish(&admin) {
            Ok(c) => c,
            Err(e) => {
                if in_ci() {
                    panic!("PostgreSQL tests must run in CI, but {admin} is unreachable: {e}");
                }
                eprintln!("skipping PostgreSQL test: cannot connect to {admin} ({e}); set ROSTER_TEST_PG_URL");
                return None;
            }
        };
        let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin.clone());
        Some(PgDatabase { url: format!("{base}/{name}"), name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    /// Messages the outbox worker delivered (memory mailer), unless the test set up SMTP.
    pub mail: Arc<Mutex<Vec<Email>>>,
    pub base: String,
    pub pool: Pool,
    pub config: Arc<Config>,
    pub server: actix_web::dev::ServerHandle,
    pub dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the application with a configuration adjusted by `tweak`.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match backend {
            Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("roster.db").to_string_lossy().into_owned()), None),
            Backend::Postgres => {
                let pg = tokio::task::spawn_blocking(PgDatabase::create).await.expect("join")?;
                (DatabaseUrl::Postgres(pg.url.clone()), Some(pg))
            }
        };
        let mut config = Config::for_dir(dir.path(), url);
        tweak(&mut config);
        Some(Self::start(backend, config, dir, pg).await)
    }

    async fn start(backend: Backend, config: Config, dir: tempfile::TempDir, pg: Option<PgDatabase>) -> TestApp {
        let cfg = config.clone();
        let pool = tokio::task::spawn_blocking(move || roster::prepare_database(&cfg))
            .await
            .expect("join")
            .expect("database ready");
        let (mailer, mail) = Mailer::memory();
        let app = if config.smtp_url.is_some() {
            roster::Application::build(config, pool.clone())
        } else {
            roster::Application::build_with_mailer(config, pool.clone(), mailer)
        }
        .expect("server binds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let config = app.state.config.clone();
        let server = app.server();
        tokio::spawn(app.run());
        TestApp { backend, mail, base, pool, config, server, dir, pg }
    }

    /// A second server on the same database (another "instance" behind a load balancer).
    pub async fn second_instance(&self) -> TestApp {
        let mut config = (*self.config).clone();
        config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let pool = self.pool.clone();
        let app = roster::Application::build_with_mailer(config, pool.clone(), Mailer::Memory(self.mail.clone()))
            .expect("second server binds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let config = app.state.config.clone();
        let server = app.server();
        tokio::spawn(app.run());
        TestApp {
            backend: self.backend,
            mail: self.mail.clone(),
            base,
            pool,
            config,
            server,
            dir: tempfile::tempdir().expect("temp dir"),
            pg: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A new browser: its own cookie jar, redirects not followed (tests look at them).
    pub fn browser(&self) -> Client {
        Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
    }

    /// Runs database work on the blocking pool.
    pub async fn db<T: Send + 'static>(&self, f: impl FnOnce(&mut DbConnection) -> T + Send + 'static) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().expect("connection");
            f(&mut conn)
        })
        .await
        .expect("join")
    }

    // ----- seeding, through the library's own services -----

    pub async fn create_owner(&self, email: &str, name: &str, workspace: &str, plan: Plan) -> (User, Workspace) {
        let (email, name, workspace) = (email.to_owned(), name.to_owned(), workspace.to_owned());
        self.db(move |conn| {
            conn.transaction::<_, roster::services::ServiceError, _>(|conn| {
                db::begin_writing(conn)?;
                let user =
                    accounts::create_account(conn, &Address::parse(&email).expect("email"), &name, PASSWORD, false)?;
                let ws = workspaces::create_with_owner(conn, &user, &workspace, plan, &actor_of(&user))?;
                Ok((user, ws))
            })
            .expect("owner created")
        })
        .await
    }

    pub async fn create_user(&self, email: &str, name: &str, staff: bool) -> User {
        let (email, name) = (email.to_owned(), name.to_owned());
        self.db(move |conn| {
            accounts::create_account(conn, &Address::parse(&email).expect("email"), &name, PASSWORD, staff)
                .expect("account")
        })
        .await
    }

    /// Adds a new account to `ws` with `role`, as if they had accepted an invitation.
    pub async fn add_member(&self, ws: &Workspace, email: &str, name: &str, role: Role) -> User {
        let user = self.create_user(email, name, false).await;
        let (ws, u) = (ws.clone(), user.clone());
        self.db(move |conn| {
            conn.transaction::<_, roster::services::ServiceError, _>(|conn| {
                db::lock_workspace(conn, ws.id)?;
                members::add_member(conn, &ws, &u, role, &Actor::system(), serde_json::json!({ "role": role.as_str() }))
            })
            .expect("member added")
        })
        .await;
        user
    }

    // ----- browsing -----

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    /// The session's CSRF token, as the page's `<meta name="csrf-token">` carries it.
    pub async fn csrf(&self, client: &Client) -> String {
        let body = self.get(client, "/login").await.text().await.expect("body");
        let body = if body.contains("csrf-token") {
            body
        } else {
            self.get(client, "/account").await.text().await.expect("body")
        };
        csrf_from(&body).expect("page carries a CSRF token")
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, client: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf(client).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client.post(self.url(path)).form(&form).send().await.expect("POST")
    }

    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_form(client, "/login", &[("email", email), ("password", password)]).await
    }

    /// A new browser signed in as `email` (with the test password).
    pub async fn signed_in(&self, email: &str) -> Client {
        let client = self.browser();
        let res = self.sign_in(&client, email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in of {email} should redirect");
        client
    }

    /// The audit rows of a workspace, oldest first, as (action, target_email).
    pub async fn audit_actions(&self, ws_id: i64) -> Vec<(String, Option<String>)> {
        self.db(move |conn| {
            let mut rows = roster::db::audit::AuditEvent::latest(conn, ws_id, 10_000).expect("audit rows");
            rows.reverse();
            rows.into_iter().map(|r| (r.action, r.target_email)).collect()
        })
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting requests; the database (if PostgreSQL) is dropped after.
        let server = self.server.clone();
        drop(server.stop(false));
        let _ = &self.pg;
    }
}

pub fn actor_of(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id),
        name: user.name.clone(),
        email: user.email.clone(),
        kind: "user",
        ip: None,
        user_agent: None,
    }
}

pub fn csrf_from(body: &str) -> Option<String> {
    let start = body.find("name=\"csrf-token\" content=\"")? + "name=\"csrf-token\" content=\"".len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

pub fn location(res: &Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Undoes HTML escaping, so assertions can look for the words a person reads.
pub fn unescape(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Asserts a status and returns the body (HTML entities decoded), showing it when the status is wrong.
pub async fn expect_status(res: Response, status: StatusCode) -> String {
    let got = res.status();
    let body = unescape(&res.text().await.unwrap_or_default());
    assert_eq!(got, status, "unexpected status; body:\n{}", &body[..body.len().min(3000)]);
    body
}

/// The text a person reads on a page: tags removed, entities decoded, whitespace collapsed.
pub fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = unescape(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    // Inline tags (`<strong>`, `<a>`) must not put a space before punctuation.
    text.replace(" .", ".").replace(" ,", ",").replace(" :", ":")
}

impl TestApp {
    /// Inserts an invitation row directly (status `pending` unless said), expiring `expires_in`
    /// from now (negative: already expired).
    pub async fn invitation_row(&self, ws: &Workspace, email: &str, status: &str, expires_in: chrono::Duration) -> i64 {
        let (ws_id, email, status) = (ws.id, email.to_owned(), status.to_owned());
        self.db(move |conn| {
            let now = roster::domain::now();
            // Sent 7 days before it expires, as the application does.
            let sent = now + expires_in - chrono::Duration::days(7);
            let hash = roster::domain::token::hash(&roster::domain::token::generate());
            roster::db::invitation::Invitation::insert(
                conn,
                &roster::db::invitation::NewInvitation {
                    workspace_id: ws_id,
                    email: &email,
                    role: "member",
                    status: &status,
                    token_hash: &hash,
                    invited_by: None,
                    created_at: sent,
                    expires_at: now + expires_in,
                    last_sent_at: sent,
                    send_count: 1,
                },
            )
            .expect("invitation")
            .id
        })
        .await
    }

    pub async fn plan_of(&self, ws_id: i64) -> Plan {
        self.db(move |conn| Workspace::find(conn, ws_id).expect("query").expect("workspace").plan()).await
    }
}

impl TestApp {
    pub async fn invite(&self, client: &Client, slug: &str, emails: &str, role: &str) -> Response {
        self.post_form(client, &format!("/w/{slug}/settings/users/invitations"), &[("emails", emails), ("role", role)])
            .await
    }

    /// The newest message delivered to `to`, waiting up to 10 s for the outbox worker.
    pub async fn mail_to(&self, to: &str) -> Email {
        for _ in 0..200 {
            if let Some(m) = self.mail.lock().expect("mail").iter().rev().find(|m| m.to == to) {
                return m.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no email was delivered to {to}");
    }

    pub fn mail_count_to(&self, to: &str) -> usize {
        self.mail.lock().expect("mail").iter().filter(|m| m.to == to).count()
    }

    /// Where the invitation link in a delivered message points (the path, on this server).
    pub async fn invitation_path(&self, to: &str) -> String {
        link_path(&self.mail_to(to).await.text)
    }
}

/// The `/invitations/…` path of the first invitation link in a text.
pub fn link_path(text: &str) -> String {
    let start = text.find("/invitations/").expect("an invitation link");
    text[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().expect("link").to_owned()
}

/// Decodes a MIME message's text parts (quoted-printable or base64), for tests that read what an
/// SMTP server received.
pub fn decoded_parts(raw: &str) -> Vec<(String, String)> {
    use base64::Engine;
    let raw = raw.replace("\r\n", "\n");
    let mut parts = Vec::new();
    for chunk in raw.split("\n--") {
        let Some((head, body)) = chunk.split_once("\n\n") else { continue };
        let head_l = head.to_lowercase();
        let ctype = if head_l.contains("content-type: text/html") {
            "text/html"
        } else if head_l.contains("content-type: text/plain") {
            "text/plain"
        } else {
            continue;
        };
        let body = body.split("\n--").next().unwrap_or_default();
        let decoded = if head_l.contains("content-transfer-encoding: quoted-printable") {
            decode_qp(body)
        } else if head_l.contains("content-transfer-encoding: base64") {
            let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(clean).unwrap_or_default())
                .into_owned()
        } else {
            body.to_owned()
        };
        parts.push((ctype.to_owned(), decoded));
    }
    parts
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TestApp {
    /// An htmx request as the trash icon sends it: `DELETE` with `HX-Request` and the CSRF header.
    pub async fn htmx_delete(&self, client: &Client, path: &str) -> Response {
        let token = self.csrf(client).await;
        client
            .delete(self.url(path))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token)
            .send()
            .await
            .expect("DELETE")
    }

    /// The membership id of `email` in `ws`.
    pub async fn membership_id(&self, ws: &Workspace, email: &str) -> i64 {
        let (ws_id, email) = (ws.id, email.to_owned());
        self.db(move |conn| {
            use diesel::prelude::*;
            use roster::db::schema::{memberships, users};
            memberships::table
                .inner_join(users::table)
                .filter(memberships::workspace_id.eq(ws_id))
                .filter(users::email.eq(email))
                .select(memberships::id)
                .first(conn)
                .expect("membership")
        })
        .await
    }

    pub async fn role_of(&self, ws: &Workspace, email: &str) -> Option<String> {
        let (ws_id, email) = (ws.id, email.to_owned());
        self.db(move |conn| {
            use diesel::prelude::*;
            use roster::db::schema::{memberships, users};
            memberships::table
                .inner_join(users::table)
                .filter(memberships::workspace_id.eq(ws_id))
                .filter(users::email.eq(email))
                .select(memberships::role)
                .first(conn)
                .optional()
                .expect("query")
        })
        .await
    }
}

impl TestApp {
    /// The membership id of `email` in the workspace with `slug`.
    pub async fn membership_id_by_slug(&self, slug: &str, email: &str) -> i64 {
        let slug = slug.to_owned();
        let ws = self.db(move |conn| Workspace::find_by_slug(conn, &slug).expect("query").expect("workspace")).await;
        self.membership_id(&ws, email).await
    }
}
