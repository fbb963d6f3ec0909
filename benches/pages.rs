//! Page speed at scale: My Users with 500 members and 50 pending invitations, and the audit log's
//! first page against a page 400 pages deep (20,000 rows; keyset cursor, not OFFSET). Starts the
//! real server and measures HTTP round trips on loopback. Run with `cargo bench --bench pages`;
//! the figures are kept in docs/PERFORMANCE.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use diesel::prelude::*;
use roster::db::audit::{Actor, Entry};
use roster::domain::audit::Action;
use roster::domain::plan::Plan;

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.1} ms · p95 {:.1} ms · max {:.1} ms", p(0.5), p(0.95), p(1.0))
}

async fn seed(app: &TestApp) -> roster::db::workspace::Workspace {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Big Co", Plan::Business).await;
    let ws_id = ws.id;
    app.db(move |conn| {
        use roster::db::schema::{invitations, memberships, users};
        let hash = roster::services::accounts::hash_password("benchmark password").expect("hash");
        let now = roster::domain::now();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            roster::db::lock_workspace(conn, ws_id)?;
            for i in 0..499 {
                let email = format!("member{i:03}@example.com");
                diesel::insert_into(users::table)
                    .values((
                        users::email.eq(&email),
                        users::name.eq(format!("Member {i:03}")),
                        users::password_hash.eq(&hash),
                        users::is_staff.eq(false),
                        users::session_epoch.eq(0),
                        users::created_at.eq(now),
                    ))
                    .execute(conn)?;
                let uid: i64 = users::table.filter(users::email.eq(&email)).select(users::id).first(conn)?;
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::workspace_id.eq(ws_id),
                        memberships::user_id.eq(uid),
                        memberships::role.eq(if i % 25 == 0 { "admin" } else { "member" }),
                        memberships::created_at.eq(now),
                        memberships::last_active_at.eq(Some(now - chrono::Duration::days(i % 60))),
                    ))
                    .execute(conn)?;
            }
            for i in 0..50 {
                diesel::insert_into(invitations::table)
                    .values((
                        invitations::workspace_id.eq(ws_id),
                        invitations::email.eq(format!("invitee{i:02}@example.com")),
                        invitations::role.eq("member"),
                        invitations::status.eq("pending"),
                        invitations::token_hash.eq(format!("bench-{i}")),
                        invitations::created_at.eq(now),
                        invitations::expires_at.eq(now + chrono::Duration::days(7)),
                        invitations::last_sent_at.eq(now),
                        invitations::send_count.eq(1),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .expect("seed members");
    })
    .await;
    ws
}

async fn write_audit_rows(app: &TestApp, ws_id: i64, n: usize) {
    app.db(move |conn| {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            roster::db::lock_workspace(conn, ws_id)?;
            let actor = Actor {
                user_id: None,
                name: "Importer".into(),
                email: "import@example.com".into(),
                kind: "system",
                ip: None,
                user_agent: None,
            };
            for i in 0..n {
                let label = format!("Project {i}");
                roster::db::audit::record(
                    conn,
                    &Entry {
                        workspace_id: Some(ws_id),
                        action: Action::ProjectCreated,
                        actor: &actor,
                        target_type: Some("project"),
                        target_id: Some(i as i64),
                        target_label: Some(&label),
                        target_email: None,
                        details: serde_json::json!({}),
                    },
                )?;
            }
            Ok(())
        })
        .expect("audit rows");
    })
    .await;
}

async fn time_get(app: &TestApp, client: &reqwest::Client, path: &str, runs: usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let res = client.get(app.url(path)).send().await.expect("get");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        size = res.bytes().await.expect("body").len();
        times.push(start.elapsed());
    }
    (times, size)
}

async fn run(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.log_filter = "error".into()).await else { return };
    let ws = seed(&app).await;
    write_audit_rows(&app, ws.id, 20_000).await;
    let owner = app.signed_in("olivia@example.com").await;
    let users = format!("/w/{}/settings/users", ws.slug);
    time_get(&app, &owner, &users, 5).await;
    let (times, size) = time_get(&app, &owner, &users, 100).await;
    println!("| {backend:?} | My Users, 500 members + 50 invitations ({} KB) | {} |", size / 1024, summary(times));
    let logs = format!("/w/{}/settings/users/logs", ws.slug);
    let (first, _) = time_get(&app, &owner, &logs, 50).await;
    println!("| {backend:?} | Logs, first page of 20,000 rows | {} |", summary(first));
    let deep: i64 = app
        .db(move |conn| {
            use roster::db::schema::audit_events::dsl as a;
            a::audit_events
                .filter(a::workspace_id.eq(ws.id))
                .order(a::id.asc())
                .select(a::id)
                .offset(60)
                .first(conn)
                .expect("id")
        })
        .await;
    let (deep_times, _) = time_get(&app, &owner, &format!("{logs}?before={deep}"), 50).await;
    println!("| {backend:?} | Logs, page 400 (keyset cursor) | {} |", summary(deep_times));
    let (filtered, _) = time_get(&app, &owner, &format!("{logs}?actor=import&target=nobody"), 20).await;
    println!("| {backend:?} | Logs, filter matching nothing (scans the workspace) | {} |", summary(filtered));
    let start = Instant::now();
    let csv = owner.get(app.url(&format!("{logs}.csv"))).send().await.expect("csv").bytes().await.expect("body");
    println!(
        "| {backend:?} | CSV export of 20,000 rows ({} KB, streamed) | {:.0} ms |",
        csv.len() / 1024,
        start.elapsed().as_secs_f64() * 1000.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| backend | what | time per request |");
    println!("|---|---|---|");
    run(Backend::Sqlite).await;
    run(Backend::Postgres).await;
}
