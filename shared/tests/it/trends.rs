//! Tags and trends: tags come in the same answer as the post (cleaned, or asked for again), trends come
//! from people's engagement (personas count at `TREND_PERSONA_WEIGHT` and alone make nothing trend),
//! trend-aware personas are offered only trends in their interests, people's posts are tagged in a batch
//! when the operator asks, and the ranking view reads as its caller under RLS.

use chrono::{DateTime, Duration, Utc};
use shared::clock::Clock;
use shared::db::trends::{self, Trend};
use shared::db::{GenericClient, Type};
use shared::engine::Engine;
use shared::kinds::{BROWSE, IMAGE_POST, POST, TAG_POSTS};
use shared::queue::{Target, TaskStatus};
use testkit::fixtures::{self, Author};
use testkit::{GeminiFake, Reply, TestDb};
use uuid::Uuid;

use crate::helpers::{claim_new, count, engine_with, gemini_engine, offline_engine, t0, task};
use crate::security::{as_role, denied};

/// A post on `board` by `author`, tagged with `tags`, at `at`.
async fn post(c: &impl GenericClient, board: Uuid, author: Author, tags: &[&str], at: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    let (author_id, persona_id) = match author {
        Author::Human(id) => (Some(id), None),
        Author::Persona(id) => (None, Some(id)),
    };
    c.execute_typed(
        "INSERT INTO posts (id, board_id, author_id, persona_id, title, body, created_at)
         VALUES ($1, $2, $3, $4, 'A post about ' || $5, 'Some text.', $6)",
        &[
            (&id, Type::UUID),
            (&board, Type::UUID),
            (&author_id, Type::UUID),
            (&persona_id, Type::UUID),
            (&tags.join(" "), Type::TEXT),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await
    .unwrap();
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    trends::insert_tags(c, id, &tags).await.unwrap();
    id
}

/// `n` upvotes on `post` by `by` (distinct people, or the persona list in turn), at `at`.
async fn upvotes(c: &impl GenericClient, post: Uuid, people: bool, personas: &[Uuid], n: usize, at: DateTime<Utc>) {
    for i in 0..n {
        let (user, persona) =
            if people { (Some(Uuid::new_v4()), None) } else { (None, Some(personas[i % personas.len()])) };
        c.execute_typed(
            "INSERT INTO votes (post_id, user_id, persona_id, value, created_at) VALUES ($1, $2, $3, 1, $4)",
            &[(&post, Type::UUID), (&user, Type::UUID), (&persona, Type::UUID), (&at, Type::TIMESTAMPTZ)],
        )
        .await
        .unwrap();
    }
}

async fn comments(c: &impl GenericClient, post: Uuid, author: Author, n: usize, at: DateTime<Utc>) {
    for i in 0..n {
        fixtures::comment(c, post, None, author, &format!("comment {i} on it"), at).await;
    }
}

fn topics(list: &[Trend]) -> Vec<&str> {
    list.iter().map(|t| t.topic.as_str()).collect()
}

#[tokio::test]
async fn people_make_trends_and_personas_alone_cannot_whatever_their_volume() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    let personas = fixtures::personas(&**c, "p", 5).await;
    let two_hours_ago = t0() - Duration::hours(2);
    // People talk about sourdough a little.
    for _ in 0..2 {
        let p = post(&**c, board, Author::Human(Uuid::new_v4()), &["sourdough", "bread"], two_hours_ago).await;
        upvotes(&**c, p, true, &[], 2, t0() - Duration::hours(1)).await;
    }
    // Personas push air fryers hard among themselves: ten times the engagement, no person involved.
    for i in 0..2 {
        let p = post(&**c, board, Author::Persona(personas[i]), &["air fryer", "gadgets"], two_hours_ago).await;
        upvotes(&**c, p, false, &personas, 20, t0() - Duration::hours(1)).await;
        comments(&**c, p, Author::Persona(personas[(i + 1) % 5]), 10, t0() - Duration::hours(1)).await;
    }
    let moved = trends::refresh(&**c, t0(), 0.5).await.unwrap();
    let now = trends::current(&**c).await.unwrap();
    let listed = topics(&now);
    assert!(listed.contains(&"sourdough") && listed.contains(&"bread"), "{listed:?}");
    assert!(!listed.contains(&"air fryer") && !listed.contains(&"gadgets"), "personas alone: {listed:?}");
    assert_eq!(moved.trending as usize, now.len());
    let sourdough = now.iter().find(|t| t.topic == "sourdough").unwrap();
    assert_eq!((sourdough.posts, sourdough.people_upvotes, sourdough.persona_upvotes), (2, 4, 0));
    assert_eq!(sourdough.source, "tag");
    assert_eq!(sourdough.started_by, "people");
    assert_eq!(sourdough.boards, vec![board]);
    // The board's own topic is on every post there, people's included: it trends as the board's.
    let cooking = now.iter().find(|t| t.topic == "cooking").expect("the board topic trends");
    assert_eq!((cooking.source.as_str(), cooking.posts, cooking.persona_comments), ("board", 4, 20));
    // Velocity: upvotes + 2.5 × comments per hour of age, persona engagement at half weight.
    let expected = 2.0 * (2.0 / 2.0) + 2.0 * (0.5 * (20.0 + 2.5 * 10.0) / 2.0);
    assert!((cooking.velocity - expected).abs() < 1e-9, "{} vs {expected}", cooking.velocity);
}

#[tokio::test]
async fn persona_engagement_counts_at_its_weight_so_peoples_topic_ranks_first() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let board = fixtures::board(&**c, "makers", &[]).await;
    let personas = fixtures::personas(&**c, "p", 3).await;
    let at = t0() - Duration::hours(3);
    // Knitting: six people's upvotes. Soldering: one person's and six personas': more in all.
    for _ in 0..2 {
        let knit = post(&**c, board, Author::Human(Uuid::new_v4()), &["knitting"], at).await;
        upvotes(&**c, knit, true, &[], 3, at).await;
        let solder = post(&**c, board, Author::Human(Uuid::new_v4()), &["soldering"], at).await;
        upvotes(&**c, solder, false, &personas, 3, at).await;
    }
    let solder_post: Uuid =
        c.query_typed_one("SELECT post_id FROM post_tags WHERE tag = 'soldering' LIMIT 1", &[]).await.unwrap().get(0);
    upvotes(&**c, solder_post, true, &[], 1, at).await;

    trends::refresh(&**c, t0(), 0.5).await.unwrap();
    assert_eq!(topics(&trends::current(&**c).await.unwrap()), ["knitting", "soldering"], "6 against 1 + 0.5 × 6");
    // Counted fully, the personas' six upvotes would put soldering first.
    trends::refresh(&**c, t0(), 1.0).await.unwrap();
    let full = trends::current(&**c).await.unwrap();
    assert_eq!(topics(&full), ["soldering", "knitting"]);
    assert_eq!((full[0].rank, full[1].rank), (1, 2));
}

#[tokio::test]
async fn the_tick_keeps_runs_of_a_trend_with_who_started_it_and_when_it_ended() {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    let c = engine.pool.get().await.unwrap();
    let board = fixtures::board(&**c, "garden", &[]).await;
    let persona = fixtures::persona(&**c, "rosa_grows", &["gardening"]).await;
    // A persona posted about tomatoes first; people took it up.
    let first = post(&**c, board, Author::Persona(persona), &["tomatoes"], t0() - Duration::hours(5)).await;
    let second = post(&**c, board, Author::Human(Uuid::new_v4()), &["tomatoes"], t0() - Duration::hours(4)).await;
    for p in [first, second] {
        upvotes(&**c, p, true, &[], 3, t0() - Duration::hours(3)).await;
    }
    shared::planner::tick(&engine, None).await.unwrap();
    let now = trends::current(&**c).await.unwrap();
    assert_eq!(topics(&now), ["tomatoes"]);
    assert_eq!((now[0].started_by.as_str(), now[0].since), ("personas", t0()));
    assert_eq!(now[0].window_start, t0() - Duration::hours(48));
    // Two minutes on, the tick leaves trends alone: they are recomputed every ten minutes.
    clock.advance(Duration::minutes(2));
    shared::planner::tick(&engine, None).await.unwrap();
    assert_eq!(trends::current(&**c).await.unwrap()[0].computed_at, t0());
    clock.set(t0());
    // An hour later it still trends: the same run, its figures from the later tick.
    clock.advance(Duration::hours(1));
    shared::planner::tick(&engine, None).await.unwrap();
    let later = trends::current(&**c).await.unwrap();
    assert_eq!((later[0].since, later[0].computed_at), (t0(), t0() + Duration::hours(1)));
    assert!(later[0].velocity < now[0].velocity, "older posts, slower");
    // People take their upvotes back for a moment: it leaves the list, and is back within the grace,
    // so it carries on the same run.
    c.batch_execute("CREATE TEMP TABLE held AS SELECT * FROM votes; DELETE FROM votes").await.unwrap();
    trends::refresh(&**c, t0() + Duration::minutes(70), 0.5).await.unwrap();
    assert!(trends::current(&**c).await.unwrap().is_empty(), "no people, no trend");
    c.batch_execute("INSERT INTO votes SELECT * FROM held; DROP TABLE held").await.unwrap();
    trends::refresh(&**c, t0() + Duration::minutes(100), 0.5).await.unwrap();
    let back = trends::current(&**c).await.unwrap();
    assert_eq!((back[0].topic.as_str(), back[0].since), ("tomatoes", t0()), "the same run");
    // Two days on, its posts have left the window: the run ends.
    clock.advance(Duration::hours(48));
    shared::planner::tick(&engine, None).await.unwrap();
    assert!(trends::current(&**c).await.unwrap().is_empty());
    let runs = trends::runs(&**c, t0() - Duration::days(1), clock.now()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(!runs[0].open);
    assert_eq!((runs[0].since, runs[0].until), (t0(), t0() + Duration::hours(49)));
    // The audit reads the same runs.
    let audit =
        shared::audit::run(&**c, t0() - Duration::days(1), clock.now(), 4, shared::audit::MAX_TEXTS).await.unwrap();
    assert_eq!((audit.trends.trends, audit.trends.started_by_personas, audit.trends.started_by_people), (1, 1, 0));
    assert_eq!(audit.trends.hours_trending.median, 49.0);
}

/// The tags stored for `post`, alphabetical.
async fn stored_tags(engine: &Engine, post: Uuid) -> Vec<String> {
    let c = engine.pool.get().await.unwrap();
    trends::tags_of(&**c, &[post]).await.unwrap().remove(&post).unwrap_or_default()
}

#[tokio::test]
async fn a_post_carries_the_tags_of_its_own_answer_cleaned_and_bad_ones_are_asked_for_again() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[("PERSONA_MAX_POSTS_PER_DAY", "10")]);
    let (persona, board) = {
        let c = engine.pool.get().await.unwrap();
        (
            fixtures::persona(&**c, "marisol_cooks", &["cooking"]).await,
            fixtures::board(&**c, "home-cooking", &["cooking"]).await,
        )
    };
    fake.push(Reply::Json(serde_json::json!({
        "title": "Two batches, always", "body": "Crowding the pan is what makes a stir-fry steam.",
        "tags": ["#StirFry", "Wok_Cooking", "stir-fry", "weeknight dinners."]
    })));
    let report = engine.run_task(&claim_new(&engine, POST.task(persona, Target::Board(board), t0())).await).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    assert_eq!(fake.received().len(), 1, "the tags came with the post, no extra call");
    let id = report.published.as_ref().and_then(|p| p.result_id).unwrap();
    let mut tags = stored_tags(&engine, id).await;
    tags.sort();
    assert_eq!(tags, ["stir-fry", "stirfry", "weeknight dinners", "wok cooking"]);

    // A tag is not how the text ends: "random thoughts" last is no stock closing line.
    fake.push(Reply::Json(serde_json::json!({
        "title": "Knife storage", "body": "Magnetic strip over the counter, blades away from the edge.",
        "tags": ["knives", "kitchen storage", "random thoughts"]
    })));
    let report = engine.run_task(&claim_new(&engine, POST.task(persona, Target::Board(board), t0())).await).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let decisions = task(&engine, report.task_id).await.decisions.to_string();
    assert!(!decisions.contains("style"), "published at the first try: {decisions}");

    // Tags that are not tags (markup, a sentence, a description of the picture): asked for once more.
    fake.push(Reply::Json(serde_json::json!({
        "title": "Lentils tonight", "body": "Salt at the end or they stay hard, every single time.",
        "tags": ["<a href=x>lentils</a>", "this is a whole sentence about soup", "photo of a pot", "soup"]
    })));
    let report = engine.run_task(&claim_new(&engine, POST.task(persona, Target::Board(board), t0())).await).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let decisions = task(&engine, report.task_id).await.decisions.to_string();
    assert!(decisions.contains("usable tags") && decisions.contains("photo of a pot"), "{decisions}");
    let tags = stored_tags(&engine, report.published.as_ref().and_then(|p| p.result_id).unwrap()).await;
    assert!((2..=5).contains(&tags.len()) && !tags.iter().any(|t| t.contains('<')), "{tags:?}");
}

#[tokio::test]
async fn the_offline_writer_tags_every_post_kind_like_a_regular() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let c = engine.pool.get().await.unwrap();
    let board = fixtures::board(&**c, "home-cooking", &["cooking", "recipes"]).await;
    let personas = fixtures::personas(&**c, "cook", 6).await;
    for (i, persona) in personas.iter().enumerate() {
        let kind = if i % 2 == 0 { POST } else { IMAGE_POST };
        let report = engine.run_task(&claim_new(&engine, kind.task(*persona, Target::Board(board), t0())).await).await;
        assert_eq!(report.status, TaskStatus::Done, "{report:?}");
        let tags = stored_tags(&engine, report.published.as_ref().and_then(|p| p.result_id).unwrap()).await;
        assert!((2..=5).contains(&tags.len()), "{tags:?}");
        for tag in &tags {
            assert_eq!(shared::trends::normalise(tag).as_deref(), Some(tag.as_str()), "{tag:?} is clean");
        }
    }
    let distinct = count(&engine, "SELECT count(DISTINCT tag) FROM post_tags").await;
    assert!(distinct >= 4, "niche tags vary with what the post is about: {distinct}");
}

/// Sourdough trending on `board`: people's posts and upvotes, refreshed at `t0()`.
async fn sourdough_trending(c: &impl GenericClient, board: Uuid) {
    for _ in 0..2 {
        let p = post(c, board, Author::Human(Uuid::new_v4()), &["sourdough"], t0() - Duration::hours(2)).await;
        upvotes(c, p, true, &[], 3, t0() - Duration::hours(1)).await;
    }
    trends::refresh(c, t0(), 0.5).await.unwrap();
}

async fn set_trend_aware(c: &impl GenericClient, persona: Uuid) {
    c.execute_typed("UPDATE persona_private SET trend_aware = true WHERE persona_id = $1", &[(&persona, Type::UUID)])
        .await
        .unwrap();
}

#[tokio::test]
async fn only_a_trend_aware_persona_sees_trends_and_only_those_in_its_interests() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let c = engine.pool.get().await.unwrap();
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    sourdough_trending(&**c, board).await;
    let baker = fixtures::persona(&**c, "ines_bakes", &["sourdough baking", "cooking"]).await;
    let rider = fixtures::persona(&**c, "kwame_rides", &["motorbikes", "cooking"]).await;
    let unaware = fixtures::persona(&**c, "hana_bakes", &["sourdough", "cooking"]).await;
    set_trend_aware(&**c, baker).await;
    set_trend_aware(&**c, rider).await;

    for (persona, offered) in [(baker, true), (rider, false), (unaware, false)] {
        let before = fake.received().len();
        let report = engine.run_task(&claim_new(&engine, POST.task(persona, Target::Board(board), t0())).await).await;
        assert_eq!(report.status, TaskStatus::Done, "{report:?}");
        let prompt = fake.received()[before].body.to_string();
        assert_eq!(prompt.contains("<trending>sourdough</trending>"), offered, "{persona}: {prompt}");
        assert_eq!(prompt.contains("trending topics shown with the board"), offered);
        let tags = stored_tags(&engine, report.published.as_ref().and_then(|p| p.result_id).unwrap()).await;
        assert_eq!(tags.contains(&"sourdough".to_string()), offered, "{tags:?}");
    }

    // The offline writer too: the rider never tags a trend outside its interests, the baker often does.
    let unlimited = [("PERSONA_MAX_POSTS_PER_DAY", "100"), ("PERSONA_MAX_ACTIONS_PER_HOUR", "1000")];
    let offline = engine_with(&db, std::sync::Arc::new(shared::ai::offline::OfflineWriter), &unlimited).0;
    let mut published = std::collections::HashMap::new();
    for _ in 0..8 {
        for persona in [baker, rider] {
            let report =
                offline.run_task(&claim_new(&offline, POST.task(persona, Target::Board(board), t0())).await).await;
            let Some(id) = report.published.as_ref().and_then(|p| p.result_id) else { continue };
            let tagged = stored_tags(&offline, id).await.contains(&"sourdough".to_string());
            published.entry(persona).or_insert_with(Vec::new).push(tagged);
        }
    }
    assert!(!published[&rider].is_empty() && published[&rider].iter().all(|t| !t), "{published:?}");
    assert!(published[&baker].iter().filter(|t| **t).count() * 2 >= published[&baker].len(), "{published:?}");
}

#[tokio::test]
async fn a_trend_aware_persona_s_session_sees_which_feed_items_are_trending() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let c = engine.pool.get().await.unwrap();
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    sourdough_trending(&**c, board).await;
    post(&**c, board, Author::Human(Uuid::new_v4()), &["lentils"], t0() - Duration::minutes(30)).await;
    let aware = fixtures::persona(&**c, "ines_bakes", &["cooking"]).await;
    let unaware = fixtures::persona(&**c, "hana_bakes", &["cooking"]).await;
    set_trend_aware(&**c, aware).await;
    for (persona, sees) in [(aware, true), (unaware, false)] {
        let before = fake.received().len();
        let report = engine.run_task(&claim_new(&engine, BROWSE.task(persona, None, t0())).await).await;
        assert_eq!(report.status, TaskStatus::Done, "{report:?}");
        let prompt = fake.received()[before].body.to_string();
        // The sourdough posts carry their trending tag (and the board's trending topic); the lentil post
        // only the board's.
        assert_eq!(prompt.matches(r#"trending=\"cooking, sourdough\""#).count(), if sees { 2 } else { 0 }, "{prompt}");
        assert_eq!(prompt.matches(r#"trending=\"cooking\""#).count(), usize::from(sees), "{prompt}");
    }
}

#[tokio::test]
async fn peoples_posts_are_tagged_in_one_batch_only_when_the_operator_asks() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let c = db.client().await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    let tagger = fixtures::persona(&**c, "marisol_cooks", &["cooking"]).await;
    let mut people = Vec::new();
    for title in ["Soggy stir-fry again", "Lentil soup that stays hard", "Which knife first?"] {
        people.push(fixtures::human_post(&**c, board, title, t0() - Duration::hours(3)).await);
    }
    let tagged = |engine: &Engine| {
        let engine = engine.clone();
        async move { count(&engine, "SELECT count(DISTINCT post_id) FROM post_tags").await }
    };

    let (off, _) = gemini_engine(&db, &fake, &[]);
    shared::planner::tick(&off, None).await.unwrap();
    assert_eq!(
        count(&off, "SELECT count(*) FROM persona_tasks WHERE task_type = 'tag_posts'").await,
        0,
        "off by default"
    );

    let (engine, _) = gemini_engine(&db, &fake, &[("TAG_HUMAN_POSTS", "true")]);
    shared::planner::tick(&engine, None).await.unwrap();
    shared::planner::tick(&engine, None).await.unwrap();
    let id: Uuid = c
        .query_typed_one("SELECT id FROM persona_tasks WHERE task_type = $1", &[(&TAG_POSTS.name(), Type::TEXT)])
        .await
        .expect("one task however many ticks")
        .get(0);
    let claimed = engine.queue.claim_by_id(&**c, id).await.unwrap();
    let before = fake.received().len();
    let report = engine.run_task(&claimed).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    assert_eq!(fake.received().len() - before, 1, "one call for the batch");
    assert_eq!(tagged(&engine).await, 3);
    for p in &people {
        assert!((2..=5).contains(&stored_tags(&engine, *p).await.len()));
    }

    // A made-up id tags nothing; a post whose tags are unusable keeps none; the rest are tagged.
    let newer = fixtures::human_post(&**c, board, "Cast iron rust", t0() - Duration::hours(1)).await;
    let other = fixtures::human_post(&**c, board, "Rice cooker or pot", t0() - Duration::hours(1)).await;
    fake.push(Reply::Json(serde_json::json!({ "posts": [
        { "id": newer.to_string(), "tags": ["cast iron", "shower thoughts"] },
        { "id": other.to_string(), "tags": ["<b>rice</b>"] },
        { "id": Uuid::new_v4().to_string(), "tags": ["invented", "post"] },
        { "id": "not an id", "tags": ["x", "y"] }
    ]})));
    let report = engine.run_task(&claim_new(&engine, TAG_POSTS.task(tagger, None, t0())).await).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    assert_eq!(stored_tags(&engine, newer).await, ["cast iron", "shower thoughts"], "tags are not prose");
    assert!(stored_tags(&engine, other).await.is_empty());
    assert_eq!(count(&engine, "SELECT count(*) FROM post_tags WHERE tag = 'invented'").await, 0);
}

#[tokio::test]
async fn the_ranking_view_weights_personas_and_shows_each_reader_only_what_they_may_read() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let mut c = db.connect().await;
    let board = fixtures::board(&c, "home-cooking", &["cooking"]).await;
    let personas = fixtures::personas(&c, "p", 2).await;
    let published = post(&c, board, Author::Human(Uuid::new_v4()), &["soup"], t0() - Duration::hours(1)).await;
    let hidden = post(&c, board, Author::Human(Uuid::new_v4()), &["secret"], t0() - Duration::hours(1)).await;
    c.execute("UPDATE posts SET status = 'DRAFT' WHERE id = $1", &[&hidden]).await.unwrap();
    for p in [published, hidden] {
        upvotes(&c, p, true, &[], 2, t0()).await;
        upvotes(&c, p, false, &personas, 2, t0()).await;
        comments(&c, p, Author::Human(Uuid::new_v4()), 1, t0()).await;
        comments(&c, p, Author::Persona(personas[0]), 2, t0()).await;
    }
    let engagement = |rows: &[tokio_postgres::Row]| -> Vec<(Uuid, f64)> {
        rows.iter().map(|r| (r.get::<_, Uuid>(0), r.get::<_, f64>(1))).collect()
    };
    for role in ["anon", "authenticated"] {
        let rows = as_role(&mut c, role, "SELECT post_id, engagement, hot FROM post_rankings").await.unwrap();
        // (2 + 0.5 × 2) + 2 × (1 + 0.5 × 2): the draft is not theirs to rank.
        assert_eq!(engagement(&rows), [(published, 7.0)], "{role}");
        let tags = as_role(&mut c, role, "SELECT post_id, tag FROM post_tags").await.unwrap();
        assert_eq!(tags.iter().map(|r| r.get::<_, String>(1)).collect::<Vec<_>>(), ["soup"], "{role}");
        denied(as_role(&mut c, role, "SELECT * FROM trends").await, "trends");
        denied(as_role(&mut c, role, "UPDATE ranking_weights SET weight = 0").await, "the weight");
        denied(
            as_role(&mut c, role, &format!("INSERT INTO post_tags VALUES ('{published}', 'spam')")).await,
            "writing tags",
        );
        denied(as_role(&mut c, role, "DELETE FROM post_tags").await, "deleting tags");
    }
    // The planner's tick keeps the operator's weight.
    let quarter =
        engine_with(&db, std::sync::Arc::new(shared::ai::offline::OfflineWriter), &[("TREND_PERSONA_WEIGHT", "0.25")])
            .0;
    shared::planner::tick(&quarter, None).await.unwrap();
    let rows = as_role(&mut c, "anon", "SELECT post_id, engagement FROM post_rankings").await.unwrap();
    assert_eq!(engagement(&rows), [(published, 2.5 + 2.0 * 1.5)]);
    let _ = engine;
}

#[tokio::test]
async fn on_an_existing_platform_the_view_follows_the_web_apps_policies_and_pins_none_of_its_columns() {
    let db = TestDb::existing_platform().await;
    let mut c = db.connect().await;
    shared::db::migrate::run(&mut c).await.unwrap();
    // The web app's policy shows published posts only; the view reads as the caller.
    let visible: i64 = c.query_one("SELECT count(*) FROM posts WHERE status = 'PUBLISHED'", &[]).await.unwrap().get(0);
    c.batch_execute("UPDATE posts SET status = 'DRAFT' WHERE id = '22222222-2222-4222-8222-000000000003'")
        .await
        .unwrap();
    let rows = as_role(&mut c, "anon", "SELECT count(*) FROM post_rankings").await.unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), visible - 1);
    let rows = as_role(
        &mut c,
        "anon",
        "SELECT people_score FROM post_rankings WHERE post_id = '22222222-2222-4222-8222-000000000002'",
    )
    .await
    .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 2, "the web app's own duplicate vote counts as it always did");
    // The web app may still change its own columns: nothing of the engine's depends on them.
    c.batch_execute("ALTER TABLE public.votes ALTER COLUMN value TYPE integer").await.unwrap();
    let rows = as_role(&mut c, "anon", "SELECT count(*) FROM post_rankings").await.unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), visible - 1);
}

#[tokio::test]
async fn a_platform_whose_post_tags_the_engine_cannot_use_keeps_its_plan_and_doctor_says_why() {
    let db = TestDb::existing_platform().await;
    let mut c = db.connect().await;
    // The web app's own tags: by id, in a table of its own shape.
    c.batch_execute(
        "CREATE TABLE public.post_tags (post_id uuid REFERENCES public.posts(id), tag_id integer NOT NULL);
         ALTER TABLE public.post_tags ENABLE ROW LEVEL SECURITY;",
    )
    .await
    .unwrap();
    shared::db::migrate::run(&mut c).await.unwrap();
    let (engine, _clock) = offline_engine(&db);
    let ines = fixtures::persona(&c, "ines_bakes", &["cooking"]).await;
    let board = Uuid::parse_str("11111111-1111-4111-8111-111111111111").unwrap();
    let report = engine.run_task(&claim_new(&engine, POST.task(ines, Target::Board(board), t0())).await).await;
    assert_eq!(report.status, TaskStatus::Done, "the post is published without its tags: {report:?}");
    let planned = shared::planner::tick(&engine, None).await.expect("the tick plans without trends");
    assert_eq!(planned.by_type.get("browse").copied(), Some(2), "{planned:?}");
    assert!(trends::current(&c).await.unwrap().is_empty());
    let columns: Vec<String> = c
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'post_tags' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(columns, ["post_id", "tag_id"], "the web app's table is left as it was");
    let (gemini, storage) = (GeminiFake::start().await, testkit::StorageFake::start("media", 1 << 20).await);
    let report = shared::doctor::run(&crate::doctor::config(&db, &gemini, &storage, &[]), None).await;
    let contract = crate::doctor::check(&report, "schema_contract");
    assert_eq!(contract.level, shared::doctor::Level::Fail, "{}", report.render());
    assert!(contract.detail.contains("post_tags.tag"), "{}", contract.detail);
}
