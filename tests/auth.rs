//! Setup link, signing in and out, throttling, CSRF, sessions, and workspace access.

mod common;

use common::{PASSWORD, TestApp, csrf_from, expect_status, location};
use reqwest::StatusCode;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    setup_link_creates_the_first_owner_and_works_once,
    setup_link_refuses_bad_input_and_keeps_what_was_typed,
    sign_in_lands_on_my_users_with_the_owner_active,
    wrong_password_is_refused_with_a_message,
    repeated_failures_are_throttled_per_email,
    post_without_csrf_token_is_refused,
    non_member_gets_a_403_that_names_the_workspace,
    anonymous_visitor_is_sent_to_sign_in_and_back,
    sign_out_ends_the_session,
    sign_out_everywhere_ends_other_sessions,
    password_change_ends_other_sessions_but_not_this_one,
    tampered_cookie_is_a_signed_out_visitor,
    unknown_pages_and_workspaces_are_404_pages,
    security_headers_are_sent,
    health_check_reports_ok,
    oversized_forms_are_refused_with_413,
    repeated_failures_from_one_address_are_throttled_per_ip,
);

async fn setup_link_creates_the_first_owner_and_works_once(app: TestApp) {
    let token = app
        .db(|conn| roster::services::setup::prepare_link(conn).expect("link"))
        .await
        .expect("no accounts yet, so a link is made");
    let browser = app.browser();
    let page = expect_status(app.get(&browser, &format!("/setup/{token}")).await, StatusCode::OK).await;
    assert!(page.contains("Create workspace"));

    let res = app
        .post_form(
            &browser,
            &format!("/setup/{token}"),
            &[
                ("workspace_name", "Acme Bots"),
                ("name", "Olivia Owner"),
                ("email", "Olivia@Example.com"),
                ("password", PASSWORD),
                ("plan", "professional"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/w/acme-bots/settings/users");
    let page = expect_status(app.get(&browser, "/w/acme-bots/settings/users").await, StatusCode::OK).await;
    assert!(page.contains("Welcome to Roster. Acme Bots is ready."));
    assert!(page.contains("1 of 3 seats used · Professional"));
    assert!(page.contains("olivia@example.com"), "email is stored lower-cased");

    // The link is spent: a second visit, or a second submit, gets a 410 page.
    let other = app.browser();
    let body = expect_status(app.get(&other, &format!("/setup/{token}")).await, StatusCode::GONE).await;
    assert!(body.contains("This setup link has already been used"));
    let res = app
        .post_form(
            &other,
            &format!("/setup/{token}"),
            &[
                ("workspace_name", "Evil"),
                ("name", "Mallory"),
                ("email", "m@example.com"),
                ("password", PASSWORD),
                ("plan", "business"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);

    // Once accounts exist, a restart prints no new link.
    let again = app.db(|conn| roster::services::setup::prepare_link(conn).expect("link")).await;
    assert!(again.is_none());
    let actions = app.audit_actions(1).await;
    assert_eq!(actions.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), vec!["workspace.created", "member.added"]);
}

async fn setup_link_refuses_bad_input_and_keeps_what_was_typed(app: TestApp) {
    let token = app.db(|conn| roster::services::setup::prepare_link(conn).expect("link")).await.expect("link");
    let browser = app.browser();
    let res = app
        .post_form(
            &browser,
            &format!("/setup/{token}"),
            &[
                ("workspace_name", "Acme Bots"),
                ("name", "Olivia"),
                ("email", "olivia.example.com"),
                ("password", PASSWORD),
                ("plan", "professional"),
            ],
        )
        .await;
    let body = expect_status(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.contains("The email address has no @ sign."), "{body}");
    assert!(body.contains("value=\"Acme Bots\""), "typed values are kept");
    // The link still works after a refused attempt.
    expect_status(app.get(&browser, &format!("/setup/{token}")).await, StatusCode::OK).await;
    let body = expect_status(app.get(&browser, "/setup/not-a-token").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("This setup link is not valid"));
}

async fn sign_in_lands_on_my_users_with_the_owner_active(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    let browser = app.browser();
    let res = app.sign_in(&browser, "  OLIVIA@example.com ", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let res = app.get(&browser, "/").await;
    assert_eq!(location(&res), format!("/w/{}/settings/users", ws.slug));
    let page = expect_status(app.get(&browser, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(page.contains("1 of 3 seats used · Professional"));
    assert!(page.contains("Olivia Owner"));
    assert!(page.contains("badge-owner"));
    assert!(page.contains("badge-active\">Active"));
}

async fn wrong_password_is_refused_with_a_message(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.browser();
    let body =
        expect_status(app.sign_in(&browser, "olivia@example.com", "wrong password").await, StatusCode::UNAUTHORIZED)
            .await;
    assert!(body.contains("That email and password don't match an account"), "{body}");
    assert!(body.contains("value=\"olivia@example.com\""), "the email is kept");
    let body =
        expect_status(app.sign_in(&browser, "nobody@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED).await;
    assert!(body.contains("match an account"), "unknown emails get the same answer");
    let body = expect_status(app.sign_in(&browser, "", "").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.contains("Enter your email address and password."));
}

async fn repeated_failures_are_throttled_per_email(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.browser();
    for _ in 0..5 {
        expect_status(app.sign_in(&browser, "olivia@example.com", "guess").await, StatusCode::UNAUTHORIZED).await;
    }
    // Even the right password is refused now, with a clear message.
    let body =
        expect_status(app.sign_in(&browser, "olivia@example.com", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body.contains("Too many failed sign-ins"), "{body}");
    assert!(body.contains("minutes before trying again"));
    // Another account is not affected.
    app.create_owner("bob@example.com", "Bob", "Bob Co", Plan::Free).await;
    assert_eq!(app.sign_in(&app.browser(), "bob@example.com", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

async fn post_without_csrf_token_is_refused(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.signed_in("olivia@example.com").await;
    let res = browser.post(app.url("/account/sign-out-everywhere")).form(&[("x", "1")]).send().await.expect("post");
    let body = expect_status(res, StatusCode::FORBIDDEN).await;
    assert!(body.contains("This form has expired. Reload the page and try again."), "{body}");
    let res = browser
        .post(app.url("/account/sign-out-everywhere"))
        .form(&[("csrf_token", "0000")])
        .send()
        .await
        .expect("post");
    expect_status(res, StatusCode::FORBIDDEN).await;
    // A wrong header is refused too; a cross-site request even with the right token.
    let token = app.csrf(&browser).await;
    let res = browser.post(app.url("/logout")).header("X-CSRF-Token", "nope").send().await.expect("post");
    expect_status(res, StatusCode::FORBIDDEN).await;
    let res = browser
        .post(app.url("/logout"))
        .header("X-CSRF-Token", &token)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("post");
    let body = expect_status(res, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Requests from other sites are not accepted"));
    // Still signed in: none of the refused requests did anything.
    expect_status(app.get(&browser, "/account").await, StatusCode::OK).await;
    let res = browser.post(app.url("/logout")).header("X-CSRF-Token", &token).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn non_member_gets_a_403_that_names_the_workspace(app: TestApp) {
    let (_, acme) = app.create_owner("olivia@example.com", "Olivia", "Acme Bots", Plan::Professional).await;
    app.create_owner("sam@example.com", "Sam", "Sam's Shop", Plan::Free).await;
    let sam = app.signed_in("sam@example.com").await;
    let body =
        expect_status(app.get(&sam, &format!("/w/{}/settings/users", acme.slug)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("You don't have access to Acme Bots"), "{body}");
    assert!(!body.contains("olivia@example.com"), "no member data leaks");
}

async fn anonymous_visitor_is_sent_to_sign_in_and_back(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let browser = app.browser();
    let page = format!("/w/{}/settings/users", ws.slug);
    let res = app.get(&browser, &page).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert_eq!(to, format!("/login?next={page}"));
    let login = expect_status(app.get(&browser, &to).await, StatusCode::OK).await;
    assert!(login.contains(&format!("name=\"next\" value=\"{page}\"")), "{login}");
    let token = csrf_from(&login).expect("csrf");
    let res = browser
        .post(app.url("/login"))
        .form(&[("email", "olivia@example.com"), ("password", PASSWORD), ("next", &page), ("csrf_token", &token)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), page, "back to the page asked for");
    // An off-site `next` is ignored.
    let other = app.browser();
    let login = expect_status(app.get(&other, "/login?next=//evil.example/x").await, StatusCode::OK).await;
    let token = csrf_from(&login).expect("csrf");
    let res = other
        .post(app.url("/login"))
        .form(&[
            ("email", "olivia@example.com"),
            ("password", PASSWORD),
            ("next", "//evil.example/x"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(location(&res), "/");
}

async fn sign_out_ends_the_session(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.signed_in("olivia@example.com").await;
    let res = app.post_form(&browser, "/logout", &[]).await;
    assert_eq!(location(&res), "/login");
    let body = expect_status(app.get(&browser, "/login").await, StatusCode::OK).await;
    assert!(body.contains("You are signed out."));
    let res = app.get(&browser, &format!("/w/{}/settings/users", ws.slug)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn sign_out_everywhere_ends_other_sessions(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let laptop = app.signed_in("olivia@example.com").await;
    let phone = app.signed_in("olivia@example.com").await;
    let page = format!("/w/{}/settings/users", ws.slug);
    expect_status(app.get(&phone, &page).await, StatusCode::OK).await;
    let res = app.post_form(&laptop, "/account/sign-out-everywhere", &[]).await;
    assert_eq!(location(&res), "/login");
    assert_eq!(app.get(&phone, &page).await.status(), StatusCode::SEE_OTHER, "the phone is signed out");
    assert_eq!(app.get(&laptop, &page).await.status(), StatusCode::SEE_OTHER, "and this browser too");
    // Signing in again works.
    let again = app.signed_in("olivia@example.com").await;
    expect_status(app.get(&again, &page).await, StatusCode::OK).await;
}

async fn password_change_ends_other_sessions_but_not_this_one(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let laptop = app.signed_in("olivia@example.com").await;
    let phone = app.signed_in("olivia@example.com").await;
    let page = format!("/w/{}/settings/users", ws.slug);
    let res = app
        .post_form(
            &laptop,
            "/account/password",
            &[
                ("current_password", "not it"),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    let body = expect_status(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.contains("Your current password is not right."));
    let res = app
        .post_form(
            &laptop,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    expect_status(app.get(&laptop, &page).await, StatusCode::OK).await;
    assert_eq!(app.get(&phone, &page).await.status(), StatusCode::SEE_OTHER, "other sessions end");
    assert_eq!(app.sign_in(&app.browser(), "olivia@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sign_in(&app.browser(), "olivia@example.com", "a brand new password").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn tampered_cookie_is_a_signed_out_visitor(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.browser();
    let res = browser
        .get(app.url(&format!("/w/{}/settings/users", ws.slug)))
        .header("Cookie", "roster_session=AAAAthis-is-not-a-valid-cookie")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"));
    let res = browser.get(app.url("/login")).header("Cookie", "roster_session=garbage").send().await.expect("get");
    expect_status(res, StatusCode::OK).await;
}

async fn unknown_pages_and_workspaces_are_404_pages(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.signed_in("olivia@example.com").await;
    let body = expect_status(app.get(&browser, "/no/such/page").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("There is nothing at this address."));
    let body = expect_status(app.get(&browser, "/w/no-such-ws/settings/users").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("No workspace at this address"));
}

async fn security_headers_are_sent(app: TestApp) {
    let res = app.get(&app.browser(), "/login").await;
    let h = res.headers();
    let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    assert_eq!(h.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    let body = res.text().await.expect("body");
    assert!(!body.contains("<script>"), "no inline script");
    // Static files are served from the binary with long cache headers on versioned URLs.
    let css = body.split("href=\"").nth(1).and_then(|s| s.split('"').next()).expect("stylesheet link");
    assert!(css.starts_with("/static/app.css?v="));
    let res = app.get(&app.browser(), css).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default().contains("immutable"));
    let res = app.get(&app.browser(), "/static/htmx-2.0.11.min.js").await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn health_check_reports_ok(app: TestApp) {
    let body = expect_status(app.get(&app.browser(), "/healthz").await, StatusCode::OK).await;
    assert_eq!(body, "ok\n");
    let _ = Role::Member;
}

async fn oversized_forms_are_refused_with_413(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let browser = app.signed_in("olivia@example.com").await;
    let token = app.csrf(&browser).await;
    let huge = "a".repeat(70 * 1024);
    let res = browser
        .post(app.url("/w/acme/settings/users/invitations"))
        .form(&[("csrf_token", token.as_str()), ("emails", huge.as_str())])
        .send()
        .await
        .expect("post");
    let body = expect_status(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(body.contains("That form is too large"), "{body}");
    let count: i64 = app
        .db(|conn| {
            use diesel::prelude::*;
            roster::db::schema::invitations::table.count().get_result(conn).expect("count")
        })
        .await;
    assert_eq!(count, 0);
}

async fn repeated_failures_from_one_address_are_throttled_per_ip(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let browser = app.browser();
    // Guessing across many accounts from one address: each email stays under its own limit.
    for i in 0..roster::services::accounts::MAX_FAILURES_PER_IP {
        let email = format!("guess{i}@example.com");
        expect_status(app.sign_in(&browser, &email, "guess").await, StatusCode::UNAUTHORIZED).await;
    }
    let body =
        expect_status(app.sign_in(&browser, "olivia@example.com", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body.contains("Too many failed sign-ins"), "{body}");
}
