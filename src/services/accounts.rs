//! Accounts: creating them, signing in (with throttling), passwords and "sign out everywhere".

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Duration;
use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::DbConnection;
use crate::db::schema::login_failures;
use crate::db::user::{NewUser, User};
use crate::domain::email::Email;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Failed sign-ins allowed per email, and per IP address, within `THROTTLE_WINDOW_MINUTES`.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;

pub fn hash_password(password: &str) -> ServiceResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("could not hash the password: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub fn check_password_rules(password: &str) -> ServiceResult<()> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ServiceError::Invalid(format!("Choose a password of at least {MIN_PASSWORD_LEN} characters.")));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ServiceError::Invalid(format!("Choose a password of at most {MAX_PASSWORD_LEN} characters.")));
    }
    Ok(())
}

pub fn check_name(name: &str) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::Invalid("Enter your name.".into()));
    }
    if name.chars().count() > 100 {
        return Err(ServiceError::Invalid("Names are at most 100 characters.".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid("The name contains a control character.".into()));
    }
    Ok(name.to_owned())
}

/// Creates an account. The caller runs it inside its transaction when more rows go with it.
pub fn create_account(
    conn: &mut DbConnection,
    email: &Email,
    name: &str,
    password: &str,
    is_staff: bool,
) -> ServiceResult<User> {
    let name = check_name(name)?;
    check_password_rules(password)?;
    if User::find_by_email(conn, email.as_str())?.is_some() {
        return Err(ServiceError::Conflict(format!("An account with {email} already exists; sign in instead.")));
    }
    let hash = hash_password(password)?;
    let user = User::insert(
        conn,
        &NewUser {
            email: email.as_str(),
            name: &name,
            password_hash: &hash,
            is_staff,
            session_epoch: 0,
            created_at: crate::domain::now(),
        },
    )?;
    Ok(user)
}

/// Why a sign-in was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefusal {
    WrongCredentials,
    Throttled { minutes: i64 },
}

/// Checks an email and password. Failures are recorded (and counted) per email and per IP so that
/// guessing is throttled on every instance alike.
pub fn authenticate(
    conn: &mut DbConnection,
    email: &str,
    password: &str,
    ip: &str,
) -> ServiceResult<Result<User, SignInRefusal>> {
    let email_key = email.trim().to_lowercase();
    let now = crate::domain::now();
    let since = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let by_email: Vec<chrono::NaiveDateTime> = login_failures::table
        .filter(login_failures::email.eq(&email_key))
        .filter(login_failures::created_at.gt(since))
        .select(login_failures::created_at)
        .order(login_failures::created_at.asc())
        .load(conn)?;
    let by_ip: i64 = login_failures::table
        .filter(login_failures::ip.eq(ip))
        .filter(login_failures::created_at.gt(since))
        .count()
        .get_result(conn)?;
    if by_email.len() as i64 >= MAX_FAILURES_PER_EMAIL || by_ip >= MAX_FAILURES_PER_IP {
        // Minutes until the oldest counted failure leaves the window (at least one).
        let oldest = by_email.first().copied().unwrap_or(now);
        let minutes = ((oldest + Duration::minutes(THROTTLE_WINDOW_MINUTES) - now).num_seconds() + 59) / 60;
        return Ok(Err(SignInRefusal::Throttled { minutes: minutes.clamp(1, THROTTLE_WINDOW_MINUTES) }));
    }
    let user = User::find_by_email(conn, &email_key)?;
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash),
        None => {
            // Spend the same time as a real check, so response times do not reveal accounts.
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    };
    match user {
        Some(u) if ok => {
            diesel::delete(login_failures::table.filter(login_failures::email.eq(&email_key))).execute(conn)?;
            User::touch_login(conn, u.id, now)?;
            Ok(Ok(u))
        }
        _ => {
            diesel::insert_into(login_failures::table)
                .values((
                    login_failures::email.eq(&email_key),
                    login_failures::ip.eq(ip),
                    login_failures::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Err(SignInRefusal::WrongCredentials))
        }
    }
}

/// An argon2id hash of a random string, checked against when the email has no account.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2rM6T0pM1u2Qn3b0Zq7mS8c1iWk3m2Qy8b2xq9m0lJQ";

/// Changes the password after checking the current one; ends every other session.
pub fn change_password(conn: &mut DbConnection, user_id: i64, current: &str, new: &str) -> ServiceResult<User> {
    let user = User::find(conn, user_id)?.ok_or_else(|| ServiceError::NotFound("Account not found.".into()))?;
    if !verify_password(current, &user.password_hash) {
        return Err(ServiceError::Invalid("Your current password is not right.".into()));
    }
    check_password_rules(new)?;
    let hash = hash_password(new)?;
    User::set_password(conn, user_id, &hash)?;
    User::find(conn, user_id)?.ok_or_else(|| ServiceError::NotFound("Account not found.".into()))
}

pub fn sign_out_everywhere(conn: &mut DbConnection, user_id: i64) -> ServiceResult<User> {
    User::bump_session_epoch(conn, user_id)?;
    User::find(conn, user_id)?.ok_or_else(|| ServiceError::NotFound("Account not found.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("long enough").is_ok());
    }
}
