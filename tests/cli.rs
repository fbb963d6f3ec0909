//! The `roster` command as a newcomer meets it: start-up errors in one sentence, the printed setup
//! link, and creating accounts from the shell.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestApp, expect_status};
use reqwest::StatusCode;

fn roster(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ROSTER_DATA_DIR", dir)
        .env("ROSTER_LOG", "warn")
        .current_dir(dir);
    cmd
}

/// Runs and expects failure with exactly one error line naming `setting`.
fn expect_one_sentence(cmd: &mut Command, setting: &str) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("run roster");
    assert!(!out.status.success(), "should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains(setting), "names {setting}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "no panic: {stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one sentence: {stderr}");
    stderr
}

#[test]
fn malformed_database_url_is_refused_with_one_sentence() {
    let dir = tempfile::tempdir().expect("dir");
    let err = expect_one_sentence(
        roster(dir.path()).env("ROSTER_DATABASE_URL", "mysql://localhost/roster").arg("migrate"),
        "ROSTER_DATABASE_URL",
    );
    assert!(err.contains("'mysql'"), "{err}");
}

#[test]
fn unreachable_postgres_is_refused_with_one_sentence() {
    let dir = tempfile::tempdir().expect("dir");
    let err = expect_one_sentence(
        roster(dir.path()).env("ROSTER_DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/roster").arg("migrate"),
        "ROSTER_DATABASE_URL",
    );
    assert!(err.contains("Check that the server is running"), "{err}");
    assert!(!err.contains("secret"), "the password is not printed: {err}");
}

#[test]
fn unwritable_data_folder_is_refused_with_one_sentence() {
    let dir = tempfile::tempdir().expect("dir");
    let err = expect_one_sentence(
        roster(dir.path()).env("ROSTER_DATA_DIR", "/proc/roster-data").arg("migrate"),
        "ROSTER_DATA_DIR",
    );
    assert!(err.contains("/proc/roster-data"), "{err}");
}

#[test]
fn bad_bind_address_and_port_in_use_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    expect_one_sentence(roster(dir.path()).env("ROSTER_BIND", "localhost").arg("serve"), "ROSTER_BIND");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let err = expect_one_sentence(roster(dir.path()).env("ROSTER_BIND", &addr).arg("serve"), "ROSTER_BIND");
    assert!(err.contains("already in use"), "{err}");
}

#[test]
fn serve_prints_a_setup_link_that_works() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = roster(dir.path())
        .env("ROSTER_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut link = None;
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(i) = line.find("/setup/") {
            link = Some(line[i..].trim().to_owned());
        }
        if line.contains("Roster is running at") || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    let link = link.expect("a setup link is printed on a first start");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let status = rt
        .block_on(async { reqwest::get(format!("http://127.0.0.1:{port}{link}")).await.expect("GET setup").status() });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, StatusCode::OK);
    assert!(dir.path().join("roster.db").exists(), "the SQLite file is created under the data folder");
    assert!(dir.path().join("secret.key").exists(), "the session key is kept for restarts");
}

backend_tests!(create_owner_reads_a_piped_password, create_owner_without_a_pipe_prints_a_generated_password);

fn db_url(app: &TestApp) -> String {
    match &app.config.database_url {
        roster::db::DatabaseUrl::Sqlite(p) => p.clone(),
        roster::db::DatabaseUrl::Postgres(u) => u.clone(),
    }
}

async fn create_owner_reads_a_piped_password(app: TestApp) {
    let mut child = roster(app.dir.path())
        .env("ROSTER_DATABASE_URL", db_url(&app))
        .args([
            "create-owner",
            "--email",
            "Olivia@Example.com",
            "--name",
            "Olivia Owner",
            "--workspace",
            "Acme Bots",
            "--plan",
            "business",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("create-owner");
    child.stdin.take().expect("stdin").write_all(b"piped password 123\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Created Acme Bots (Business plan) with owner olivia@example.com."), "{stdout}");
    assert!(!stdout.contains("piped password"), "a piped password is never echoed");
    let browser = app.browser();
    assert_eq!(app.sign_in(&browser, "olivia@example.com", "piped password 123").await.status(), StatusCode::SEE_OTHER);
    let page = expect_status(app.get(&browser, "/w/acme-bots/settings/users").await, StatusCode::OK).await;
    assert!(page.contains("1 member · unlimited seats"), "{page}");

    // The same email twice is refused with a sentence.
    let out = roster(app.dir.path())
        .env("ROSTER_DATABASE_URL", db_url(&app))
        .args(["create-staff", "--email", "olivia@example.com", "--name", "Again"])
        .stdin(Stdio::null())
        .output()
        .expect("create-staff");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

async fn create_owner_without_a_pipe_prints_a_generated_password(app: TestApp) {
    let out = roster(app.dir.path())
        .env("ROSTER_DATABASE_URL", db_url(&app))
        .args(["create-staff", "--email", "lee@support.example.com", "--name", "Lee"])
        .stdin(Stdio::null())
        .output()
        .expect("create-staff");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown once): "))
        .expect("the generated password is printed once")
        .to_owned();
    assert!(password.len() >= 16);
    let browser = app.browser();
    assert_eq!(app.sign_in(&browser, "lee@support.example.com", &password).await.status(), StatusCode::SEE_OTHER);
}

#[test]
fn demo_creates_a_workspace_with_usage_to_look_at() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = roster(dir.path())
        .arg("demo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("demo");
    child.stdin.take().expect("stdin").write_all(b"demo password 1\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Created Demo Bots with 6 members, 3 projects and"), "{stdout}");
    assert!(stdout.contains("Sign in as owner@demo.example"));
    let events: usize = stdout
        .split("projects and ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(events > 100, "a month of usage: {events}");
}
