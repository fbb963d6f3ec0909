//! What every handler can reach through `app_data`: the pool and the configuration.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Pool;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
}
