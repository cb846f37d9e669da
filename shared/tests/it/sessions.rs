//! Sessions (perceive, decide, act), relationships, learning from engagement and long-term memory.

use chrono::Duration;
use serde_json::json;
use shared::context::Scene;
use shared::db::Type;
use shared::db::sessions;
use shared::engine::Engine;
use shared::kinds::browse::Browse;
use shared::kinds::{self, Action, BROWSE, COMMENT, Kind, REPLY, TaskReport};
use shared::queue::{Target, TaskStatus};
use testkit::fixtures::{self, Author};
use testkit::{GeminiFake, Reply, TestDb};
use uuid::Uuid;

use crate::helpers::{claim_new, count, gemini_engine, offline_engine, t0, task};

struct World {
    marisol: Uuid,
    board: Uuid,
    posts: Vec<Uuid>,
}

/// Marisol (cooking) and a cooking board with five posts by people, an hour to a day old.
async fn world(engine: &Engine) -> World {
    let c = engine.pool.get().await.unwrap();
    let marisol = fixtures::persona(&**c, "marisol_cooks", &["cooking", "recipes"]).await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking", "recipes"]).await;
    let mut posts = Vec::new();
    for (i, title) in
        ["Soggy stir-fry", "Lentil soup", "Knife sharpening", "Sourdough starter", "Rice cooker"].iter().enumerate()
    {
        let at = t0() - Duration::hours(1 + 5 * i as i64);
        posts.push(fixtures::human_post(&**c, board, title, at).await);
    }
    World { marisol, board, posts }
}

async fn run(engine: &Engine, persona: Uuid, kind: Kind, target: Option<Target>) -> TaskReport {
    let claimed = claim_new(engine, kind.task(persona, target, engine.clock.now())).await;
    engine.run_task(&claimed).await
}

async fn scene_of(engine: &Engine, persona: Uuid) -> shared::context::FeedView {
    let db = engine.pool.get().await.unwrap();
    let task = BROWSE.task(persona, None, engine.clock.now());
    let task = {
        let id = engine.queue.enqueue(&**db, &[task]).await.unwrap().inserted[0];
        engine.queue.get(&**db, id).await.unwrap()
    };
    let found = shared::db::personas::find(&**db, persona).await.unwrap().unwrap();
    let prepared = Browse.observe(&engine.services(), &db, &task, None, &found).await.unwrap();
    engine.queue.cancel(&**db, task.id, "only looking").await.unwrap();
    prepared.seen.feed
}

#[tokio::test]
async fn a_session_shows_its_interests_first_and_never_the_same_post_twice() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    let elsewhere = fixtures::board(&**c, "bikes", &["cycling"]).await;
    let off_topic = fixtures::human_post(&**c, elsewhere, "Chain lube", t0() - Duration::hours(1)).await;

    let first = scene_of(&engine, w.marisol).await;
    let shown: Vec<Uuid> = first.posts.iter().map(|p| p.feed.post.id).collect();
    assert_eq!(shown.len(), 6, "five cooking posts and one other");
    let rank = |id: Uuid| shown.iter().position(|p| *p == id).unwrap();
    assert!(rank(w.posts[0]) < rank(off_topic), "of two posts as fresh, the one in its interests comes first");
    assert_eq!(rank(w.posts[0]), 0, "the freshest post in its interests leads");
    assert!(first.boards.iter().any(|b| b.id == w.board), "it may post where its interests are");
    assert!(first.boards.iter().all(|b| b.id != elsewhere), "and not where they are not");

    let report = run(&engine, w.marisol, BROWSE, None).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let viewed = count(&engine, "SELECT count(*) FROM persona_memory WHERE action_type = 'viewed'").await;
    assert_eq!(viewed, 6, "what it was shown is remembered");

    let second = scene_of(&engine, w.marisol).await;
    assert!(second.posts.is_empty(), "nothing it was shown comes back: {:?}", second.posts.len());
    assert!(w.posts.iter().all(|p| shown.contains(p)));
}

#[tokio::test]
async fn people_who_answered_come_first_and_a_session_answers_them() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    let mine = fixtures::comment(&**c, w.posts[0], None, Author::Persona(w.marisol), "Two batches.", t0()).await;
    let person = Uuid::new_v4();
    let answer = fixtures::comment(&**c, w.posts[0], Some((mine, 0)), Author::Human(person), "Why two?", t0()).await;

    let feed = scene_of(&engine, w.marisol).await;
    assert_eq!(feed.notices.len(), 1);
    assert_eq!(feed.notices[0].notice.comment.id, answer);
    assert_eq!(feed.notices[0].notice.answers.as_deref(), Some("Two batches."));
    assert_eq!(feed.find("N1"), Some(shared::context::Labelled::Comment(answer)));

    // A model is shown the same, with ids to choose by and how the persona feels about the people.
    let mut felt = feed.clone();
    felt.notices[0].affinity = -45;
    let persona_row = shared::db::personas::find(&**c, w.marisol).await.unwrap().unwrap();
    let history = shared::persona::History::default();
    let prompt = BROWSE
        .prompt(
            &persona_row,
            &history,
            &Scene::Feed(felt),
            None,
            1,
            &shared::prompt::Budget::default(),
            shared::disclosure::Disclosure::Honest,
        )
        .expect("a scene the kind looks at");
    assert!(prompt.user.contains("<comment id=\"N1\""), "{}", prompt.user);
    assert!(prompt.user.contains("you=\"often disagree with them\""), "{}", prompt.user);
    assert!(prompt.user.contains("replying_to=\"your comment 'Two batches.'\""), "{}", prompt.user);
    assert!(prompt.user.contains("id=\"P1\"") && prompt.user.contains("<board id=\"B1\""), "{}", prompt.user);

    // The offline policy answers a person with the chance the setting gives at her chattiness: over
    // many seeds near it, always at 1, never at 0.
    let persona = shared::db::personas::find(&**c, w.marisol).await.unwrap().unwrap();
    let answered = |feed: &shared::context::FeedView| {
        (0..400u64)
            .filter(|seed| {
                kinds::browse::offline_policy(&persona, feed, *seed)
                    .iter()
                    .any(|choice| choice.action == "reply" && choice.on == "N1")
            })
            .count()
    };
    let expected = kinds::browse::answers_person(&persona, 0, f64::from(feed.answer_people) / 1000.0);
    assert!((0.2..0.9).contains(&expected), "{expected}");
    let share = answered(&feed) as f64 / 400.0;
    assert!((share - expected).abs() < 0.08, "answered {share:.2}, expected {expected:.2}");
    assert_eq!(answered(&shared::context::FeedView { answer_people: 1000, ..feed.clone() }), 400);
    assert_eq!(answered(&shared::context::FeedView { answer_people: 0, ..feed.clone() }), 0);
    // Warmer, more often.
    let mut warm = feed.clone();
    warm.notices[0].affinity = 60;
    assert!(answered(&warm) as f64 / 400.0 > share + 0.1, "a friend is answered more often");
}

#[tokio::test]
async fn a_session_enqueues_what_it_chose_naming_itself_and_refuses_what_it_was_not_shown() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let feed = scene_of(&engine, w.marisol).await;
    let first_post = feed.posts[0].feed.post.id;
    fake.push(Reply::Json(json!({ "actions": [
        { "action": "comment", "on": "P1", "why": "I know this one" },
        { "action": "vote", "on": "p2", "why": "nice" },
        { "action": "reply", "on": "P3", "why": "a post is not a comment" },
        { "action": "vote", "on": "P99", "why": "invented" },
        { "action": "dance", "on": "P1", "why": "not a thing" }
    ]})));

    let report = run(&engine, w.marisol, BROWSE, None).await;

    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let c = engine.pool.get().await.unwrap();
    let chosen = c
        .query_typed(
            "SELECT task_type, post_id, origin_task_id FROM persona_tasks WHERE origin_task_id IS NOT NULL ORDER BY scheduled_at",
            &[],
        )
        .await
        .unwrap();
    let chosen: Vec<(String, Option<Uuid>, Uuid)> = chosen.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(chosen.len(), 2, "{chosen:?}");
    assert_eq!((chosen[0].0.as_str(), chosen[0].1), ("comment", Some(first_post)));
    assert_eq!(chosen[1].0, "vote");
    assert!(chosen.iter().all(|(_, _, origin)| *origin == report.task_id), "each names its session");
    let decisions = task(&engine, report.task_id).await.decisions;
    let session: Vec<&serde_json::Value> =
        decisions.as_array().unwrap().iter().filter(|d| d["stage"] == "session").collect();
    let refused: Vec<&str> =
        session.iter().filter(|d| d["verdict"] == "refused").map(|d| d["on"].as_str().unwrap()).collect();
    // At most four choices are acted on: the fifth is never looked at.
    assert_eq!(refused, vec!["P3", "P99"], "{decisions}");
    assert!(!decisions.to_string().contains("dance"), "{decisions}");
    assert!(session.iter().any(|d| d["verdict"] == "chose" && d["why"] == "I know this one"));
    // Chosen work is done like any other, through the limits and the dedupe.
    let again = engine.queue.enqueue(&**c, &[COMMENT.task(w.marisol, Target::Post(first_post), t0())]).await.unwrap();
    assert_eq!(again.inserted.len(), 0, "the queue's dedupe covers chosen work too");
}

#[tokio::test]
async fn answering_someone_changes_how_the_persona_feels_about_them() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    fake.push(Reply::Json(json!({ "decision": "reply", "body": "Crowding is the whole problem, cook in two goes." })));
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    let person = Uuid::new_v4();
    let comment = fixtures::comment(&**c, w.posts[0], None, Author::Human(person), "Crowded pan?", t0()).await;

    let report = run(&engine, w.marisol, REPLY, Some(Target::Comment(comment))).await;

    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let known = sessions::affinities(&**c, w.marisol).await.unwrap();
    let stance = task(&engine, report.task_id)
        .await
        .decisions
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["stage"] == "prompt")
        .unwrap()["brief"]["stance"]
        .as_str()
        .unwrap()
        .to_owned();
    let affinity = known[&sessions::Other::Person(person)];
    match stance.as_str() {
        "disagree" => assert!(affinity < 0.0, "{stance}: {affinity}"),
        _ => assert!(affinity > 0.0, "{stance}: {affinity}"),
    }
    let interactions: i32 = c
        .query_typed_one(
            "SELECT interactions FROM persona_relationships WHERE persona_id = $1",
            &[(&w.marisol, Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(interactions, 1);
}

#[tokio::test]
async fn what_landed_becomes_an_example_and_nothing_downvoted_ever_does() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    let at = t0() - Duration::days(2);
    let liked =
        fixtures::comment(&**c, w.posts[4], None, Author::Persona(w.marisol), "Rinse the rice three times.", at).await;
    let mixed =
        fixtures::comment(&**c, w.posts[4], None, Author::Persona(w.marisol), "Never wash a cast iron pan.", at).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    c.batch_execute(&format!(
        "INSERT INTO votes (post_id, comment_id, user_id, value, created_at) VALUES
           (NULL, '{liked}', '{a}', 1, now()), (NULL, '{liked}', '{b}', 1, now()),
           (NULL, '{mixed}', '{a}', 1, now()), (NULL, '{mixed}', '{b}', -1, now())"
    ))
    .await
    .unwrap();
    fixtures::comment(&**c, w.posts[4], Some((mixed, 0)), Author::Human(a), "Wrong.", at).await;

    let landed = sessions::texts_that_landed(&**c, w.marisol, t0() - Duration::days(30), 5).await.unwrap();
    assert_eq!(landed.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), vec!["Rinse the rice three times."]);

    clock.advance(Duration::minutes(1));
    fake.push(Reply::Json(json!({ "body": "Two batches, and let the pan get properly hot first." })));
    let report = run(&engine, w.marisol, COMMENT, Some(Target::Post(w.posts[1]))).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let sent = fake.received().remove(0).body.to_string();
    assert!(sent.contains("Rinse the rice three times."), "what landed is an example");
    assert!(!sent.contains("Never wash a cast iron pan."), "a downvoted text never is");
}

#[tokio::test]
async fn every_few_actions_a_session_refreshes_the_long_term_memory_that_later_prompts_carry() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    for (i, post) in w.posts.iter().enumerate() {
        let text = format!("Comment number {i} about cooking lentils slowly.");
        let id =
            fixtures::comment(&**c, *post, None, Author::Persona(w.marisol), &text, t0() - Duration::days(1)).await;
        for action in ["replied", "voted"] {
            c.query_typed(
                "INSERT INTO persona_memory (persona_id, comment_id, action_type, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    (&w.marisol, Type::UUID),
                    (&id, Type::UUID),
                    (&action, Type::TEXT),
                    (&(t0() - Duration::days(1)), Type::TIMESTAMPTZ),
                ],
            )
            .await
            .unwrap();
        }
    }
    c.query_typed(
        "INSERT INTO persona_memory (persona_id, post_id, action_type, created_at)
         SELECT $1, p, 'commented', $2 FROM unnest($3::uuid[]) p",
        &[(&w.marisol, Type::UUID), (&(t0() - Duration::days(1)), Type::TIMESTAMPTZ), (&w.posts, Type::UUID_ARRAY)],
    )
    .await
    .unwrap();
    fake.push(Reply::Json(json!({ "actions": [] })));

    let session = run(&engine, w.marisol, BROWSE, None).await;

    assert_eq!(session.status, TaskStatus::Done, "{session:?}");
    let reflect: Uuid = c
        .query_typed_one(
            "SELECT id FROM persona_tasks WHERE task_type = 'reflect' AND origin_task_id = $1",
            &[(&session.task_id, Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    fake.push(Reply::Json(json!({ "note": "I keep telling people to cook lentils slowly. Jordan agrees with me." })));
    let claimed = engine.queue.claim_by_id(&**c, reflect).await.unwrap();
    let note = engine.run_task(&claimed).await;
    assert_eq!(note.status, TaskStatus::Done, "{note:?}");
    let (summary, covered) = sessions::summary(&**c, w.marisol).await.unwrap().unwrap();
    assert!(summary.contains("lentils slowly"));
    assert_eq!(covered, 15, "the note covers every action so far");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_memory WHERE action_type NOT IN ('viewed')").await, 15);

    // A session right after does not ask again: nothing new to cover.
    fake.push(Reply::Json(json!({ "actions": [] })));
    let next = run(&engine, w.marisol, BROWSE, None).await;
    assert_eq!(next.status, TaskStatus::Done);
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE task_type = 'reflect'").await, 1);

    fake.push(Reply::Json(json!({ "body": "Slowly, always slowly." })));
    let report = run(&engine, w.marisol, COMMENT, Some(Target::Post(w.posts[0]))).await;
    assert_eq!(report.status, TaskStatus::Skipped, "it commented there already: {report:?}");
    let c2 = fixtures::human_post(&**c, w.board, "Any lentil tips?", t0()).await;
    let report = run(&engine, w.marisol, COMMENT, Some(Target::Post(c2))).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let sent: Vec<String> = fake.received().iter().map(|r| r.body.to_string()).collect();
    assert!(
        sent.last().unwrap().contains("Your own notes on what you have been up to lately: I keep telling people"),
        "later prompts carry the note"
    );
}

#[tokio::test]
async fn a_persona_with_nothing_written_has_nothing_to_remember() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let w = world(&engine).await;

    let report = run(&engine, w.marisol, shared::kinds::REFLECT, None).await;

    assert_eq!(report.status, TaskStatus::Skipped, "{report:?}");
    assert_eq!(report.reason.as_deref(), Some("the persona has written nothing to remember yet"));
    assert!(sessions::summary(&**engine.pool.get().await.unwrap(), w.marisol).await.unwrap().is_none());
}

/// A session that chose to comment may write the comment in the same answer (its prompt offered it:
/// someone answered the persona, and the feed was small enough): the comment task publishes that text without a second model call, once the
/// publish gate passes it; a text the gate refuses falls back to the writing call.
#[tokio::test]
async fn a_text_written_in_the_session_is_published_without_a_second_call_and_a_refused_one_falls_back() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    // Someone answered her: the session where she is offered to write.
    let c = engine.pool.get().await.unwrap();
    let mine = fixtures::comment(&**c, w.posts[4], None, Author::Persona(w.marisol), "Rinse it first.", t0()).await;
    fixtures::comment(&**c, w.posts[4], Some((mine, 0)), Author::Human(Uuid::new_v4()), "Why rinse?", t0()).await;
    drop(c);
    let written = "two batches and a screaming hot pan, that's all it is";
    fake.push(Reply::Json(json!({ "actions": [
        { "action": "comment", "on": "P1", "why": "I know this one", "text": written },
        { "action": "comment", "on": "P2", "why": "me too",
          "text": "Great question! Here's what I think:\n- salt late\n- lid half on" }
    ]})));
    let fallback = "Salt them at the end and keep the lid half on, twenty minutes.";
    fake.push(Reply::Json(json!({ "body": fallback })));

    let session = run(&engine, w.marisol, BROWSE, None).await;
    assert_eq!(session.status, TaskStatus::Done, "{session:?}");
    let asked = fake.received();
    assert_eq!(asked.len(), 1);
    let item = &asked[0].body["generationConfig"]["responseSchema"]["properties"]["actions"]["items"];
    assert!(item["properties"]["text"].is_object(), "the offer was made: {item}");
    let user = asked[0].body["contents"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(user.contains("Write the way people type"), "a session that may write gets the style rules: {user}");

    let c = engine.pool.get().await.unwrap();
    let chosen: Vec<Uuid> = c
        .query_typed("SELECT id FROM persona_tasks WHERE origin_task_id IS NOT NULL ORDER BY scheduled_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(chosen.len(), 2);
    clock.advance(Duration::hours(1));
    let mut published = Vec::new();
    for id in &chosen {
        let claimed = engine.queue.claim_by_id(&**c, *id).await.unwrap();
        let report = engine.run_task(&claimed).await;
        assert_eq!(report.status, TaskStatus::Done, "{report:?}");
        let body: String = c
            .query_typed_one(
                "SELECT body FROM comments WHERE id = $1",
                &[(&task(&engine, *id).await.result_id.unwrap(), Type::UUID)],
            )
            .await
            .unwrap()
            .get(0);
        published.push((body, task(&engine, *id).await.decisions));
    }
    assert_eq!(published[0].0, written, "the session's words, as written");
    let used = crate::helpers::stage(&published[0].1, "session_text");
    assert_eq!(used["verdict"], "used", "{}", published[0].1);
    assert_eq!(crate::helpers::stage(&published[0].1, "composed")["attempts"], 0);
    assert_eq!(published[1].0, fallback, "a refused text is written again by the writing call");
    let refused = crate::helpers::stage(&published[1].1, "session_text");
    assert_eq!(refused["verdict"], "refused", "{}", published[1].1);
    assert_eq!(fake.received().len(), 2, "one call for the session, one for the refused text, none for the other");
}
