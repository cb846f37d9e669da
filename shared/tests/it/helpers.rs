//! Shared test setup.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use shared::clock::ManualClock;
use shared::queue::{Queue, RetryPolicy};

/// A fixed, readable start time for simulated clocks.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

/// A queue on a manual clock with a 5-minute lease, 3 retries, and no jitter (exact schedules).
pub fn queue_at(start: DateTime<Utc>) -> (Queue, Arc<ManualClock>) {
    let clock = ManualClock::new(start);
    let queue = Queue::new(clock.clone(), std::time::Duration::from_secs(300), 3)
        .with_retry_policy(RetryPolicy { jitter: 0.0, ..RetryPolicy::default() });
    (queue, clock)
}

/// Logs to the test output when `TEST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("debug").try_init();
    }
}
