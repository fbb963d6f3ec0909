//! The authorization matrix: every route × every kind of visitor, with the status each must get.
//! A route registered without a row here fails `every_route_has_a_row`; add the row when you add
//! the route.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use reqwest::{Client, StatusCode};
use roster::domain::plan::Plan;
use roster::domain::role::Role;

/// Anonymous, signed-in non-member (owner of another workspace), member, admin, owner, staff.
const ACTORS: [&str; 6] = ["anonymous", "outsider", "member", "admin", "owner", "staff"];

struct Row {
    method: &'static str,
    /// The route pattern exactly as registered.
    route: &'static str,
    /// What is sent; `{ws}` becomes the workspace's slug.
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    /// One status per actor, in the order of `ACTORS`.
    expect: [u16; 6],
}

const fn row(method: &'static str, route: &'static str, path: &'static str, expect: [u16; 6]) -> Row {
    Row { method, route, path, form: &[], expect }
}

const MATRIX: &[Row] = &[
    //                                                                     anon outs  memb admin owner staff
    row("GET", "/healthz", "/healthz", [200, 200, 200, 200, 200, 200]),
    row("GET", "/static/{file}", "/static/app.css", [200, 200, 200, 200, 200, 200]),
    row("GET", "/", "/", [303, 303, 303, 303, 303, 303]),
    row("GET", "/login", "/login", [200, 303, 303, 303, 303, 303]),
    row("POST", "/login", "/login", [422, 422, 422, 422, 422, 422]),
    row("POST", "/logout", "/logout", [303, 303, 303, 303, 303, 303]),
    row("GET", "/setup/{token}", "/setup/not-a-real-token", [404, 404, 404, 404, 404, 404]),
    row("POST", "/setup/{token}", "/setup/not-a-real-token", [404, 404, 404, 404, 404, 404]),
    row("GET", "/account", "/account", [303, 200, 200, 200, 200, 200]),
    row("POST", "/account/password", "/account/password", [303, 422, 422, 422, 422, 422]),
    row("POST", "/account/sign-out-everywhere", "/account/sign-out-everywhere", [303, 303, 303, 303, 303, 303]),
    row("GET", "/w/{ws}", "/w/{ws}", [303, 403, 303, 303, 303, 403]),
    row("GET", "/w/{ws}/settings/users", "/w/{ws}/settings/users", [303, 403, 200, 200, 200, 403]),
    row(
        "POST",
        "/w/{ws}/settings/users/invitations",
        "/w/{ws}/settings/users/invitations",
        [303, 403, 403, 422, 422, 403],
    ),
    row(
        "POST",
        "/w/{ws}/settings/users/invitations/{id}/resend",
        "/w/{ws}/settings/users/invitations/999999/resend",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "POST",
        "/w/{ws}/settings/users/invitations/{id}/link",
        "/w/{ws}/settings/users/invitations/999999/link",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "DELETE",
        "/w/{ws}/settings/users/invitations/{id}",
        "/w/{ws}/settings/users/invitations/999999",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "POST",
        "/w/{ws}/settings/users/invitations/{id}/revoke",
        "/w/{ws}/settings/users/invitations/999999/revoke",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "DELETE",
        "/w/{ws}/settings/users/members/{id}",
        "/w/{ws}/settings/users/members/999999",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "POST",
        "/w/{ws}/settings/users/members/{id}/remove",
        "/w/{ws}/settings/users/members/999999/remove",
        [303, 403, 403, 404, 404, 403],
    ),
    row(
        "POST",
        "/w/{ws}/settings/users/members/{id}/role",
        "/w/{ws}/settings/users/members/999999/role",
        [303, 403, 403, 400, 400, 403],
    ),
    row("POST", "/w/{ws}/settings/users/transfer", "/w/{ws}/settings/users/transfer", [303, 403, 403, 403, 422, 403]),
    row("POST", "/w/{ws}/leave", "/w/{ws}/leave", [303, 403, 200, 200, 403, 403]),
    row("GET", "/invitations/{token}", "/invitations/not-a-token", [404, 404, 404, 404, 404, 404]),
    row("POST", "/invitations/{token}/accept", "/invitations/not-a-token/accept", [404, 404, 404, 404, 404, 404]),
    row(
        "POST",
        "/w/{ws}/settings/users/members/{id}/projects",
        "/w/{ws}/settings/users/members/999999/projects",
        [303, 403, 403, 404, 404, 403],
    ),
    row("GET", "/w/{ws}/projects", "/w/{ws}/projects", [303, 403, 200, 200, 200, 403]),
    row("POST", "/w/{ws}/projects", "/w/{ws}/projects", [303, 403, 403, 422, 422, 403]),
    row("GET", "/w/{ws}/projects/{id}", "/w/{ws}/projects/999999", [303, 403, 404, 404, 404, 403]),
    row("POST", "/w/{ws}/projects/{id}/rename", "/w/{ws}/projects/999999/rename", [303, 403, 404, 404, 404, 403]),
    row("POST", "/w/{ws}/projects/{id}/delete", "/w/{ws}/projects/999999/delete", [303, 403, 403, 404, 404, 403]),
    row("POST", "/w/{ws}/projects/{id}/members", "/w/{ws}/projects/999999/members", [303, 403, 403, 422, 422, 403]),
    row(
        "POST",
        "/w/{ws}/projects/{id}/members/{membership}",
        "/w/{ws}/projects/999999/members/999999",
        [303, 403, 403, 400, 400, 403],
    ),
    row("GET", "/w/{ws}/settings/usage", "/w/{ws}/settings/usage", [303, 403, 403, 200, 200, 403]),
    row(
        "POST",
        "/w/{ws}/settings/usage/caps/{id}",
        "/w/{ws}/settings/usage/caps/999999",
        [303, 403, 403, 404, 404, 403],
    ),
    row("GET", "/w/{ws}/settings/api-keys", "/w/{ws}/settings/api-keys", [303, 403, 403, 200, 200, 403]),
    row("POST", "/w/{ws}/settings/api-keys", "/w/{ws}/settings/api-keys", [303, 403, 403, 422, 422, 403]),
    row(
        "POST",
        "/w/{ws}/settings/api-keys/{id}/revoke",
        "/w/{ws}/settings/api-keys/999999/revoke",
        [303, 403, 403, 404, 404, 403],
    ),
    row("POST", "/api/v1/usage", "/api/v1/usage", [401, 401, 401, 401, 401, 401]),
    row("GET", "/w/{ws}/settings/users/logs", "/w/{ws}/settings/users/logs", [303, 403, 403, 200, 200, 403]),
    row("GET", "/w/{ws}/settings/users/logs.csv", "/w/{ws}/settings/users/logs.csv", [303, 403, 403, 200, 200, 403]),
    row("GET", "/support", "/support", [303, 404, 404, 404, 404, 200]),
    row("GET", "/support/workspaces/{ws}/logs", "/support/workspaces/{ws}/logs", [303, 404, 404, 404, 404, 200]),
    row(
        "GET",
        "/support/workspaces/{ws}/logs.csv",
        "/support/workspaces/{ws}/logs.csv",
        [303, 404, 404, 404, 404, 200],
    ),
    row("GET", "/w/{ws}/settings/plan", "/w/{ws}/settings/plan", [303, 403, 403, 200, 200, 403]),
    row("POST", "/w/{ws}/settings/plan", "/w/{ws}/settings/plan", [303, 403, 403, 403, 422, 403]),
];

#[test]
fn every_route_has_a_row() {
    let registered: BTreeSet<(String, String)> =
        roster::web::route_list().into_iter().map(|(m, p)| (m.to_string(), p.to_owned())).collect();
    let covered: BTreeSet<(String, String)> =
        MATRIX.iter().map(|r| (r.method.to_owned(), r.route.to_owned())).collect();
    let missing: Vec<_> = registered.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    let stale: Vec<_> = covered.difference(&registered).collect();
    assert!(stale.is_empty(), "matrix rows for routes that no longer exist: {stale:?}");
}

backend_tests!(every_actor_gets_the_expected_status_on_every_route);

async fn client_for(app: &TestApp, actor: &str) -> Client {
    match actor {
        "anonymous" => app.browser(),
        "outsider" => app.signed_in("sam@example.com").await,
        "member" => app.signed_in("mo@example.com").await,
        "admin" => app.signed_in("ada@example.com").await,
        "owner" => app.signed_in("olivia@example.com").await,
        "staff" => app.signed_in("lee@support.example.com").await,
        other => panic!("unknown actor {other}"),
    }
}

async fn every_actor_gets_the_expected_status_on_every_route(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    app.add_member(&ws, "mo@example.com", "Mo Member", Role::Member).await;
    app.create_owner("sam@example.com", "Sam Outsider", "Sam's Shop", Plan::Free).await;
    app.create_user("lee@support.example.com", "Lee", true).await;

    let mut failures = Vec::new();
    for row in MATRIX {
        let path = row.path.replace("{ws}", &ws.slug);
        for (i, actor) in ACTORS.iter().enumerate() {
            let client = client_for(&app, actor).await;
            let res = match row.method {
                "GET" => app.get(&client, &path).await,
                "POST" => app.post_form(&client, &path, row.form).await,
                "DELETE" => {
                    let token = app.csrf(&client).await;
                    client.delete(app.url(&path)).header("X-CSRF-Token", token).send().await.expect("DELETE")
                }
                m => panic!("unsupported method {m}"),
            };
            let expected = StatusCode::from_u16(row.expect[i]).expect("status");
            if res.status() != expected {
                failures.push(format!("{} {} as {actor}: expected {expected}, got {}", row.method, path, res.status()));
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix mismatches:\n{}", failures.join("\n"));
}
