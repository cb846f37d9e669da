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

/// Whose work an action is. People come first: the persona's own work (planned engagement, its own
/// posts, replies to other personas) stops one action short of the hourly cap, so there is always room
/// to answer a person who answered it without waiting for the hour to free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Answering a person, or a task an operator forced: may use the whole cap.
    Priority,
    /// Everything else.
    Own,
}

impl Limits {
    /// Actions the persona may still take within the hour for `work`.
    pub fn actions_left(&self, activity: &Activity, work: Work) -> i64 {
        let reserved = match work {
            Work::Own if self.actions_per_hour >= 2 => 1,
            _ => 0,
        };
        i64::from(self.actions_per_hour) - reserved - activity.actions_last_hour
    }

    /// Original posts the persona may still make within the day.
    pub fn posts_left(&self, activity: &Activity) -> i64 {
        i64::from(self.posts_per_day) - activity.posts_last_day
    }

    /// Whether the persona may act now on `work` (an original post when `is_post`); when not, when it
    /// may.
    pub fn check(
        &self,
        activity: &Activity,
        work: Work,
        is_post: bool,
        now: DateTime<Utc>,
    ) -> Result<(), LimitReached> {
        let slack = Duration::minutes(1);
        if self.actions_left(activity, work) <= 0 {
            let at =
                activity.oldest_action_last_hour.map(|t| t + Duration::hours(1)).unwrap_or(now + Duration::hours(1));
            let kept = self.actions_left(activity, Work::Priority) > 0;
            let reason = if kept {
                format!(
                    "persona used its own share of PERSONA_MAX_ACTIONS_PER_HOUR ({} of {}; the last is kept for \
                     answering people)",
                    self.actions_per_hour - 1,
                    self.actions_per_hour
                )
            } else {
                format!("persona reached PERSONA_MAX_ACTIONS_PER_HOUR ({})", self.actions_per_hour)
            };
            return Err(LimitReached { at: at + slack, reason });
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn after(actions: i64) -> Activity {
        let t = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        Activity {
            actions_last_hour: actions,
            oldest_action_last_hour: (actions > 0).then_some(t),
            posts_last_day: 0,
            oldest_post_last_day: None,
            latest_post_last_day: None,
        }
    }

    #[test]
    fn the_last_action_of_the_hour_is_kept_for_people() {
        let limits = Limits { actions_per_hour: 4, posts_per_day: 2 };
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
        assert_eq!(limits.actions_left(&after(2), Work::Own), 1);
        assert_eq!(limits.actions_left(&after(2), Work::Priority), 2);
        let own = limits.check(&after(3), Work::Own, false, now).unwrap_err();
        assert!(own.reason.contains("kept for answering people"), "{}", own.reason);
        assert_eq!(own.at, Utc.with_ymd_and_hms(2026, 11, 2, 10, 1, 0).unwrap(), "when the oldest leaves the hour");
        assert!(limits.check(&after(3), Work::Priority, false, now).is_ok());
        let full = limits.check(&after(4), Work::Priority, false, now).unwrap_err();
        assert_eq!(full.reason, "persona reached PERSONA_MAX_ACTIONS_PER_HOUR (4)");
    }

    #[test]
    fn a_cap_of_one_keeps_nothing_back() {
        let limits = Limits { actions_per_hour: 1, posts_per_day: 2 };
        assert_eq!(limits.actions_left(&after(0), Work::Own), 1);
        assert_eq!(limits.actions_left(&after(0), Work::Priority), 1);
    }
}
