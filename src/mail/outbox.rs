//! The outbox worker: delivers queued messages with retries and exponential backoff, and marks
//! invitations that pass their expiry (with their `invitation.expired` audit row).
//!
//! A message that fails is retried after 30 s, 1 min, 2 min, … (capped at one hour) and given up
//! after `MAX_ATTEMPTS`; the pending row then shows the reason and a Resend button. SMTP being down
//! only delays mail: the rows stay queued in the database.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::Notify;

use super::Mailer;
use crate::db::{Pool, outbox};

pub const MAX_ATTEMPTS: i32 = 8;
const BATCH: i64 = 20;
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The delay before attempt number `attempts + 1`, after `attempts` failures.
pub fn backoff(attempts: i32) -> chrono::TimeDelta {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    chrono::TimeDelta::seconds(secs.min(3_600))
}

/// Wakes the worker at once (after a transaction that queued mail commits).
#[derive(Clone, Default)]
pub struct OutboxSignal(pub Arc<Notify>);

impl OutboxSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub struct Worker {
    pub pool: Pool,
    pub mailer: Mailer,
    pub from: String,
    pub signal: OutboxSignal,
    pub poll: Duration,
}

impl Worker {
    /// Runs until the task is dropped.
    pub async fn run(self) {
        let mut last_expiry_check = None::<std::time::Instant>;
        loop {
            if last_expiry_check.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                last_expiry_check = Some(std::time::Instant::now());
                let pool = self.pool.clone();
                match tokio::task::spawn_blocking(move || crate::services::invitations::expire_due(&pool)).await {
                    Ok(Ok(n)) if n > 0 => tracing::info!(count = n, "invitations expired"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "could not expire invitations"),
                    _ => {}
                }
            }
            let handled = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: could not read due messages");
                    0
                }
            };
            if handled == 0 {
                tokio::select! {
                    _ = self.signal.0.notified() => {}
                    _ = tokio::time::sleep(self.poll) => {}
                }
            }
        }
    }

    /// Delivers one batch of due messages; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, String> {
        let pool = self.pool.clone();
        let now = crate::domain::now();
        let batch = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            outbox::claim_due(&mut conn, now, now + LEASE, BATCH).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        let n = batch.len();
        for message in batch {
            let result = self.mailer.send(&self.from, &message.email()).await;
            if let (Ok(()), Mailer::Folder(_)) = (&result, &self.mailer) {
                // With no SMTP server, the link is logged so that a local user can follow it.
                if let Some(link) = message.body_text.lines().find(|l| l.starts_with("http")) {
                    tracing::info!(to = %message.to_email, %link, "no SMTP configured: follow this link");
                }
            }
            let pool = self.pool.clone();
            let attempts = message.attempts;
            let id = message.id;
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                let now: NaiveDateTime = crate::domain::now();
                match result {
                    Ok(()) => outbox::mark_sent(&mut conn, id, now),
                    Err(reason) => {
                        let retry = (attempts + 1 < MAX_ATTEMPTS).then(|| now + backoff(attempts));
                        tracing::warn!(message_id = id, attempt = attempts + 1, %reason, "email delivery failed");
                        outbox::mark_failed(&mut conn, id, &reason, retry)
                    }
                }
                .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())??;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(3).num_seconds(), 240);
        assert_eq!(backoff(7).num_seconds(), 3_600);
        assert_eq!(backoff(40).num_seconds(), 3_600);
    }
}
