//! Journeys in a real browser: headless Chromium driven over WebDriver (fantoccini), against the
//! real server on a random port, with axe-core checking every page and state for WCAG 2.1 AA.
//!
//! Each test starts its own chromedriver on a free port, in its own process group, and kills the
//! group when done. Without Chromium and chromedriver these tests skip with a printed reason,
//! except with `CI=true`, where they fail. The UI does not depend on the database, so the
//! journeys run on SQLite only. Set `ROSTER_UPDATE_SCREENSHOTS=1` to refresh `docs/screenshots`.

mod common;

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, PASSWORD, TestApp};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use roster::domain::plan::Plan;
use roster::domain::role::Role;
use serde_json::{Value, json};

const AXE: &str = include_str!("vendor/axe-4.14.1.min.js");

/// A chromedriver process group, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pgid = self.child.id();
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
        let _ = self.child.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn start_driver() -> Option<Driver> {
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        if in_ci() {
            panic!(
                "browser tests must run in CI, but chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!("skipping browser test: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port, profiles: tempfile::tempdir().expect("dir") };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(driver)
}

/// A new browser session (its own profile: cookies are not shared).
async fn browser(driver: &Driver, javascript: bool, width: u32, height: u32) -> Client {
    browser_with(driver, javascript, width, height, &[]).await
}

async fn browser_with(driver: &Driver, javascript: bool, width: u32, height: u32, extra: &[&str]) -> Client {
    let profile = tempfile::tempdir_in(driver.profiles.path()).expect("profile").keep();
    let mut prefs = serde_json::Map::new();
    if !javascript {
        prefs.insert("profile.managed_default_content_settings.javascript".into(), json!(2));
    }
    let mut args: Vec<String> = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(format!("--window-size={width},{height}"));
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().map(|a| a.to_string()));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": args,
            "prefs": prefs,
        }
    });
    let Value::Object(caps) = caps else { unreachable!("a JSON object") };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("browser session")
}

/// Runs axe-core on the current page and fails on any WCAG 2.1 A/AA violation.
async fn axe(c: &Client, what: &str) {
    c.execute(AXE, vec![]).await.expect("inject axe");
    let result = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
                 .then(r => done(r.violations.map(v => v.id + ": " + v.help + " -> " + v.nodes.map(n => n.target.join(" ")).join(" | "))))
                 .catch(e => done(["axe failed: " + e]));"#,
            vec![],
        )
        .await
        .expect("axe.run");
    let violations: Vec<String> = serde_json::from_value(result).unwrap_or_default();
    assert!(violations.is_empty(), "accessibility violations on {what}:\n{}", violations.join("\n"));
}

/// The page's visible text (retried while a navigation replaces the document).
async fn text(c: &Client) -> String {
    for _ in 0..50 {
        if let Ok(body) = c.find(Locator::Css("body")).await
            && let Ok(t) = body.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never settled");
}

async fn wait_for_text(c: &Client, needle: &str) {
    let started = Instant::now();
    loop {
        if text(c).await.contains(needle) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "page never showed {needle:?}; it shows:\n{}",
            text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(app: &TestApp, c: &Client, email: &str, password: &str) {
    c.goto(&app.url("/login")).await.expect("login page");
    c.find(Locator::Id("email")).await.expect("email").send_keys(email).await.expect("type");
    c.find(Locator::Id("password")).await.expect("password").send_keys(password).await.expect("type");
    c.find(Locator::Css("button[type=submit].btn-primary")).await.expect("button").click().await.expect("click");
    wait_for_text(c, "My Users").await;
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(name), &png).expect("write screenshot");
    if std::env::var("ROSTER_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("dir");
        std::fs::write(docs.join(name), &png).expect("write screenshot");
    }
}

async fn app_and_driver() -> Option<(TestApp, Driver)> {
    let driver = start_driver()?;
    let app = TestApp::spawn(Backend::Sqlite).await?;
    Some((app, driver))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_invites_two_and_the_invitee_joins_from_the_email() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    app.post_form(&owner, &format!("/w/{}/projects", ws.slug), &[("name", "Support Bot")]).await;
    app.post_form(&owner, &format!("/w/{}/projects", ws.slug), &[("name", "Sales Agent")]).await;
    let c = browser(&driver, true, 1440, 1000).await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    axe(&c, "My Users (owner, empty)").await;
    c.find(Locator::Id("invite-emails"))
        .await
        .expect("textarea")
        .send_keys("ana@example.com, ben@example.com")
        .await
        .expect("type");
    let support = c.find(Locator::Css("select[aria-label='Access to Support Bot']")).await.expect("picker");
    support.select_by_value("edit").await.expect("choose edit");
    c.execute("window.__stillHere = 1;", vec![]).await.expect("marker");
    c.find(Locator::XPath("//button[normalize-space()='Invite']")).await.expect("invite").click().await.expect("click");
    wait_for_text(&c, "ana@example.com: invited. The email is on its way.").await;
    wait_for_text(&c, "ben@example.com: invited.").await;
    assert_eq!(
        c.execute("return window.__stillHere", vec![]).await.expect("marker"),
        json!(1),
        "htmx swapped the results in"
    );
    let rows = text(&c).await;
    assert!(rows.contains("3 of 3 seats used (2 pending)"), "the seat line and the table updated in place: {rows}");
    let focused = c.execute("return document.activeElement.id", vec![]).await.expect("focus");
    assert_eq!(focused, json!("invite-results"), "focus moves to the results");
    axe(&c, "My Users with invite results").await;
    app.mail_to("ana@example.com").await;
    app.mail_to("ben@example.com").await;
    c.goto(&app.url(&format!("/w/{}/settings/users", ws.slug))).await.expect("reload");
    let page = text(&c).await;
    assert!(page.contains("3 of 3 seats used (2 pending)"), "{page}");
    assert_eq!(page.matches("Pending").count(), 2, "{page}");
    wait_for_text(&c, "Email sent").await;
    screenshot(&c, "my-users-desktop.png").await;
    c.set_window_size(375, 812).await.expect("phone size");
    c.goto(&app.url(&format!("/w/{}/settings/users", ws.slug))).await.expect("reload");
    let thead = c
        .execute("return getComputedStyle(document.querySelector('table.members thead')).position", vec![])
        .await
        .expect("style");
    assert_eq!(thead, json!("absolute"), "on a phone the table header is hidden: rows become cards");
    axe(&c, "My Users at 375 px").await;
    screenshot(&c, "my-users-phone.png").await;

    // The invitee follows the link from the delivered email.
    let link = common::link_path(&app.mail_to("ana@example.com").await.text);
    let ana = browser(&driver, true, 1280, 900).await;
    ana.goto(&app.url(&link)).await.expect("open link");
    wait_for_text(&ana, "Join Acme Bots").await;
    let page = text(&ana).await;
    assert!(page.contains("Olivia Owner invited ana@example.com to join as Member."), "{page}");
    assert!(page.contains("Support Bot (edit)"), "{page}");
    axe(&ana, "invitation page").await;
    screenshot(&ana, "invite-accept.png").await;
    ana.find(Locator::Id("name")).await.expect("name").send_keys("Ana García").await.expect("type");
    ana.find(Locator::Id("password")).await.expect("pw").send_keys("ana's long password").await.expect("type");
    ana.find(Locator::Css("button.btn-primary")).await.expect("button").click().await.expect("click");
    wait_for_text(&ana, "Welcome to Acme Bots, Ana García. You are now a member.").await;
    axe(&ana, "My Users as a member").await;
    ana.find(Locator::LinkText("My Projects")).await.expect("menu").click().await.expect("click");
    wait_for_text(&ana, "The projects you have been given access to.").await;
    let projects = text(&ana).await;
    assert!(projects.contains("Support Bot") && !projects.contains("Sales Agent"), "only her projects: {projects}");
    axe(&ana, "My Projects as a member").await;
    ana.close().await.expect("close");
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trash_icon_removes_without_a_page_load_and_the_removed_tab_is_refused() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    app.add_member(&ws, "cy@example.com", "Cy Member", Role::Member).await;
    let bob = browser(&driver, true, 1280, 900).await;
    sign_in(&app, &bob, "bob@example.com", PASSWORD).await;
    let c = browser(&driver, true, 1440, 1000).await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    c.execute("window.__stillHere = 42;", vec![]).await.expect("marker");
    let trash = c.find(Locator::Css("button[aria-label='Remove Bob Member']")).await.expect("trash icon");
    trash.click().await.expect("click");
    let confirm = c.get_alert_text().await.expect("a confirm dialog");
    assert_eq!(confirm, "Remove Bob Member (bob@example.com)? They lose access to Acme Bots and its projects at once.");
    c.accept_alert().await.expect("confirm");
    wait_for_text(&c, "Removed Bob Member (bob@example.com). Their access to Acme Bots ended at once.").await;
    let page = text(&c).await;
    assert!(!page.contains("bob@example.com\nMember"), "the row is gone");
    assert!(page.contains("2 of 3 seats used"), "the seat line updated: {page}");
    assert!(page.contains("Olivia Owner removed Bob Member (bob@example.com)"), "the logs panel updated");
    assert_eq!(c.execute("return window.__stillHere", vec![]).await.expect("marker"), json!(42), "no page load");
    let focused = c
        .execute("return document.activeElement && document.activeElement.getAttribute('aria-label')", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, json!("Remove Cy Member"), "focus moves to the next row's action");
    axe(&c, "My Users after an htmx removal").await;
    // Bob's open tab: his next click is refused.
    bob.find(Locator::LinkText("My Projects")).await.expect("link").click().await.expect("click");
    wait_for_text(&bob, "You no longer have access to Acme Bots").await;
    axe(&bob, "the no-access page").await;
    bob.close().await.expect("close");
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_without_javascript_confirms_on_a_page() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    let c = browser(&driver, false, 1280, 900).await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    let has_htmx = c.execute("return typeof htmx", vec![]).await;
    assert!(has_htmx.is_err() || has_htmx.ok() == Some(json!("undefined")), "JavaScript is off in this browser");
    c.find(Locator::Css("button[aria-label='Remove Bob Member']")).await.expect("trash").click().await.expect("click");
    wait_for_text(&c, "Remove Bob Member?").await;
    c.find(Locator::XPath("//button[normalize-space()='Remove Bob Member']"))
        .await
        .expect("confirm")
        .click()
        .await
        .expect("click");
    wait_for_text(&c, "Removed Bob Member (bob@example.com).").await;
    assert!(c.current_url().await.expect("url").path().ends_with("/settings/users"), "redirected back");
    assert!(!text(&c).await.contains("bob@example.com\nMember"));
    c.close().await.expect("close");
    // axe needs JavaScript: check the same confirmation page in a browser that has it.
    app.add_member(&ws, "cy@example.com", "Cy Member", Role::Member).await;
    let js = browser(&driver, true, 1280, 900).await;
    sign_in(&app, &js, "olivia@example.com", PASSWORD).await;
    js.execute("document.querySelector('button[aria-label=\"Remove Cy Member\"]').closest('form').submit()", vec![])
        .await
        .expect("submit");
    wait_for_text(&js, "Remove Cy Member?").await;
    axe(&js, "removal confirmation page").await;
    js.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_only_invite_and_removal() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Business).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    let c = browser(&driver, true, 1280, 900).await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    let active = |c: &Client| {
        let c = c.clone();
        async move {
            c.execute("const e = document.activeElement; return [e.id, e.getAttribute('aria-label') || '', getComputedStyle(e).outlineStyle]", vec![]).await.expect("active")
        }
    };
    // Tab through the page to the invite box.
    let body = c.find(Locator::Css("body")).await.expect("body");
    let mut found = false;
    for _ in 0..80 {
        body.send_keys(&Key::Tab.to_string()).await.ok();
        let a = active(&c).await;
        if a[0] == "invite-emails" {
            assert_ne!(a[2], json!("none"), "focus is visible");
            found = true;
            break;
        }
    }
    assert!(found, "the invite box is reachable with Tab");
    let el = c.active_element().await.expect("focused");
    el.send_keys("kim@example.com").await.expect("type");
    el.send_keys(&Key::Tab.to_string()).await.expect("tab to role");
    c.active_element().await.expect("role").send_keys(&Key::Tab.to_string()).await.expect("tab to invite");
    c.active_element().await.expect("invite button").send_keys(&Key::Enter.to_string()).await.expect("enter");
    wait_for_text(&c, "kim@example.com: invited.").await;
    // Tab to Bob's trash icon and press Enter; confirm with the keyboard too.
    let body = c.find(Locator::Css("body")).await.expect("body");
    let mut found = false;
    for _ in 0..120 {
        body.send_keys(&Key::Tab.to_string()).await.ok();
        if active(&c).await[1] == json!("Remove Bob Member") {
            found = true;
            break;
        }
    }
    assert!(found, "the trash icon is reachable with Tab");
    c.active_element().await.expect("trash").send_keys(&Key::Enter.to_string()).await.expect("enter");
    c.accept_alert().await.expect("confirm dialog");
    wait_for_text(&c, "Removed Bob Member").await;
    let a = active(&c).await;
    assert!(
        a[1].as_str().is_some_and(|l| l.starts_with("Remove ")) || a[0] == "members-title",
        "focus lands on the next row or the heading: {a}"
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_changes_plan_assigns_projects_inline_filters_the_log_and_exports_it() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    let owner = app.signed_in("olivia@example.com").await;
    app.post_form(&owner, &format!("/w/{}/projects", ws.slug), &[("name", "Support Bot")]).await;
    seed_usage(&app, ws.id).await;
    let c = browser(&driver, true, 1440, 1000).await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    c.find(Locator::LinkText("Plan")).await.expect("Plan").click().await.expect("click");
    wait_for_text(&c, "Compare plans").await;
    axe(&c, "Plan page").await;
    c.find(Locator::XPath("//button[normalize-space()='Switch to Business']"))
        .await
        .expect("switch")
        .click()
        .await
        .expect("click");
    wait_for_text(&c, "Upgraded Acme Bots from Professional to Business").await;
    // Inline project assignment on My Users (htmx swaps the row in place).
    c.find(Locator::LinkText("My Users")).await.expect("My Users").click().await.expect("click");
    wait_for_text(&c, "1 member has no projects").await;
    c.find(Locator::Css(".manage-projects summary")).await.expect("manage").click().await.expect("open");
    c.find(Locator::Css("select[aria-label=\"Bob Member's access to Support Bot\"]"))
        .await
        .expect("select")
        .select_by_value("edit")
        .await
        .expect("edit");
    c.execute("window.__stillHere = 7;", vec![]).await.expect("marker");
    c.find(Locator::XPath("//button[normalize-space()='Save projects']"))
        .await
        .expect("save")
        .click()
        .await
        .expect("click");
    wait_for_text(&c, "Updated 1 project for Bob Member.").await;
    assert_eq!(c.execute("return window.__stillHere", vec![]).await.expect("marker"), json!(7), "swapped in place");
    assert!(text(&c).await.contains("Support Bot edit"));
    axe(&c, "My Users after inline assignment").await;
    // Usage page.
    c.find(Locator::LinkText("Usage")).await.expect("Usage").click().await.expect("click");
    wait_for_text(&c, "By member").await;
    axe(&c, "Usage page").await;
    screenshot(&c, "usage.png").await;
    // The log, filtered, and its CSV.
    c.goto(&app.url(&format!("/w/{}/settings/users/logs", ws.slug))).await.expect("logs");
    c.find(Locator::Id("f-action"))
        .await
        .expect("filter")
        .select_by_value("project.access_granted")
        .await
        .expect("choose");
    c.find(Locator::XPath("//button[normalize-space()='Apply filters']"))
        .await
        .expect("apply")
        .click()
        .await
        .expect("click");
    wait_for_text(&c, "Olivia Owner gave Bob Member (bob@example.com) edit access to Support Bot").await;
    assert!(
        c.current_url().await.expect("url").query().unwrap_or_default().contains("action=project.access_granted"),
        "filters live in the URL"
    );
    assert!(!text(&c).await.contains("created the workspace"));
    c.find(Locator::Css("li[id^=entry-] summary")).await.expect("entry").click().await.expect("expand");
    let open = c.execute("return document.querySelector('li[id^=entry-] details').open", vec![]).await.expect("open");
    assert_eq!(open, json!(true), "the entry expands to its details");
    assert!(text(&c).await.to_lowercase().contains("ip address"));
    axe(&c, "Logs page, filtered and expanded").await;
    screenshot(&c, "logs.png").await;
    let href = c
        .find(Locator::LinkText("Export CSV"))
        .await
        .expect("export")
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    assert!(href.contains("logs.csv?action=project.access_granted"), "{href}");
    let csv = c
        .execute_async("const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done, e => done('error ' + e));", vec![json!(href)])
        .await
        .expect("download");
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(csv.starts_with("id,time_utc,action,summary"), "{csv}");
    assert_eq!(csv.matches("project.access_granted").count(), 1, "{csv}");
    c.close().await.expect("close");
}

async fn seed_usage(app: &TestApp, ws_id: i64) {
    app.db(move |conn| {
        use roster::services::usage::{EventInput, Kind, MemberRef, ingest};
        let now = roster::domain::now();
        let start = roster::db::usage::month_of(now).and_hms_opt(9, 0, 0).expect("time");
        let mut events = Vec::new();
        let mut t = start;
        let mut i = 0;
        while t < now {
            for (who, n) in [("olivia@example.com", 40), ("bob@example.com", 90)] {
                events.push(EventInput {
                    member: MemberRef::Email(who.into()),
                    project: None,
                    kind: if i % 5 == 0 { Kind::AgentRun } else { Kind::Message },
                    messages: n + (i % 7) * 10,
                    tokens: (n + (i % 7) * 10) * 400,
                    time: t,
                    idempotency_key: format!("seed-{i}-{who}"),
                });
            }
            i += 1;
            t += chrono::Duration::days(1);
        }
        ingest(conn, ws_id, None, &events).expect("usage");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_staff_searches_a_workspace_and_reads_its_logs() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    app.create_user("lee@support.example.com", "Lee", true).await;
    let c = browser(&driver, true, 1280, 900).await;
    c.goto(&app.url("/login")).await.expect("login");
    c.find(Locator::Id("email")).await.expect("email").send_keys("lee@support.example.com").await.expect("type");
    c.find(Locator::Id("password")).await.expect("pw").send_keys(PASSWORD).await.expect("type");
    c.find(Locator::Css("button.btn-primary")).await.expect("button").click().await.expect("click");
    wait_for_text(&c, "Support console").await;
    axe(&c, "Support console").await;
    c.find(Locator::Id("q")).await.expect("search").send_keys("bob@example").await.expect("type");
    c.find(Locator::XPath("//button[normalize-space()='Search']")).await.expect("search").click().await.expect("click");
    wait_for_text(&c, "Acme Bots").await;
    axe(&c, "Support search results").await;
    c.find(Locator::Css("a[href$='/logs'].btn")).await.expect("read logs").click().await.expect("click");
    wait_for_text(&c, "Read-only. Your viewing is recorded").await;
    assert!(text(&c).await.contains("Olivia Owner created the workspace"));
    axe(&c, "Support: workspace logs").await;
    let actions = app.audit_actions(ws.id).await;
    assert_eq!(actions.last().map(|a| a.0.as_str()), Some("support.logs_viewed"));
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dark_mode_follows_the_system_setting_and_stays_readable() {
    let Some((app, driver)) = app_and_driver().await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    app.invitation_row(&ws, "carol@example.com", "pending", chrono::Duration::days(6)).await;
    let c = browser_with(&driver, true, 1440, 1000, &["--force-dark-mode", "--blink-settings=preferredColorScheme=0"])
        .await;
    sign_in(&app, &c, "olivia@example.com", PASSWORD).await;
    let dark = c.execute("return matchMedia('(prefers-color-scheme: dark)').matches", vec![]).await.expect("media");
    assert_eq!(dark, json!(true), "the browser reports a dark system setting");
    let bg = c.execute("return getComputedStyle(document.body).backgroundColor", vec![]).await.expect("style");
    assert_eq!(bg, json!("rgb(15, 18, 22)"), "the dark palette is used");
    axe(&c, "My Users in dark mode").await;
    screenshot(&c, "my-users-dark.png").await;
    c.close().await.expect("close");
}
