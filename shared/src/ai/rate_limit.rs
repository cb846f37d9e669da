//! The global model request limit (`GEMINI_MAX_REQUESTS_PER_MINUTE`), held in Postgres so it binds every
//! worker process together. A task that finds the window full is rescheduled, not failed.

use std::time::Duration;

use crate::clock::SharedClock;
use crate::db::request_limits::{self, Slot};
use crate::db::{DbError, DbPool};

/// A sliding one-minute window of at most `per_minute` requests. Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    pool: DbPool,
    clock: SharedClock,
    name: String,
    per_minute: u32,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("name", &self.name).field("per_minute", &self.per_minute).finish()
    }
}

impl RateLimiter {
    /// A limiter named `name` (one per provider account).
    pub fn new(pool: DbPool, clock: SharedClock, name: &str, per_minute: u32) -> Self {
        Self { pool, clock, name: name.to_owned(), per_minute }
    }

    /// The configured limit.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// `Ok(Ok(()))` when a request may go now; `Ok(Err(wait))` when the window is full for `wait`.
    pub async fn acquire(&self) -> Result<Result<(), Duration>, DbError> {
        let client = self.pool.get().await?;
        let now = self.clock.now();
        match request_limits::take_slot(
            &**client,
            &self.name,
            i64::from(self.per_minute),
            chrono::Duration::minutes(1),
            now,
        )
        .await?
        {
            Slot::Granted => Ok(Ok(())),
            Slot::FullUntil(at) => {
                Ok(Err((at - now).to_std().unwrap_or(Duration::from_secs(1)).max(Duration::from_secs(1))))
            }
        }
    }
}
