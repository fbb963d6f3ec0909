//! HTTP: routes, extractors, middleware, handlers and the error type. Handlers stay thin: parse
//! input, call a service inside `web::block`, render a template.

pub mod account;
pub mod api;
pub mod api_keys;
pub mod assets;
pub mod auth;
pub mod error;
pub mod extract;
pub mod invitations;
pub mod invitee;
pub mod layout;
pub mod logs;
pub mod members;
pub mod middleware;
pub mod pages;
pub mod plan;
pub mod projects;
pub mod removal;
pub mod session;
pub mod state;
pub mod usage;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};

/// Registers routes and remembers each (method, path), so the authorization matrix test can fail
/// when a route is added without a row.
pub struct Router<'a> {
    cfg: &'a mut web::ServiceConfig,
    pub routes: Vec<(Method, &'static str)>,
}

impl Router<'_> {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.routes.push((method.clone(), path));
        self.cfg.route(path, web::method(method).to(handler));
    }

    pub fn get<F, Args>(&mut self, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, handler);
    }

    pub fn post<F, Args>(&mut self, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler);
    }

    pub fn delete<F, Args>(&mut self, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::DELETE, path, handler);
    }
}

/// Every route of the application. Add new ones here (and a row to the matrix in
/// `tests/authorization.rs`).
pub fn routes(cfg: &mut web::ServiceConfig) -> Vec<(Method, &'static str)> {
    let mut r = Router { cfg, routes: Vec::new() };
    r.get("/healthz", pages::healthz);
    r.get("/static/{file}", assets::serve);
    r.get("/", pages::home);
    r.get("/login", auth::login_page);
    r.post("/login", auth::login);
    r.post("/logout", auth::logout);
    r.get("/setup/{token}", auth::setup_page);
    r.post("/setup/{token}", auth::setup);
    r.get("/account", account::page);
    r.post("/account/password", account::change_password);
    r.post("/account/sign-out-everywhere", account::sign_out_everywhere);
    r.get("/w/{ws}", pages::workspace_home);
    r.get("/w/{ws}/settings/users", members::page);
    r.post("/w/{ws}/settings/users/invitations", invitations::invite);
    r.post("/w/{ws}/settings/users/invitations/{id}/resend", invitations::resend);
    r.post("/w/{ws}/settings/users/invitations/{id}/link", invitations::copy_link);
    r.delete("/w/{ws}/settings/users/invitations/{id}", removal::delete_invitation);
    r.post("/w/{ws}/settings/users/invitations/{id}/revoke", removal::revoke_invitation_form);
    r.delete("/w/{ws}/settings/users/members/{id}", removal::delete_member);
    r.post("/w/{ws}/settings/users/members/{id}/remove", removal::remove_member_form);
    r.post("/w/{ws}/settings/users/members/{id}/role", removal::change_role);
    r.post("/w/{ws}/settings/users/transfer", removal::transfer);
    r.post("/w/{ws}/leave", removal::leave);
    r.get("/invitations/{token}", invitee::show);
    r.post("/invitations/{token}/accept", invitee::accept);
    r.post("/w/{ws}/settings/users/members/{id}/projects", projects::member_projects);
    r.get("/w/{ws}/projects", projects::list);
    r.post("/w/{ws}/projects", projects::create);
    r.get("/w/{ws}/projects/{id}", projects::show);
    r.post("/w/{ws}/projects/{id}/rename", projects::rename);
    r.post("/w/{ws}/projects/{id}/delete", projects::delete);
    r.post("/w/{ws}/projects/{id}/members", projects::add_member);
    r.post("/w/{ws}/projects/{id}/members/{membership}", projects::set_member);
    r.get("/w/{ws}/settings/usage", usage::page);
    r.post("/w/{ws}/settings/usage/caps/{id}", usage::set_cap);
    r.get("/w/{ws}/settings/api-keys", api_keys::page);
    r.post("/w/{ws}/settings/api-keys", api_keys::create);
    r.post("/w/{ws}/settings/api-keys/{id}/revoke", api_keys::revoke);
    r.post("/api/v1/usage", api::ingest);
    r.get("/w/{ws}/settings/users/logs", logs::page);
    r.get("/w/{ws}/settings/users/logs.csv", logs::csv);
    r.get("/support", logs::support);
    r.get("/support/workspaces/{ws}/logs", logs::support_logs);
    r.get("/support/workspaces/{ws}/logs.csv", logs::support_csv);
    r.get("/w/{ws}/settings/plan", plan::page);
    r.post("/w/{ws}/settings/plan", plan::change);
    r.routes
}

/// The (method, path) of every registered route, for tests.
pub fn route_list() -> Vec<(Method, &'static str)> {
    let mut list = Vec::new();
    let _ = actix_web::App::new().configure(|cfg| list = routes(cfg));
    list
}

/// Percent-encodes a string for a query parameter.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `next` parameter we may redirect to: a path on this site, never another host.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.starts_with("/login") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A 303 See Other to `to`.
pub fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, to.to_owned())).finish()
}

/// An HTML response from a rendered template.
pub fn html(status: actix_web::http::StatusCode, body: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_on_site() {
        assert_eq!(safe_next(Some("/w/acme/settings/users")), "/w/acme/settings/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(url_encode("/w/a?x=1&y=2"), "/w/a%3Fx%3D1%26y%3D2");
    }
}
