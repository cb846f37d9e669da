//! A persona's own rhythm: how often it comes by and how much it does when it does. Real communities
//! are uneven (a few regulars, many occasional visitors; posting Gini around 0.6 on forums), so
//! chattiness is drawn per persona from a heavy-tailed (log-normal) distribution, fixed for the persona
//! (drawn from its id), and some people are on more at weekends and some less.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rand::Rng;

use super::Persona;
use super::selector::{in_active_hours, local_hour};
use crate::db::personas::Chattiness;
use crate::stable;

/// The median persona's sessions a day.
const MEDIAN_SESSIONS_PER_DAY: f64 = 4.0;
/// Spread of the log-normal: σ = 1.4 puts 10 % of personas at under a session a day and 10 % at
/// 24 a day (the most it takes): a Gini of about 0.65 before the caps, near the 0.6 of forum posting.
const SIGMA: f64 = 1.4;

fn draw(persona: &Persona, what: &[u8]) -> f64 {
    stable::unit(&[persona.id.as_bytes(), what])
}

/// A standard normal value fixed for the persona (Box–Muller on two stable draws).
fn normal(persona: &Persona, what: &[u8]) -> f64 {
    let u1 = draw(persona, &[what, b"-1"].concat()).max(1e-12);
    let u2 = draw(persona, &[what, b"-2"].concat());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// How many times a day the persona comes by, on an ordinary weekday: drawn from the whole heavy-tailed
/// spread, or, when its profile names its chattiness, from a narrow spread around that.
pub fn sessions_per_day(persona: &Persona) -> f64 {
    let (median, sigma) = match persona.chattiness {
        None => (MEDIAN_SESSIONS_PER_DAY, SIGMA),
        Some(Chattiness::Lurker) => (0.5, SET_SIGMA),
        Some(Chattiness::Occasional) => (2.0, SET_SIGMA),
        Some(Chattiness::Regular) => (5.0, SET_SIGMA),
        Some(Chattiness::VeryActive) => (12.0, SET_SIGMA),
    };
    (median * (sigma * normal(persona, b"chattiness")).exp()).clamp(0.25, 24.0)
}

/// Spread around a chattiness the profile names: two personas called regulars still differ.
const SET_SIGMA: f64 = 0.35;

/// How it is on at weekends compared with weekdays: from half as much to half as much again.
pub fn weekend_factor(persona: &Persona) -> f64 {
    0.5 + draw(persona, b"weekend")
}

/// What it does in a session, at most: regulars do more per visit as well as visit more.
pub fn appetite(persona: &Persona) -> usize {
    match sessions_per_day(persona) {
        s if s >= 8.0 => 4,
        s if s >= 3.0 => 3,
        s if s >= 1.0 => 2,
        _ => 1,
    }
}

/// Whether it is the weekend where the persona lives.
pub fn is_weekend(persona: &Persona, at: DateTime<Utc>) -> bool {
    let day = match persona.timezone.parse::<Tz>() {
        Ok(tz) => at.with_timezone(&tz).weekday(),
        Err(_) => at.weekday(),
    };
    matches!(day, Weekday::Sat | Weekday::Sun)
}

/// When the persona next comes by after `now`: an exponential wait whose mean spreads its sessions
/// over its waking hours, counted in waking time only (a persona asleep at `now` comes by some while
/// after it wakes).
pub fn next_session(persona: &Persona, now: DateTime<Utc>, rng: &mut impl Rng) -> DateTime<Utc> {
    let mut rate = sessions_per_day(persona);
    if is_weekend(persona, now) {
        rate *= weekend_factor(persona);
    }
    let waking_hours =
        (i64::from(persona.active_hours_end) - i64::from(persona.active_hours_start)).rem_euclid(24).max(1);
    let waking_hours = if persona.active_hours_end == persona.active_hours_start { 24 } else { waking_hours };
    let mean_minutes = waking_hours as f64 * 60.0 / rate.max(0.01);
    let u: f64 = rng.random::<f64>().max(1e-9);
    let mut wait = (-u.ln() * mean_minutes).clamp(5.0, 14.0 * 24.0 * 60.0) as i64;
    // Walk forward in 15-minute steps, spending the wait only while awake.
    let mut t = now;
    for _ in 0..(15 * 24 * 4) {
        if wait <= 0 {
            break;
        }
        let awake =
            in_active_hours(local_hour(&persona.timezone, t), persona.active_hours_start, persona.active_hours_end)
                || persona.active_hours_start == persona.active_hours_end;
        // Never across the hour, where waking hours begin and end.
        let step = wait.min(15).min(60 - i64::from(t.minute()));
        if awake {
            wait -= step;
        }
        t += Duration::minutes(step);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use uuid::Uuid;

    fn persona(n: u128) -> Persona {
        Persona {
            id: Uuid::from_u128(n),
            username: format!("p{n}"),
            display_name: format!("P {n}"),
            active_hours_start: 8,
            active_hours_end: 22,
            ..crate::persona::tests_support::persona()
        }
    }

    #[test]
    fn a_named_chattiness_sets_the_rhythm_around_it() {
        let with = |n: u128, c: Chattiness| sessions_per_day(&Persona { chattiness: Some(c), ..persona(n) });
        let median = |c: Chattiness| {
            let mut rates: Vec<f64> = (0..401).map(|n| with(n, c)).collect();
            rates.sort_by(f64::total_cmp);
            rates[200]
        };
        let (lurker, occasional, regular, very) = (
            median(Chattiness::Lurker),
            median(Chattiness::Occasional),
            median(Chattiness::Regular),
            median(Chattiness::VeryActive),
        );
        assert!(lurker < 0.7 && occasional > 1.5 && occasional < 2.5, "{lurker} {occasional}");
        assert!(regular > 4.0 && regular < 6.0 && very > 10.0, "{regular} {very}");
        assert!((0..400).all(|n| with(n, Chattiness::Lurker) < with(n, Chattiness::VeryActive)));
    }

    #[test]
    fn chattiness_is_heavy_tailed_and_fixed_per_persona() {
        let rates: Vec<f64> = (0..1000).map(|n| sessions_per_day(&persona(n))).collect();
        assert_eq!(sessions_per_day(&persona(7)), sessions_per_day(&persona(7)));
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[500];
        assert!((3.2..4.8).contains(&median), "median {median}");
        let top_tenth: f64 = sorted[900..].iter().sum();
        let total: f64 = sorted.iter().sum();
        assert!(top_tenth / total > 0.3, "a few regulars do much of it: {}", top_tenth / total);
        assert!(sorted[100] < 1.0, "many occasional visitors: p10 {}", sorted[100]);
    }

    #[test]
    fn sessions_land_in_waking_hours_and_come_as_often_as_drawn() {
        let p = persona(3);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // Monday 2026-11-02, 09:00 UTC: 100 sessions in a row.
        let mut t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 2, 9, 0, 0).unwrap();
        let start = t;
        for _ in 0..100 {
            t = next_session(&p, t, &mut rng);
            let hour = local_hour("UTC", t - Duration::minutes(1));
            assert!(in_active_hours(hour, 8, 22), "at {t}");
        }
        let days = (t - start).num_minutes() as f64 / (24.0 * 60.0);
        let rate = 100.0 / days;
        let expected = sessions_per_day(&p);
        assert!(rate > expected * 0.6 && rate < expected * 1.5, "{rate} a day against {expected}");
    }
}
