//! Every migration goes down and up again on both backends, and the schema's rules hold in the
//! database itself.

mod common;

use common::TestApp;
use diesel::RunQueryDsl;
use roster::db;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    migrations_go_down_and_up_again,
    audit_rows_cannot_be_updated_or_deleted,
    one_membership_per_user_per_workspace_and_unique_emails,
    one_pending_invitation_per_email_per_workspace,
);

const TABLES: [&str; 18] = [
    "api_keys",
    "audit_events",
    "audit_retention",
    "email_outbox",
    "invitation_projects",
    "invitation_retired_tokens",
    "invitations",
    "login_failures",
    "memberships",
    "project_members",
    "projects",
    "setup_tokens",
    "usage_alerts",
    "usage_daily",
    "usage_events",
    "usage_monthly",
    "users",
    "workspaces",
];

async fn migrations_go_down_and_up_again(app: TestApp) {
    app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let (before, after_down, after_up, reverted, applied) = app
        .db(|conn| {
            let before = db::table_names(conn).expect("tables");
            let reverted = db::revert_all_migrations(conn).expect("down.sql works");
            let after_down = db::table_names(conn).expect("tables");
            let applied = db::run_migrations(conn).expect("up.sql works again");
            let after_up = db::table_names(conn).expect("tables");
            (before, after_down, after_up, reverted, applied)
        })
        .await;
    for t in TABLES {
        assert!(before.iter().any(|x| x == t), "{t} exists after migrating: {before:?}");
    }
    assert!(reverted >= 1 && reverted == applied);
    let leftovers: Vec<_> = after_down.iter().filter(|t| TABLES.contains(&t.as_str())).collect();
    assert!(leftovers.is_empty(), "down.sql leaves nothing behind: {leftovers:?}");
    assert_eq!(before, after_up);
}

async fn audit_rows_cannot_be_updated_or_deleted(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let (update, delete, count) = app
        .db(move |conn| {
            let update = diesel::sql_query("UPDATE audit_events SET actor_name = 'Mallory'").execute(conn);
            let delete = diesel::sql_query("DELETE FROM audit_events").execute(conn);
            let count = roster::db::audit::AuditEvent::latest(conn, ws.id, 100).expect("rows").len();
            (update, delete, count)
        })
        .await;
    let update = update.expect_err("UPDATE is refused");
    assert!(update.to_string().contains("audit_events rows cannot be updated"), "{update}");
    let delete = delete.expect_err("DELETE is refused");
    assert!(delete.to_string().contains("audit_events rows cannot be deleted"), "{delete}");
    assert_eq!(count, 2, "workspace.created and member.added are still there");
}

async fn one_membership_per_user_per_workspace_and_unique_emails(app: TestApp) {
    let (owner, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let (dup_member, dup_email, second_owner) = app
        .db(move |conn| {
            let dup_member = diesel::insert_into(roster::db::schema::memberships::table)
                .values(&roster::db::membership::NewMembership {
                    workspace_id: ws.id,
                    user_id: owner.id,
                    role: "member",
                    created_at: roster::domain::now(),
                    last_active_at: None,
                })
                .execute(conn);
            let dup_email = diesel::insert_into(roster::db::schema::users::table)
                .values(&roster::db::user::NewUser {
                    email: "olivia@example.com",
                    name: "Other Olivia",
                    password_hash: "x",
                    is_staff: false,
                    session_epoch: 0,
                    created_at: roster::domain::now(),
                })
                .execute(conn);
            (dup_member, dup_email, ws)
        })
        .await;
    assert!(dup_member.is_err(), "a second membership of the same account is refused");
    assert!(dup_email.is_err(), "a second account with the same email is refused");
    // A second owner is refused by the partial unique index.
    let bob = app.add_member(&second_owner, "bob@example.com", "Bob", Role::Admin).await;
    let ws_id = second_owner.id;
    let promote = app
        .db(move |conn| {
            use diesel::prelude::*;
            use roster::db::schema::memberships::dsl as m;
            diesel::update(m::memberships.filter(m::workspace_id.eq(ws_id)).filter(m::user_id.eq(bob.id)))
                .set(m::role.eq("owner"))
                .execute(conn)
        })
        .await;
    assert!(promote.is_err(), "one owner per workspace");
}

async fn one_pending_invitation_per_email_per_workspace(app: TestApp) {
    let (owner, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let results = app
        .db(move |conn| {
            let insert = |conn: &mut db::DbConnection, status: &str, hash: &str| {
                let now = roster::domain::now();
                diesel::sql_query(format!(
                    "INSERT INTO invitations (workspace_id, email, role, status, token_hash, invited_by, created_at, expires_at, last_sent_at, send_count) \
                     VALUES ({}, 'bob@example.com', 'member', '{status}', '{hash}', {}, '{now}', '{now}', '{now}', 1)",
                    ws.id,
                    owner.id,
                    now = now.format("%Y-%m-%d %H:%M:%S")
                ))
                .execute(conn)
            };
            vec![
                insert(conn, "pending", "h1").is_ok(),
                insert(conn, "pending", "h2").is_ok(),
                insert(conn, "revoked", "h3").is_ok(),
                insert(conn, "accepted", "h4").is_ok(),
            ]
        })
        .await;
    assert_eq!(results, vec![true, false, true, true], "only the second pending row is refused");
}
