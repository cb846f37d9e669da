//! The per-persona limits, in one place: the worker checks them before acting, the selector before
//! picking a persona, the planner before giving one more work.

use chrono::{DateTime, Duration, Utc};

use crate::db::personas::Activity;

/// The per-persona limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`: posts, comments, replies and votes.
    pub actions_per_hour: u32,
    /// `PERSONA_MAX_POSTS_PER_DAY`.
    pub posts_per_day: u32,
}

/// A limit reached: when it frees, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitReached {
    /// A minute after the oldest counted action leaves the window.
    pub at: DateTime<Utc>,
    /// Which limit, naming its variable.
    pub reason: String,
}

impl Limits {
    /// Actions the persona may still take within the hour.
    pub fn actions_left(&self, activity: &Activity) -> i64 {
        i64::from(self.actions_per_hour) - activity.actions_last_hour
    }

    /// Original posts the persona may still make within the day.
    pub fn posts_left(&self, activity: &Activity) -> i64 {
        i64::from(self.posts_per_day) - activity.posts_last_day
    }

    /// Whether the persona may act now (an original post when `is_post`); when not, when it may.
    pub fn check(&self, activity: &Activity, is_post: bool, now: DateTime<Utc>) -> Result<(), LimitReached> {
        let slack = Duration::minutes(1);
        if self.actions_left(activity) <= 0 {
            let at =
                activity.oldest_action_last_hour.map(|t| t + Duration::hours(1)).unwrap_or(now + Duration::hours(1));
            return Err(LimitReached {
                at: at + slack,
                reason: format!("persona reached PERSONA_MAX_ACTIONS_PER_HOUR ({})", self.actions_per_hour),
            });
        }
        if is_post && self.posts_left(activity) <= 0 {
            let at = activity.oldest_post_last_day.map(|t| t + Duration::days(1)).unwrap_or(now + Duration::days(1));
            return Err(LimitReached {
                at: at + slack,
                reason: format!("persona reached PERSONA_MAX_POSTS_PER_DAY ({})", self.posts_per_day),
            });
        }
        Ok(())
    }
}
