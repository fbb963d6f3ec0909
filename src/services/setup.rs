//! First run: a one-time link, printed by `roster serve` when there are no accounts, that creates
//! the first owner and workspace in the browser.

use diesel::prelude::*;

use super::{ServiceError, ServiceResult, accounts, workspaces};
use crate::db::DbConnection;
use crate::db::audit::Actor;
use crate::db::schema::setup_tokens;
use crate::db::user::User;
use crate::db::workspace::Workspace;
use crate::domain::email::Email;
use crate::domain::plan::Plan;
use crate::domain::token;

/// When no account exists yet, replaces any unused setup link with a new one and returns its
/// token; otherwise `None`.
pub fn prepare_link(conn: &mut DbConnection) -> ServiceResult<Option<String>> {
    conn.transaction(|conn| {
        diesel::delete(setup_tokens::table.filter(setup_tokens::used_at.is_null())).execute(conn)?;
        if User::count(conn)? > 0 {
            return Ok(None);
        }
        let t = token::generate();
        diesel::insert_into(setup_tokens::table)
            .values((setup_tokens::token_hash.eq(token::hash(&t)), setup_tokens::created_at.eq(crate::domain::now())))
            .execute(conn)?;
        Ok(Some(t))
    })
}

fn used_link() -> ServiceError {
    ServiceError::Gone {
        title: "This setup link has already been used".into(),
        message: "Roster is set up. Sign in with the account that was created, or ask its owner to invite you.".into(),
    }
}

/// Whether the link may still be used; an error page otherwise.
pub fn check_link(conn: &mut DbConnection, t: &str) -> ServiceResult<()> {
    let unknown =
        || ServiceError::NotFound("This setup link is not valid. Restart `roster serve` to print a new one.".into());
    if !token::looks_valid(t) {
        return Err(unknown());
    }
    let used_at: Option<Option<chrono::NaiveDateTime>> = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token::hash(t)))
        .select(setup_tokens::used_at)
        .first(conn)
        .optional()?;
    match used_at {
        None => Err(unknown()),
        Some(Some(_)) => Err(used_link()),
        Some(None) if User::count(conn)? > 0 => Err(used_link()),
        Some(None) => Ok(()),
    }
}

#[derive(Debug, Clone)]
pub struct SetupInput {
    pub workspace_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
    pub plan: String,
}

/// Creates the first owner and workspace and spends the link, all in one transaction.
pub fn complete(
    conn: &mut DbConnection,
    t: &str,
    input: &SetupInput,
    ip: Option<String>,
) -> ServiceResult<(User, Workspace)> {
    check_link(conn, t)?;
    let email = Email::parse(&input.email).map_err(|e| ServiceError::Invalid(format!("The email address {e}.")))?;
    let plan = Plan::parse(&input.plan).ok_or_else(|| ServiceError::Invalid("Choose a plan.".into()))?;
    workspaces::check_workspace_name(&input.workspace_name)?;
    accounts::check_name(&input.name)?;
    accounts::check_password_rules(&input.password)?;
    conn.transaction(|conn| {
        // Spend the link first: a second, simultaneous submit finds it used.
        let spent = diesel::update(
            setup_tokens::table
                .filter(setup_tokens::token_hash.eq(token::hash(t)))
                .filter(setup_tokens::used_at.is_null()),
        )
        .set(setup_tokens::used_at.eq(Some(crate::domain::now())))
        .execute(conn)?;
        if spent != 1 || User::count(conn)? > 0 {
            return Err(used_link());
        }
        let user = accounts::create_account(conn, &email, &input.name, &input.password, false)?;
        let actor = Actor {
            user_id: Some(user.id),
            name: user.name.clone(),
            email: user.email.clone(),
            kind: "user",
            ip: ip.clone(),
            user_agent: None,
        };
        let ws = workspaces::create_with_owner(conn, &user, &input.workspace_name, plan, &actor)?;
        Ok((user, ws))
    })
}
