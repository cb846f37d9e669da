//! The persona selector: deterministic under a fixed seed, honouring every exclusion.

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shared::db::Type;
use shared::db::personas::{self, Activity, Candidate};
use shared::persona::selector::{Limits, Pool, Subject};
use testkit::samples;
use testkit::{TestDb, fixtures};
use uuid::Uuid;

const LIMITS: Limits = Limits { actions_per_hour: 4, posts_per_day: 2 };

fn candidate(username: &str, interests: &[&str]) -> Candidate {
    let mut persona = samples::marisol();
    persona.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, username.as_bytes());
    persona.username = username.into();
    persona.interests = interests.iter().map(|s| s.to_string()).collect();
    persona.timezone = "UTC".into();
    persona.active_hours_start = 0;
    persona.active_hours_end = 24;
    Candidate { persona, activity: Activity::default(), engaged: false }
}

fn noon() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap()
}

#[test]
fn the_same_seed_picks_the_same_personas_and_another_seed_may_differ() {
    let pool: Vec<Candidate> =
        (0..30).map(|i| candidate(&format!("p{i:02}"), if i % 3 == 0 { &["cooking"] } else { &["cycling"] })).collect();
    let topics = vec!["cooking".to_string()];
    let target = Subject::new(&topics, "soggy stir-fry", None, false);
    let normalised = Pool::new(&pool, noon());
    let pick = |seed| normalised.select(&target, &LIMITS, 5, &mut ChaCha8Rng::seed_from_u64(seed), |_| false);
    assert_eq!(pick(7), pick(7));
    assert_eq!(pick(7).len(), 5);
    let differs = (0..20).any(|s| pick(s) != pick(7));
    assert!(differs, "the draw is random across seeds");
    let eligible_but_excluded = pick(7)[0];
    let without =
        normalised.select(&target, &LIMITS, 30, &mut ChaCha8Rng::seed_from_u64(7), |id| id == eligible_but_excluded);
    assert!(!without.contains(&eligible_but_excluded), "the caller's own exclusions are honoured");
}

#[test]
fn interest_overlap_makes_a_persona_much_more_likely() {
    let pool: Vec<Candidate> = (0..20)
        .map(|i| candidate(&format!("p{i:02}"), if i < 4 { &["cooking", "recipes"] } else { &["cycling"] }))
        .collect();
    let topics = vec!["cooking".to_string(), "recipes".to_string()];
    let target = Subject::new(&topics, "a recipe for lentil soup", None, false);
    let normalised = Pool::new(&pool, noon());
    let mut cooks_picked = 0;
    for seed in 0..200 {
        let picked = normalised.select(&target, &LIMITS, 1, &mut ChaCha8Rng::seed_from_u64(seed), |_| false);
        if pool[..4].iter().any(|c| c.persona.id == picked[0]) {
            cooks_picked += 1;
        }
    }
    assert!(cooks_picked > 150, "cooks picked {cooks_picked}/200 times though they are 4 of 20");
}

#[test]
fn every_exclusion_is_honoured() {
    let author = candidate("author", &["cooking"]);
    let mut engaged = candidate("engaged", &["cooking"]);
    engaged.engaged = true;
    let mut busy = candidate("busy", &["cooking"]);
    busy.activity.actions_last_hour = 4;
    let mut prolific = candidate("prolific", &["cooking"]);
    prolific.activity.posts_last_day = 2;
    let mut asleep = candidate("asleep", &["cooking"]);
    asleep.persona.timezone = "Asia/Tokyo".into(); // 21:00 in Tokyo at 12:00 UTC
    asleep.persona.active_hours_start = 6;
    asleep.persona.active_hours_end = 20;
    let mut paused = candidate("paused", &["cooking"]);
    paused.persona.is_active = false;
    let mut night_owl = candidate("night_owl", &["cooking"]);
    night_owl.persona.timezone = "America/New_York".into(); // 07:00 in New York
    night_owl.persona.active_hours_start = 22;
    night_owl.persona.active_hours_end = 8;
    let eligible = candidate("eligible", &["cooking"]);
    let pool =
        vec![author.clone(), engaged, busy, prolific.clone(), asleep, paused, night_owl.clone(), eligible.clone()];
    let topics = vec!["cooking".to_string()];

    let normalised = Pool::new(&pool, noon());
    let comment_target = Subject::new(&topics, "", Some(author.persona.id), false);
    let mut picked = normalised.select(&comment_target, &LIMITS, 10, &mut ChaCha8Rng::seed_from_u64(1), |_| false);
    picked.sort();
    let mut expected = vec![prolific.persona.id, night_owl.persona.id, eligible.persona.id];
    expected.sort();
    assert_eq!(picked, expected, "the post cap does not matter for comments; the others are excluded");

    let post_target = Subject::new(&topics, "", None, true);
    let picked = normalised.select(&post_target, &LIMITS, 10, &mut ChaCha8Rng::seed_from_u64(1), |_| false);
    assert!(!picked.contains(&prolific.persona.id), "over its daily post cap");
    assert!(picked.contains(&author.persona.id), "no author for a new post");
    let reasons = normalised.exclusions(&comment_target, &LIMITS);
    assert_eq!(
        reasons,
        vec![
            Some("author"),
            Some("already engaged"),
            Some("hourly limit"),
            None,
            Some("asleep"),
            Some("paused"),
            None,
            None
        ]
    );
}

#[tokio::test]
async fn candidates_come_from_the_database_with_activity_and_engagement() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let now = noon();
    let ada = fixtures::persona(&**c, "ada", &["cooking"]).await;
    let bob = fixtures::persona(&**c, "bob", &["cooking"]).await;
    let carl = fixtures::persona(&**c, "carl", &["cooking"]).await;
    let board = fixtures::board(&**c, "b", &["cooking"]).await;
    let post = fixtures::human_post(&**c, board, "p", now).await;
    c.query_typed("UPDATE personas SET is_active = false WHERE id = $1", &[(&carl, Type::UUID)]).await.unwrap();
    for (minutes, action) in [(10i64, "commented"), (20, "voted"), (90, "posted")] {
        let target = if action == "commented" { Some(post) } else { None };
        let own_post = if target.is_none() { Some(fixtures::human_post(&**c, board, "x", now).await) } else { None };
        c.query_typed(
            "INSERT INTO persona_memory (persona_id, post_id, action_type, created_at) VALUES ($1, $2, $3, $4)",
            &[
                (&ada, Type::UUID),
                (&target.or(own_post), Type::UUID),
                (&action, Type::TEXT),
                (&(now - Duration::minutes(minutes)), Type::TIMESTAMPTZ),
            ],
        )
        .await
        .unwrap();
    }

    let found = personas::candidates(&**c, now, Some(post), None).await.unwrap();

    assert_eq!(
        found.iter().map(|c| c.persona.username.as_str()).collect::<Vec<_>>(),
        vec!["ada", "bob"],
        "paused personas are not candidates"
    );
    let a = &found[0];
    assert_eq!((a.activity.actions_last_hour, a.activity.posts_last_day, a.engaged), (2, 1, true));
    assert_eq!(a.activity.oldest_action_last_hour, Some(now - Duration::minutes(20)));
    assert!(!found[1].engaged && found[1].persona.id == bob);
}
