//! What every handler can reach through `app_data`: the pool and the configuration.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Pool;
use crate::mail::outbox::OutboxSignal;
use crate::services::invitations::InviteSettings;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    /// Wakes the outbox worker after a transaction that queued mail commits.
    pub outbox: OutboxSignal,
}

impl AppState {
    pub fn invite_settings(&self) -> InviteSettings {
        InviteSettings::from_config(&self.config)
    }
}
