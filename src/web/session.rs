//! What the encrypted session cookie carries: the account, the session epoch it was signed in
//! with, the CSRF token and a one-time flash message.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const UID: &str = "uid";
const EPOCH: &str = "epoch";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success` or `error`.
    pub kind: String,
    pub text: String,
}

/// The signed-in account and epoch, if any. A cookie that fails to decrypt never gets here:
/// actix-session treats it as an empty session.
pub fn signed_in(session: &Session) -> Option<(i64, i64)> {
    let uid = session.get::<i64>(UID).ok().flatten()?;
    let epoch = session.get::<i64>(EPOCH).ok().flatten()?;
    Some((uid, epoch))
}

/// Signs in: a new session id (cookie) with the account and its epoch; the CSRF token is replaced.
pub fn sign_in(session: &Session, uid: i64, epoch: i64) -> Result<(), actix_session::SessionInsertError> {
    session.renew();
    session.insert(CSRF, crate::domain::token::random_hex(32))?;
    session.insert(UID, uid)?;
    session.insert(EPOCH, epoch)?;
    Ok(())
}

pub fn set_epoch(session: &Session, epoch: i64) -> Result<(), actix_session::SessionInsertError> {
    session.insert(EPOCH, epoch)
}

/// Forgets the account; the cookie stays (with a new id) so a flash message can follow.
pub fn sign_out(session: &Session) {
    session.clear();
    session.renew();
}

/// The CSRF token of this session, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF) {
        return t;
    }
    let t = crate::domain::token::random_hex(32);
    let _ = session.insert(CSRF, &t);
    t
}

pub fn stored_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

pub fn set_flash(session: &Session, kind: &str, text: impl Into<String>) {
    let _ = session.insert(FLASH, Flash { kind: kind.into(), text: text.into() });
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    let f = session.get::<Flash>(FLASH).ok().flatten();
    if f.is_some() {
        session.remove(FLASH);
    }
    f
}
