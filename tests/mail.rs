//! Delivery through a real SMTP server started by the test: a server that is down delays mail and
//! never loses it; the message's text and HTML parts carry the link.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, TestApp, decoded_parts, expect_status, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::domain::plan::Plan;

type OutboxRow = (String, String, i32, Option<String>);

/// (to, status, attempts, last error) of every outbox row, oldest first.
async fn outbox(app: &TestApp) -> Vec<OutboxRow> {
    app.db(|conn| {
        use roster::db::schema::email_outbox::dsl as o;
        o::email_outbox
            .order(o::id.asc())
            .select((o::to_email, o::status, o::attempts, o::last_error))
            .load::<OutboxRow>(conn)
            .expect("outbox")
    })
    .await
}

#[derive(Clone, Default)]
struct Inbox {
    current: Arc<Mutex<Vec<u8>>>,
    messages: Arc<Mutex<Vec<String>>>,
}

impl mailin_embedded::Handler for Inbox {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().expect("lock").extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let raw = std::mem::take(&mut *self.current.lock().expect("lock"));
        self.messages.lock().expect("lock").push(String::from_utf8_lossy(&raw).into_owned());
        mailin_embedded::response::OK
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

backend_tests!(smtp_down_delays_mail_and_a_retry_delivers_it);

async fn smtp_down_delays_mail_and_a_retry_delivers_it(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let port = free_port();
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.outbox_poll = Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    let _ = Backend::Sqlite;
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com carol@example.com", "member").await, StatusCode::OK)
        .await;

    // Nothing listens yet: each message fails once and waits for its retry.
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = outbox(&app).await;
        if rows.iter().all(|r| r.2 >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rows.iter().all(|r| r.1 == "queued" && r.2 == 1 && r.3.is_some()), "{rows:?}");
    let page = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(page.contains("Email delayed: the mail server refused the connection. Retrying automatically."), "{page}");

    // Carol's message reaches the attempt cap: it is marked failed, with the reason and Resend.
    app.db(|conn| {
        use roster::db::schema::email_outbox::dsl as o;
        diesel::update(o::email_outbox.filter(o::to_email.eq("carol@example.com")))
            .set((o::attempts.eq(roster::mail::outbox::MAX_ATTEMPTS - 1), o::next_attempt_at.eq(roster::domain::now())))
            .execute(conn)
            .expect("update");
    })
    .await;
    for _ in 0..100 {
        if outbox(&app).await.iter().any(|r| r.0 == "carol@example.com" && r.1 == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(page.contains("Email failed: the mail server refused the connection"), "{page}");

    // The server comes up; bob's retry (made due now) is delivered.
    let inbox = Inbox::default();
    let messages = inbox.messages.clone();
    std::thread::spawn(move || {
        let mut server = mailin_embedded::Server::new(inbox);
        server.with_name("test.local").with_addr(format!("127.0.0.1:{port}")).expect("address");
        let _ = server.serve();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.db(|conn| {
        use roster::db::schema::email_outbox::dsl as o;
        diesel::update(o::email_outbox.filter(o::to_email.eq("bob@example.com")))
            .set(o::next_attempt_at.eq(roster::domain::now()))
            .execute(conn)
            .expect("update");
    })
    .await;
    let mut received = Vec::new();
    for _ in 0..200 {
        received = messages.lock().expect("lock").clone();
        if !received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(received.len(), 1, "exactly bob's message arrives");
    let raw = &received[0];
    assert!(raw.contains("bob@example.com"));
    let parts = decoded_parts(raw);
    let text = parts.iter().find(|p| p.0 == "text/plain").map(|p| p.1.clone()).expect("a text part");
    let html = parts.iter().find(|p| p.0 == "text/html").map(|p| p.1.clone()).expect("an HTML part");
    let link = common::link_path(&text);
    assert!(html.contains(&link), "the HTML part carries the same link");
    assert!(text.contains("Olivia Owner invited you to join Acme Bots on Roster as Member."), "{text}");
    for _ in 0..100 {
        if outbox(&app).await.iter().any(|r| r.0 == "bob@example.com" && r.1 == "sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = outbox(&app).await;
    assert!(rows.iter().any(|r| r.0 == "bob@example.com" && r.1 == "sent" && r.2 == 2), "{rows:?}");
    // The link from the delivered email works.
    expect_status(app.get(&app.browser(), &link).await, StatusCode::OK).await;
}
