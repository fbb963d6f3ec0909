//! The Logs panel, the full log with filters, cursor pages and CSV export, support staff reading,
//! tamper evidence and retention.

mod common;

use chrono::Duration;
use common::{TestApp, expect_status, location, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::db::audit::{Actor, Entry};
use roster::domain::audit::Action;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    each_action_reads_as_a_sentence,
    filters_and_cursor_pages_without_duplicates_or_gaps,
    csv_export_quotes_and_defuses_formulas,
    members_cannot_read_the_log,
    support_staff_search_and_read_and_their_reading_is_logged,
    verify_passes_on_a_clean_chain_and_reports_a_forged_row,
    retention_prunes_the_oldest_rows_and_the_chain_still_verifies,
);

async fn each_action_reads_as_a_sentence(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    let owner = app.signed_in("olivia@example.com").await;
    let slug = ws.slug.clone();
    app.invite(&owner, &slug, "bob@example.com", "member").await;
    let link = app.invitation_path("bob@example.com").await;
    let bob = app.browser();
    app.post_form(
        &bob,
        &format!("{link}/accept"),
        &[("mode", "signup"), ("name", "Bob Member"), ("password", "bob's long password")],
    )
    .await;
    app.post_form(&owner, &format!("/w/{slug}/settings/plan"), &[("plan", "business")]).await;
    app.invite(&owner, &slug, "carol@example.com", "member").await;
    let carol: i64 = app
        .db(|conn| {
            use roster::db::schema::invitations::dsl as i;
            i::invitations.filter(i::email.eq("carol@example.com")).select(i::id).first(conn).expect("id")
        })
        .await;
    app.post_form(&owner, &format!("/w/{slug}/settings/users/invitations/{carol}/revoke"), &[("confirm", "yes")]).await;
    let ada = app.membership_id(&ws, "ada@example.com").await;
    app.post_form(&owner, &format!("/w/{slug}/settings/users/members/{ada}/role"), &[("role", "member")]).await;
    let bob_id = app.membership_id(&ws, "bob@example.com").await;
    app.post_form(&owner, &format!("/w/{slug}/settings/users/members/{bob_id}/remove"), &[("confirm", "yes")]).await;
    let ada_client = app.signed_in("ada@example.com").await;
    app.post_form(&ada_client, &format!("/w/{slug}/leave"), &[("confirm", "yes")]).await;

    let text = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{slug}/settings/users/logs")).await, StatusCode::OK).await,
    );
    for sentence in [
        "Olivia Owner created the workspace on the Professional plan",
        "Ada Admin (ada@example.com) was added as Admin",
        "Olivia Owner invited bob@example.com as Member",
        "bob@example.com accepted the invitation",
        "Bob Member (bob@example.com) joined as Member",
        "Olivia Owner changed the plan from Professional to Business",
        "Olivia Owner removed the invitation to carol@example.com",
        "Olivia Owner changed Ada Admin's role from Admin to Member",
        "Olivia Owner removed Bob Member (bob@example.com)",
        "Ada Admin (ada@example.com) left the workspace",
    ] {
        assert!(text.contains(sentence), "missing: {sentence}\n{text}");
    }
    // The panel on My Users shows the latest 20, newest first, with a link to the full log.
    let users = expect_status(app.get(&owner, &format!("/w/{slug}/settings/users")).await, StatusCode::OK).await;
    let panel = visible_text(users.split("id=\"logs-panel\"").nth(1).expect("panel"));
    assert!(panel.find("left the workspace") < panel.find("created the workspace"), "newest first");
    assert!(users.contains(&format!("href=\"/w/{slug}/settings/users/logs\"")));
}

/// Writes `n` audit rows for `ws` (project creations with numbered names) through the library.
async fn write_rows(app: &TestApp, ws_id: i64, n: usize, label: &'static str, when: Option<chrono::NaiveDateTime>) {
    app.db(move |conn| {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            roster::db::lock_workspace(conn, ws_id)?;
            let actor = Actor {
                user_id: None,
                name: "Robo Importer".into(),
                email: "robo@example.com".into(),
                kind: "system",
                ip: None,
                user_agent: None,
            };
            for i in 0..n {
                let name = format!("{label} {i}");
                let entry = Entry {
                    workspace_id: Some(ws_id),
                    action: Action::ProjectCreated,
                    actor: &actor,
                    target_type: Some("project"),
                    target_id: Some(i as i64),
                    target_label: Some(&name),
                    target_email: Some("target@example.com"),
                    details: serde_json::json!({}),
                };
                match when {
                    Some(t) => roster::db::audit::record_at(conn, &entry, t)?,
                    None => roster::db::audit::record(conn, &entry)?,
                }
            }
            Ok(())
        })
        .expect("rows")
    })
    .await;
}

/// The ids on a log page, in order.
fn ids_on(body: &str) -> Vec<i64> {
    body.split("<li id=\"entry-").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect()
}

async fn filters_and_cursor_pages_without_duplicates_or_gaps(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Business).await;
    write_rows(&app, ws.id, 120, "Bot", None).await;
    let owner = app.signed_in("olivia@example.com").await;
    let base = format!("/w/{}/settings/users/logs", ws.slug);
    let mut seen = Vec::new();
    let mut url = format!("{base}?action=project.created");
    let mut pages = 0;
    loop {
        let body = expect_status(app.get(&owner, &url).await, StatusCode::OK).await;
        let ids = ids_on(&body);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first within a page");
        seen.extend(ids);
        pages += 1;
        if pages == 1 {
            // New rows arrive while someone is paging: they must not shift the older pages.
            write_rows(&app, ws.id, 7, "Late", None).await;
        }
        let Some(next) = body.split("rel=\"next\" href=\"").nth(1).and_then(|s| s.split('"').next()) else { break };
        url = next.replace("&amp;", "&");
        assert!(url.contains("action=project.created"), "the filter is kept in the cursor link: {url}");
    }
    assert_eq!(pages, 3, "50 + 50 + 20");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 120, "no duplicates");
    assert_eq!(seen.first().copied().unwrap_or_default() - seen.last().copied().unwrap_or_default(), 119, "no gaps");
    // Filters.
    let count = |q: String| {
        let url = format!("{base}?{q}");
        let owner = owner.clone();
        let app = &app;
        async move { ids_on(&expect_status(app.get(&owner, &url).await, StatusCode::OK).await).len() }
    };
    assert_eq!(count("actor=robo".into()).await, 50, "first page of the robot's rows");
    assert_eq!(count("actor=ROBO%20IMP".into()).await, 50, "any case, name or email");
    assert_eq!(count("actor=olivia".into()).await, 2, "workspace.created and member.added");
    assert_eq!(count("target=olivia%40example".into()).await, 1);
    assert_eq!(count("action=member.added".into()).await, 1);
    let today = roster::domain::now().date();
    assert_eq!(count(format!("from={}", today + Duration::days(1))).await, 0);
    assert_eq!(count(format!("to={}", today - Duration::days(1))).await, 0);
    assert_eq!(count(format!("from={today}&to={today}&action=member.added")).await, 1);
    let body = expect_status(app.get(&owner, &format!("{base}?from=yesterday")).await, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("The from date 'yesterday' is not a date; use the form 2026-12-04."));
    let body = expect_status(app.get(&owner, &format!("{base}?target=nobody%25")).await, StatusCode::OK).await;
    assert!(body.contains("No entries match these filters."), "% is matched literally");
}

async fn csv_export_quotes_and_defuses_formulas(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Business).await;
    app.add_member(&ws, "eve@example.com", "=HYPERLINK(\"http://evil.example\",\"click\")", Role::Member).await;
    app.add_member(&ws, "dan@example.com", "Smith, Dan \"The Man\"", Role::Member).await;
    write_rows(&app, ws.id, 1200, "Bulk", None).await;
    let owner = app.signed_in("olivia@example.com").await;
    let res = app.get(&owner, &format!("/w/{}/settings/users/logs.csv", ws.slug)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv; charset=utf-8"));
    assert!(
        res.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .starts_with("attachment; filename=\"roster-log-acme-")
    );
    let body = res.text().await.expect("body");
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,time_utc,action,summary,actor_name,actor_email,actor_kind,ip,user_agent,target_type,target,target_email,details,hash"
    );
    assert_eq!(lines.len(), 1 + 1200 + 4, "header, the bulk rows, workspace.created and three member.added");
    assert!(
        body.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","),
        "formula defused and quoted"
    );
    assert!(body.contains("\"Smith, Dan \"\"The Man\"\"\""), "RFC 4180 quoting");
    // Filters apply to the export too.
    let filtered = app
        .get(&owner, &format!("/w/{}/settings/users/logs.csv?action=member.added", ws.slug))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(filtered.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 3);
}

async fn members_cannot_read_the_log(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    let member = app.signed_in("mo@example.com").await;
    for path in ["logs", "logs.csv"] {
        expect_status(app.get(&member, &format!("/w/{}/settings/users/{path}", ws.slug)).await, StatusCode::FORBIDDEN)
            .await;
    }
    let users = expect_status(app.get(&member, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(!users.contains("id=\"logs-panel\""), "no Logs panel for members");
}

async fn support_staff_search_and_read_and_their_reading_is_logged(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    app.create_owner("sam@example.com", "Sam", "Sam's Shop", Plan::Free).await;
    app.create_user("lee@support.example.com", "Lee", true).await;
    let lee = app.signed_in("lee@support.example.com").await;
    let res = app.get(&lee, "/").await;
    assert_eq!(location(&res), "/support");
    let text = visible_text(&expect_status(app.get(&lee, "/support?q=MO%40example").await, StatusCode::OK).await);
    assert!(text.contains("Acme Bots olivia@example.com Professional 2 of 3 seats used · Professional 0% of this month's allowance used"), "{text}");
    assert!(!text.contains("Sam's Shop"));
    let text = visible_text(&expect_status(app.get(&lee, "/support?q=acme").await, StatusCode::OK).await);
    assert!(text.contains("Acme Bots"));
    let logs = visible_text(
        &expect_status(app.get(&lee, &format!("/support/workspaces/{}/logs", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(logs.contains("Olivia Owner created the workspace"), "{logs}");
    assert!(logs.contains("Read-only. Your viewing is recorded"));
    let csv = app.get(&lee, &format!("/support/workspaces/{}/logs.csv", ws.slug)).await;
    assert_eq!(csv.status(), StatusCode::OK);
    let owner = app.signed_in("olivia@example.com").await;
    let text = visible_text(
        &expect_status(
            app.get(&owner, &format!("/w/{}/settings/users/logs?action=support.logs_viewed", ws.slug)).await,
            StatusCode::OK,
        )
        .await,
    );
    assert_eq!(
        text.matches("Support staff (Lee, support) viewed the logs").count(),
        2,
        "the page and the export: {text}"
    );
    // Nothing can be changed from the console: workspace pages and writes are closed to staff.
    expect_status(app.get(&lee, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::FORBIDDEN).await;
    expect_status(app.invite(&lee, &ws.slug, "x@example.com", "member").await, StatusCode::FORBIDDEN).await;
    // Everyone else gets a 404 for the console.
    expect_status(app.get(&owner, "/support").await, StatusCode::NOT_FOUND).await;
    expect_status(app.get(&owner, &format!("/support/workspaces/{}/logs", ws.slug)).await, StatusCode::NOT_FOUND).await;
}

fn drop_triggers_sql(app: &TestApp) -> &'static [&'static str] {
    match app.backend {
        common::Backend::Sqlite => &["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"],
        common::Backend::Postgres => &[
            "DROP TRIGGER audit_events_no_update ON audit_events",
            "DROP TRIGGER audit_events_no_delete ON audit_events",
        ],
    }
}

async fn verify_passes_on_a_clean_chain_and_reports_a_forged_row(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Business).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    write_rows(&app, ws.id, 10, "Bot", None).await;
    let report = app.db(|conn| roster::services::audit_log::verify(conn, None).expect("verify")).await;
    assert!(report.broken.is_empty(), "{report:?}");
    assert_eq!(report.rows, 13, "workspace.created, two member.added, ten more");
    // Behind the application's back: triggers dropped, a row's content changed.
    let sql = drop_triggers_sql(&app);
    let ws_id = ws.id;
    app.db(move |conn| {
        for s in sql {
            diesel::sql_query(*s).execute(conn).expect("drop trigger");
        }
        diesel::sql_query(format!("UPDATE audit_events SET target_label = 'Someone else' WHERE workspace_id = {ws_id} AND action = 'member.added' AND target_email = 'mo@example.com'"))
            .execute(conn)
            .expect("tamper");
    })
    .await;
    let report = app.db(move |conn| roster::services::audit_log::verify(conn, Some(ws_id)).expect("verify")).await;
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].action, "member.added");
    assert!(report.broken[0].problem.contains("does not match its own hash"), "{:?}", report.broken);
    // The command says so too, with a non-zero exit.
    let url = match &app.config.database_url {
        roster::db::DatabaseUrl::Sqlite(p) => p.clone(),
        roster::db::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["audit", "verify", "--workspace", &ws.slug])
        .env("ROSTER_DATABASE_URL", &url)
        .env("ROSTER_DATA_DIR", app.dir.path())
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BROKEN  Acme (acme): row") && stdout.contains("(member.added,"), "{stdout}");
    // A row inserted behind the application's back into a clean chain is reported at that row.
    let (_, clean) = app.create_owner("sam@example.com", "Sam", "Clean Co", Plan::Free).await;
    let clean_id = clean.id;
    app.db(move |conn| {
        diesel::sql_query(format!(
            "INSERT INTO audit_events (workspace_id, created_at, action, actor_name, actor_email, actor_kind, details, prev_hash, hash) \
             VALUES ({clean_id}, '2026-12-01 00:00:00', 'plan.changed', 'Mallory', 'm@x.io', 'user', '{{}}', 'forged', 'forged')"
        ))
        .execute(conn)
        .expect("forge");
    })
    .await;
    let report = app.db(move |conn| roster::services::audit_log::verify(conn, Some(clean_id)).expect("verify")).await;
    assert_eq!(report.broken.len(), 1, "{report:?}");
    assert_eq!(report.broken[0].action, "plan.changed");
    assert!(report.broken[0].problem.contains("does not point back"), "{:?}", report.broken);
}

async fn retention_prunes_the_oldest_rows_and_the_chain_still_verifies(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Business).await;
    let ws_id = ws.id;
    write_rows(&app, ws.id, 5, "Recent", None).await;
    // Without a recorded cutoff the database refuses to delete anything.
    let refused = app
        .db(move |conn| {
            diesel::sql_query(format!("DELETE FROM audit_events WHERE workspace_id = {ws_id}")).execute(conn)
        })
        .await;
    assert!(refused.is_err());
    let (workspaces, rows) = app.db(|conn| roster::services::audit_log::prune(conn, 30).expect("prune")).await;
    assert_eq!((workspaces, rows), (0, 0), "nothing is old enough");
    // A workspace whose log began 90 days ago (rows are appended in time order).
    let fresh_id: i64 = app
        .db(|conn| {
            use roster::db::schema::workspaces::dsl as w;
            diesel::insert_into(w::workspaces)
                .values((
                    w::slug.eq("ancient"),
                    w::name.eq("Ancient"),
                    w::plan.eq("business"),
                    w::lock_version.eq(0),
                    w::created_at.eq(roster::domain::now()),
                ))
                .execute(conn)
                .expect("ws");
            w::workspaces.filter(w::slug.eq("ancient")).select(w::id).first(conn).expect("id")
        })
        .await;
    write_rows(&app, fresh_id, 40, "Old", Some(roster::domain::now() - Duration::days(90))).await;
    write_rows(&app, fresh_id, 3, "New", None).await;
    let (workspaces, rows) = app.db(|conn| roster::services::audit_log::prune(conn, 30).expect("prune")).await;
    assert_eq!((workspaces, rows), (1, 40));
    let left: Vec<(String, Option<String>)> = app.audit_actions(fresh_id).await;
    assert_eq!(left.len(), 4, "3 kept rows and the pruning's own row");
    assert_eq!(left.last().map(|r| r.0.as_str()), Some("audit.pruned"));
    let report = app.db(|conn| roster::services::audit_log::verify(conn, None).expect("verify")).await;
    assert!(report.broken.is_empty(), "the chain verifies from the first kept row: {report:?}");
    // Kept rows still cannot be deleted or changed.
    let refused = app
        .db(move |conn| {
            diesel::sql_query(format!("DELETE FROM audit_events WHERE workspace_id = {fresh_id}")).execute(conn)
        })
        .await;
    assert!(refused.is_err());
    let refused = app
        .db(move |conn| {
            diesel::sql_query(format!("UPDATE audit_events SET actor_name = 'x' WHERE workspace_id = {fresh_id}"))
                .execute(conn)
        })
        .await;
    assert!(refused.is_err());
    let owner_text = roster::domain::audit::sentence(&roster::domain::audit::LogLine {
        action: "audit.pruned",
        actor_name: "Roster",
        actor_kind: "system",
        target_label: None,
        target_email: None,
        details: &serde_json::json!({"deleted": 40, "cutoff_date": "2026-11-04"}),
    });
    assert_eq!(owner_text, "Roster removed 40 log entries older than 2026-11-04 (retention policy)");
}
