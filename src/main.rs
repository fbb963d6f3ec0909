//! The `roster` command: serve (the default), migrate, and create accounts.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use roster::config::Config;
use roster::db::audit::Actor;
use roster::domain::email::Email;
use roster::domain::plan::Plan;
use roster::services::{accounts, setup, workspaces};

#[derive(Parser)]
#[command(name = "roster", version, about = "Roster: invite teammates, share workspace usage, assign projects")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default). Prints a one-time setup link when there are no accounts.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an owner account and their workspace. The password is read from standard input
    /// when it is piped; otherwise one is generated and printed once.
    CreateOwner {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        workspace: String,
        /// free, individual, professional or business
        #[arg(long, default_value = "professional")]
        plan: String,
    },
    /// Create a demo workspace ("Demo Bots") with members, projects and two months of usage, so
    /// the pages can be seen without a chatbot platform. Everyone gets the same password.
    Demo {
        /// The demo owner's email; members get addresses at the same domain.
        #[arg(long, default_value = "owner@demo.example")]
        email: String,
    },
    /// Check or prune the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Create a support staff account (reads any workspace's logs, read-only).
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk each workspace's hash chain and report the first row that does not verify (exit 1).
    Verify {
        /// Only this workspace (its slug).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Delete rows older than ROSTER_AUDIT_RETENTION_DAYS, recording the pruning as a row.
    Prune,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    init_tracing(&config.log_filter);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            let pool = roster::prepare_database(&config)?;
            drop(pool);
            println!("Migrations are applied ({}).", config.database_url.redacted());
            Ok(())
        }
        Command::CreateOwner { email, name, workspace, plan } => {
            let plan = Plan::parse(&plan).ok_or_else(|| {
                format!("--plan '{plan}' is not a plan; use free, individual, professional or business.")
            })?;
            let email = Email::parse(&email).map_err(|e| format!("--email {e}."))?;
            let (password, generated) = read_password()?;
            let pool = roster::prepare_database(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let ws = diesel::Connection::transaction(&mut *conn, |conn| {
                roster::db::begin_writing(conn)?;
                let user = accounts::create_account(conn, &email, &name, &password, false)?;
                let actor = Actor {
                    user_id: Some(user.id),
                    name: user.name.clone(),
                    email: user.email.clone(),
                    kind: "user",
                    ip: None,
                    user_agent: None,
                };
                workspaces::create_with_owner(conn, &user, &workspace, plan, &actor)
            })
            .map_err(|e| e.to_string())?;
            println!("Created {} ({} plan) with owner {email}.", ws.name, plan);
            println!("My Users: {}/w/{}/settings/users", config.public_url, ws.slug);
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
        Command::Demo { email } => {
            let email = Email::parse(&email).map_err(|e| format!("--email {e}."))?;
            let (password, generated) = read_password()?;
            let pool = roster::prepare_database(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let demo = roster::services::demo::create(&mut conn, &email, &password).map_err(|e| e.to_string())?;
            println!("Created {} with 6 members, 3 projects and {} usage events.", demo.workspace.name, demo.events);
            println!("Sign in as {} at {}/login", demo.owner.email, config.public_url);
            if generated {
                println!("Password for every demo account (shown once): {password}");
            }
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { workspace } } => {
            let pool = roster::prepare_database(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let only = match workspace {
                Some(slug) => Some(
                    roster::db::workspace::Workspace::find_by_slug(&mut conn, &slug)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("--workspace: there is no workspace '{slug}'."))?
                        .id,
                ),
                None => None,
            };
            let report = roster::services::audit_log::verify(&mut conn, only).map_err(|e| e.to_string())?;
            if let Some(b) = report.broken.first() {
                for b in &report.broken {
                    println!(
                        "BROKEN  {}: row {} ({}, {} UTC) {}.",
                        b.workspace,
                        b.id,
                        b.action,
                        b.created_at.format("%Y-%m-%d %H:%M:%S"),
                        b.problem
                    );
                }
                return Err(format!(
                    "the audit log of {} does not verify from row {} on; it was changed outside Roster.",
                    b.workspace, b.id
                ));
            }
            println!("OK  {} rows in {} chains verify.", report.rows, report.chains);
            Ok(())
        }
        Command::Audit { command: AuditCommand::Prune } => {
            let Some(days) = config.audit_retention_days else {
                println!("Retention is off (ROSTER_AUDIT_RETENTION_DAYS is unset): every audit row is kept.");
                return Ok(());
            };
            let pool = roster::prepare_database(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let (workspaces, rows) = roster::services::audit_log::prune(&mut conn, days).map_err(|e| e.to_string())?;
            println!("Pruned {rows} audit rows older than {days} days in {workspaces} workspaces.");
            Ok(())
        }
        Command::CreateStaff { email, name } => {
            let email = Email::parse(&email).map_err(|e| format!("--email {e}."))?;
            let (password, generated) = read_password()?;
            let pool = roster::prepare_database(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            accounts::create_account(&mut conn, &email, &name, &password, true).map_err(|e| e.to_string())?;
            println!("Created support staff account {email}.");
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
    }
}

/// A piped password (first line of standard input), or a generated one.
fn read_password() -> Result<(String, bool), String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok((roster::domain::token::generate()[..20].to_owned(), true));
    }
    let mut input = String::new();
    stdin
        .lock()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = input.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Ok((roster::domain::token::generate()[..20].to_owned(), true));
    }
    accounts::check_password_rules(&password).map_err(|e| e.to_string())?;
    Ok((password, false))
}

fn init_tracing(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

fn serve(config: Config) -> Result<(), String> {
    let pool = roster::prepare_database(&config)?;
    let public_url = config.public_url.clone();
    let backend = config.database_url.redacted();
    {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        if let Some(token) = setup::prepare_link(&mut conn).map_err(|e| e.to_string())? {
            println!();
            println!("  Roster has no accounts yet. Open this one-time link to create the first workspace:");
            println!();
            println!("      {public_url}/setup/{token}");
            println!();
        }
    }
    let app = roster::Application::build(config, pool)?;
    println!("Roster is running at {public_url} (database: {backend}). Press Ctrl+C to stop.");
    actix_web::rt::System::new().block_on(app.run()).map_err(|e| format!("the server stopped: {e}"))
}
