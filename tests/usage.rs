//! The shared allowance: API keys, usage ingestion, roll-ups, caps, alerts and the usage page.

mod common;

use common::{TestApp, expect_status, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::domain::plan::Plan;
use roster::domain::role::Role;
use serde_json::{Value, json};

backend_tests!(
    api_key_is_shown_once_and_a_revoked_key_gets_401,
    single_and_batch_events_with_per_event_reasons,
    malformed_requests_get_specific_400s_and_413,
    rollups_equal_the_sum_of_events_across_a_month_boundary,
    exhausted_allowance_refuses_new_events_with_402,
    member_cap_refuses_that_member_only,
    alerts_email_the_owner_once_per_threshold,
    usage_page_shows_the_numbers_of_a_known_data_set,
);

/// A key for `ws`, created through the service as the owner would on the page.
async fn key_for(app: &TestApp, ws_id: i64) -> String {
    app.db(move |conn| {
        let owner = roster::db::audit::Actor::system();
        roster::services::api_keys::create(conn, ws_id, "Test bot", &owner, Role::Owner).expect("key").1
    })
    .await
}

async fn post_usage(app: &TestApp, key: &str, body: &Value) -> (StatusCode, Value) {
    let res = app.browser().post(app.url("/api/v1/usage")).bearer_auth(key).json(body).send().await.expect("post");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn api_key_is_shown_once_and_a_revoked_key_gets_401(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    let owner = app.signed_in("olivia@example.com").await;
    let url = format!("/w/{}/settings/api-keys", ws.slug);
    let body = expect_status(app.post_form(&owner, &url, &[("name", "Production bot")]).await, StatusCode::OK).await;
    assert!(visible_text(&body).contains("Copy the key Production bot now. It is shown only this once"));
    let start = body.find("value=\"rk_live_").expect("key shown") + "value=\"".len();
    let key = body[start..].split('"').next().expect("key").to_owned();
    let list = expect_status(app.get(&owner, &url).await, StatusCode::OK).await;
    assert!(!list.contains(&key), "never shown again");
    assert!(visible_text(&list).contains("Production bot"));
    let (status, _) =
        post_usage(&app, &key, &json!({"member": "mo@example.com", "messages": 1, "idempotency_key": "a"})).await;
    assert_eq!(status, StatusCode::OK);
    let list = visible_text(&expect_status(app.get(&owner, &url).await, StatusCode::OK).await);
    assert!(list.contains("just now"), "last used is shown: {list}");
    let id: i64 = app
        .db(|conn| {
            roster::db::schema::api_keys::table.select(roster::db::schema::api_keys::id).first(conn).expect("id")
        })
        .await;
    let res = app.post_form(&owner, &format!("{url}/{id}/revoke"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, body) =
        post_usage(&app, &key, &json!({"member": "mo@example.com", "messages": 1, "idempotency_key": "b"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_api_key");
    let (status, body) = post_usage(&app, "rk_live_made-up", &json!({})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
    let res = app.browser().post(app.url("/api/v1/usage")).json(&json!({})).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let actions: Vec<String> = app.audit_actions(ws.id).await.into_iter().map(|a| a.0).collect();
    assert!(actions.contains(&"api_key.created".into()) && actions.contains(&"api_key.revoked".into()));
    let member = app.signed_in("mo@example.com").await;
    expect_status(app.get(&member, &url).await, StatusCode::FORBIDDEN).await;
}

async fn single_and_batch_events_with_per_event_reasons(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let bob = app.add_member(&ws, "bob@example.com", "Bob", Role::Member).await;
    let (_, other) = app.create_owner("sam@example.com", "Sam", "Other", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    let res = app.post_form(&owner, &format!("/w/{}/projects", ws.slug), &[("name", "Support Bot")]).await;
    let support: i64 = common::location(&res).rsplit('/').next().and_then(|s| s.parse().ok()).expect("id");
    let sam = app.signed_in("sam@example.com").await;
    let res = app.post_form(&sam, &format!("/w/{}/projects", other.slug), &[("name", "Theirs")]).await;
    let theirs: i64 = common::location(&res).rsplit('/').next().and_then(|s| s.parse().ok()).expect("id");
    let key = key_for(&app, ws.id).await;

    let (status, body) = post_usage(&app, &key, &json!({"member": "BOB@example.com", "kind": "message", "messages": 3, "tokens": 1200, "idempotency_key": "e1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["allowance"]["messages"], json!({"limit": 10_000, "used": 3, "left": 9_997}));
    assert_eq!(body["allowance"]["tokens"]["left"], 5_000_000 - 1_200);

    let batch = json!({"events": [
        {"member": bob.id, "project": support, "kind": "agent_run", "messages": 2, "tokens": 500, "idempotency_key": "e2"},
        {"member": "stranger@example.com", "messages": 1, "idempotency_key": "e3"},
        {"member": "bob@example.com", "project": theirs, "messages": 1, "idempotency_key": "e4"},
        {"member": "bob@example.com", "messages": 3, "tokens": 1200, "idempotency_key": "e1"},
        {"member": "bob@example.com", "project": "Support Bot", "kind": "automation", "messages": 1, "tokens": 10, "idempotency_key": "e5"},
        {"member": "bob@example.com", "messages": 1, "idempotency_key": "e5"},
        {"member": "sam@example.com", "messages": 1, "idempotency_key": "e6"},
    ]});
    let (status, body) = post_usage(&app, &key, &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["accepted"].as_i64(), body["duplicates"].as_i64(), body["rejected"].as_i64()),
        (Some(2), Some(2), Some(3))
    );
    let r = &body["results"];
    assert_eq!(r[0]["status"], "accepted");
    assert_eq!(r[1]["reason"], "not_a_member");
    assert_eq!(r[1]["message"], "stranger@example.com is not an active member of Acme.");
    assert_eq!(r[2]["reason"], "unknown_project");
    assert_eq!(r[2]["message"], format!("Project {theirs} is not in Acme."));
    assert_eq!(r[3]["status"], "duplicate");
    assert_eq!(r[4]["status"], "accepted");
    assert_eq!(r[5]["status"], "duplicate", "a key repeated within the batch counts once");
    assert_eq!(r[6]["reason"], "not_a_member", "a member of another workspace is not charged here");
    assert_eq!(body["allowance"]["messages"]["used"], 6);
    // Retrying the whole batch counts nothing twice.
    let (_, again) = post_usage(&app, &key, &batch).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["allowance"]["messages"]["used"], 6);
    let counted: i64 =
        app.db(|conn| roster::db::schema::usage_events::table.count().get_result(conn).expect("count")).await;
    assert_eq!(counted, 3);
}

async fn malformed_requests_get_specific_400s_and_413(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let key = key_for(&app, ws.id).await;
    let send = |body: String| {
        let key = key.clone();
        let url = app.url("/api/v1/usage");
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, b) = send("{\"member\": ".into()).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    assert!(b["message"].as_str().unwrap_or_default().starts_with("The body is not valid JSON"));
    let (s, b) = send(json!({"member": "a@x.io", "tokens": "12", "idempotency_key": "k"}).to_string()).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tokens must be a whole number, not a string."))
    );
    let (s, b) =
        send(json!({"events": [{"member": "a@x.io", "messages": -1, "idempotency_key": "k"}]}).to_string()).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("events[0].messages must be 0 or more, not -1."))
    );
    let many: Vec<Value> = (0..1001).map(|i| json!({"member": "a@x.io", "idempotency_key": i.to_string()})).collect();
    let (s, b) = send(Value::Array(many).to_string()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], "A batch holds at most 1,000 events; this one has 1,001.");
    let (s, b) = send(format!("{{\"pad\": \"{}\"}}", "x".repeat(1024 * 1024 + 10))).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")));
    let counted: i64 =
        app.db(|conn| roster::db::schema::usage_events::table.count().get_result(conn).expect("count")).await;
    assert_eq!(counted, 0, "nothing is stored from a refused request");
}

async fn rollups_equal_the_sum_of_events_across_a_month_boundary(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    for (e, n) in [("a@example.com", "A"), ("b@example.com", "B")] {
        app.add_member(&ws, e, n, Role::Member).await;
    }
    let key = key_for(&app, ws.id).await;
    let mut events = vec![
        json!({"member": "a@example.com", "messages": 7, "tokens": 70, "time": "2026-11-30T23:59:59Z", "idempotency_key": "late-nov"}),
        json!({"member": "a@example.com", "messages": 5, "tokens": 50, "time": "2026-12-01T00:00:00Z", "idempotency_key": "early-dec"}),
    ];
    for i in 0..40 {
        let who = if i % 3 == 0 { "b@example.com" } else { "a@example.com" };
        let kind = ["message", "agent_run", "automation"][i % 3];
        events.push(json!({"member": who, "kind": kind, "messages": i % 7, "tokens": i * 13, "time": format!("2026-12-0{}T10:00:00Z", 1 + i % 3), "idempotency_key": format!("k{i}")}));
    }
    let (status, body) = post_usage(&app, &key, &json!({"events": events})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 42);
    let ws_id = ws.id;
    let (raw, monthly, daily) = app
        .db(move |conn| {
            use roster::db::schema::{usage_daily as d, usage_events as e, usage_monthly as m};
            let raw: Vec<(i64, chrono::NaiveDateTime, i64, i64, String)> = e::table
                .filter(e::workspace_id.eq(ws_id))
                .select((e::user_id, e::occurred_at, e::messages, e::tokens, e::kind))
                .load(conn)
                .expect("events");
            let monthly: Vec<(i64, chrono::NaiveDate, i64, i64, i64, i64)> = m::table
                .filter(m::workspace_id.eq(ws_id))
                .select((m::user_id, m::month, m::messages, m::tokens, m::agent_runs, m::automations))
                .load(conn)
                .expect("monthly");
            let daily: Vec<(chrono::NaiveDate, i64, i64)> = d::table
                .filter(d::workspace_id.eq(ws_id))
                .select((d::day, d::messages, d::tokens))
                .load(conn)
                .expect("daily");
            (raw, monthly, daily)
        })
        .await;
    use std::collections::BTreeMap;
    let mut want: BTreeMap<(i64, chrono::NaiveDate), (i64, i64, i64, i64)> = BTreeMap::new();
    let mut want_daily: BTreeMap<chrono::NaiveDate, (i64, i64)> = BTreeMap::new();
    for (u, t, msgs, toks, kind) in &raw {
        let w = want.entry((*u, roster::db::usage::month_of(*t))).or_default();
        w.0 += msgs;
        w.1 += toks;
        w.2 += i64::from(kind == "agent_run");
        w.3 += i64::from(kind == "automation");
        let d = want_daily.entry(t.date()).or_default();
        d.0 += msgs;
        d.1 += toks;
    }
    let mut got: BTreeMap<(i64, chrono::NaiveDate), (i64, i64, i64, i64)> = BTreeMap::new();
    for (u, month, m, t, a, au) in monthly {
        let g = got.entry((u, month)).or_default();
        g.0 += m;
        g.1 += t;
        g.2 += a;
        g.3 += au;
    }
    assert_eq!(got, want, "the monthly roll-up equals the sum of the events");
    let got_daily: BTreeMap<_, _> = daily.into_iter().map(|(d, m, t)| (d, (m, t))).collect();
    assert_eq!(got_daily, want_daily);
    let months: Vec<String> = got.keys().map(|(_, m)| m.format("%Y-%m").to_string()).collect();
    assert!(
        months.contains(&"2026-11".to_owned()) && months.contains(&"2026-12".to_owned()),
        "the boundary splits months (UTC)"
    );
    let nov = roster::db::usage::month_of(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).and_then(|d| d.and_hms_opt(23, 59, 59)).expect("date"),
    );
    assert_eq!(got.iter().filter(|((_, m), _)| *m == nov).map(|(_, v)| v.0).sum::<i64>(), 7);
}

async fn exhausted_allowance_refuses_new_events_with_402(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let key = key_for(&app, ws.id).await;
    let (status, body) =
        post_usage(&app, &key, &json!({"member": "olivia@example.com", "messages": 100, "idempotency_key": "all"}))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowance"]["messages"]["left"], 0);
    let (status, body) =
        post_usage(&app, &key, &json!({"member": "olivia@example.com", "messages": 1, "idempotency_key": "one-more"}))
            .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "allowance_exhausted");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("monthly allowance of 100 messages and 50,000 tokens a month"), "{message}");
    let resets = body["allowance"]["resets_at"].as_str().unwrap_or_default();
    assert!(resets.ends_with("-01T00:00:00Z"), "{resets}");
}

async fn member_cap_refuses_that_member_only(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "bob@example.com", "Bob", Role::Member).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    let owner = app.signed_in("olivia@example.com").await;
    let bob = app.membership_id(&ws, "bob@example.com").await;
    let caps = format!("/w/{}/settings/usage/caps/{bob}", ws.slug);
    let body = expect_status(
        app.post_form(&owner, &caps, &[("messages", "ten"), ("tokens", "")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("The message cap must be a whole number of 0 or more"));
    let res = app.post_form(&owner, &caps, &[("messages", "10"), ("tokens", "")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(&expect_status(app.get(&owner, &common::location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Bob's monthly cap is now 10 messages."), "{page}");
    let key = key_for(&app, ws.id).await;
    let (status, _) =
        post_usage(&app, &key, &json!({"member": "bob@example.com", "messages": 10, "idempotency_key": "b1"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        post_usage(&app, &key, &json!({"member": "bob@example.com", "messages": 1, "idempotency_key": "b2"})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"], "member_cap_reached");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Bob has reached their monthly cap of 10 messages; it resets")
    );
    let (status, body) = post_usage(
        &app,
        &key,
        &json!({"events": [
            {"member": "bob@example.com", "messages": 1, "idempotency_key": "b3"},
            {"member": "ada@example.com", "messages": 1, "idempotency_key": "a1"},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the others carry on");
    assert_eq!(body["results"][0]["reason"], "member_cap_reached");
    assert_eq!(body["results"][1]["status"], "accepted");
    // Admins cap members, not other admins or the owner.
    let admin = app.signed_in("ada@example.com").await;
    let olivia = app.membership_id(&ws, "olivia@example.com").await;
    expect_status(
        app.post_form(&admin, &format!("/w/{}/settings/usage/caps/{olivia}", ws.slug), &[("messages", "1")]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let rows = app
        .db(move |conn| {
            roster::db::audit::AuditEvent::with_action(conn, ws.id, roster::domain::audit::Action::UsageCapSet)
                .expect("rows")
        })
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_email.as_deref(), Some("bob@example.com"));
}

async fn alerts_email_the_owner_once_per_threshold(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    let key = key_for(&app, ws.id).await;
    let owner = app.signed_in("olivia@example.com").await;
    let users = format!("/w/{}/settings/users", ws.slug);
    assert!(!expect_status(app.get(&owner, &users).await, StatusCode::OK).await.contains("usage-alert"));
    let send = |k: &'static str, n: i64| {
        let body = json!({"member": "olivia@example.com", "messages": n, "idempotency_key": k});
        let (app, key) = (&app, key.clone());
        async move { post_usage(app, &key, &body).await }
    };
    send("a", 79).await;
    assert_eq!(app.mail_count_to("olivia@example.com"), 0);
    send("b", 1).await;
    let mail = app.mail_to("olivia@example.com").await;
    assert_eq!(mail.subject, "Acme has used 80% of its monthly allowance");
    assert!(mail.text.contains("Messages: 80 of 100"), "{}", mail.text);
    let page = visible_text(&expect_status(app.get(&owner, &users).await, StatusCode::OK).await);
    assert!(page.contains("Acme has used 80% of its monthly allowance"), "{page}");
    let member = app.signed_in("mo@example.com").await;
    assert!(
        !expect_status(app.get(&member, &users).await, StatusCode::OK).await.contains("usage-alert"),
        "only owner and admins"
    );
    send("c", 10).await;
    send("d", 10).await;
    for _ in 0..100 {
        if app.mail_count_to("olivia@example.com") == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail_count_to("olivia@example.com"), 2, "one email per threshold");
    assert_eq!(app.mail_to("olivia@example.com").await.subject, "Acme has used its whole monthly allowance");
    let page =
        visible_text(&expect_status(app.get(&owner, &format!("/w/{}/projects", ws.slug)).await, StatusCode::OK).await);
    assert!(
        page.contains("Acme has used its whole monthly allowance; new usage is refused until"),
        "on every page: {page}"
    );
}

async fn usage_page_shows_the_numbers_of_a_known_data_set(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Builder", Role::Member).await;
    let owner = app.signed_in("olivia@example.com").await;
    app.post_form(&owner, &format!("/w/{}/projects", ws.slug), &[("name", "Support Bot")]).await;
    let key = key_for(&app, ws.id).await;
    let now = roster::domain::now();
    let this_month = now.format("%Y-%m").to_string();
    let day1 = format!("{this_month}-01T09:00:00Z");
    let (status, body) = post_usage(&app, &key, &json!({"events": [
        {"member": "bob@example.com", "project": "Support Bot", "messages": 300, "tokens": 90_000, "time": day1, "idempotency_key": "1"},
        {"member": "bob@example.com", "kind": "agent_run", "messages": 34, "tokens": 1_000, "time": day1, "idempotency_key": "2"},
        {"member": "olivia@example.com", "messages": 900, "tokens": 9_000, "time": day1, "idempotency_key": "3"},
        {"member": "olivia@example.com", "messages": 5, "time": "2026-11-15T12:00:00Z", "idempotency_key": "4"},
    ]}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = format!("/w/{}/settings/usage", ws.slug);
    let body = expect_status(app.get(&owner, &url).await, StatusCode::OK).await;
    let text = visible_text(&body);
    assert!(text.contains("Messages 1,234 of 10,000"), "{text}");
    assert!(text.contains("Tokens 100,000 of 5,000,000"), "{text}");
    assert!(text.contains("Olivia Owner olivia@example.com 900 9,000 0 0 72.9%"), "{text}");
    assert!(text.contains("Bob Builder bob@example.com 334 91,000 1 0 27.0%"), "{text}");
    assert!(text.contains("Support Bot 300 90,000"), "{text}");
    assert!(text.contains("No project 934 10,000"), "{text}");
    assert!(body.contains(&format!(
        "<title>{}: 1,234 messages, 100,000 tokens</title>",
        chrono::NaiveDate::parse_from_str(&format!("{this_month}-01"), "%Y-%m-%d").expect("d").format("%b %-d")
    )));
    assert!(body.contains("role=\"img\""), "the chart has a text alternative");
    assert!(text.contains("At this pace"), "a forecast: {text}");
    assert!(body.contains("<option value=\"2026-11\""), "previous months are selectable");
    let nov =
        visible_text(&expect_status(app.get(&owner, &format!("{url}?month=2026-11")).await, StatusCode::OK).await);
    assert!(nov.contains("Messages 5 of 10,000"), "{nov}");
    let body = expect_status(app.get(&owner, &format!("{url}?month=13-2026")).await, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("'13-2026' is not a month; use the form 2026-12."));
    // My Users shows each member's usage this month.
    let users = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(users.contains("334 messages 91,000 tokens"), "{users}");
    let member = app.signed_in("bob@example.com").await;
    expect_status(app.get(&member, &url).await, StatusCode::FORBIDDEN).await;
}
