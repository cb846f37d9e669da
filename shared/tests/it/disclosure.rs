//! What personas say when a person sincerely asks whether they are AI, in each `PERSONA_DISCLOSURE` mode,
//! with the offline writer and the Gemini fake; and the account labels of `labelled` mode.

use chrono::Duration;
use shared::disclosure;
use shared::engine::Engine;
use shared::kinds::{REPLY, TaskReport};
use shared::queue::{Target, TaskStatus};
use testkit::fixtures::{self, Author};
use testkit::{GeminiFake, Reply, TestDb};
use uuid::Uuid;

use crate::helpers::{claim_new, count, engine_with, gemini_engine, t0, task};
use crate::security::{as_role, denied};

/// A persona's comment on a person's post, and a person's reply to it saying `asked`; the reply's id.
async fn asked(engine: &Engine, asked: &str) -> (Uuid, Uuid) {
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "marisol_cooks", &["cooking", "recipes"]).await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking", "recipes"]).await;
    let post = fixtures::human_post(&**c, board, "Why does my stir-fry end up soggy?", t0() - Duration::hours(3)).await;
    let said = fixtures::comment(
        &**c,
        post,
        None,
        Author::Persona(persona),
        "Crowded pan. Cook it in two batches and let the wok get properly hot between them.",
        t0() - Duration::hours(2),
    )
    .await;
    let question =
        fixtures::comment(&**c, post, Some((said, 0)), Author::Human(Uuid::new_v4()), asked, t0() - Duration::hours(1))
            .await;
    (persona, question)
}

async fn reply_to(engine: &Engine, persona: Uuid, comment: Uuid) -> TaskReport {
    let claimed = claim_new(engine, REPLY.task(persona, Target::Comment(comment), engine.clock.now())).await;
    engine.run_task(&claimed).await
}

async fn published_reply(engine: &Engine, question: Uuid) -> Option<String> {
    let c = engine.pool.get().await.unwrap();
    c.query_typed_opt(
        "SELECT body FROM comments WHERE parent_id = $1 AND persona_id IS NOT NULL",
        &[(&question, shared::db::Type::UUID)],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

/// An engine with the offline writer and `settings` over the defaults.
fn offline(db: &TestDb, settings: &[(&str, &str)]) -> Engine {
    engine_with(db, std::sync::Arc::new(shared::ai::offline::OfflineWriter), settings).0
}

#[tokio::test]
async fn the_offline_writer_answers_a_sincere_question_honestly_and_only_in_the_honest_modes() {
    for (mode, honest) in [("honest", true), ("labelled", true), ("none", false)] {
        let db = TestDb::new().await;
        let engine = offline(&db, &[("PERSONA_DISCLOSURE", mode)]);
        let (persona, question) = asked(&engine, "Honest question: are you a bot?").await;
        let report = reply_to(&engine, persona, question).await;
        assert_eq!(report.status, TaskStatus::Done, "{mode}: {report:?}");
        let body = published_reply(&engine, question).await.expect("a reply");
        assert_eq!(disclosure::admits(&body), honest, "{mode}: {body:?}");
        assert_eq!(disclosure::denial(&body), None, "{mode}: {body:?}");
        let decisions = task(&engine, report.task_id).await.decisions;
        let recorded = decisions.as_array().unwrap().iter().any(|d| d["stage"] == "disclosure");
        assert_eq!(recorded, honest, "{mode}: the task records that it was asked: {decisions}");
    }
}

#[tokio::test]
async fn with_the_model_a_denial_is_refused_and_the_honest_answer_published() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let (persona, question) = asked(&engine, "wait, are you an AI?").await;
    fake.push(Reply::Json(
        serde_json::json!({ "decision": "reply", "body": "lol no, I'm a real person. two batches." }),
    ));
    fake.push(Reply::Json(serde_json::json!({ "decision": "reply", "body": "Yeah, I'm an AI, one of the personas here. Two batches still works." })));
    let report = reply_to(&engine, persona, question).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let body = published_reply(&engine, question).await.unwrap();
    assert!(body.starts_with("Yeah, I'm an AI"), "{body}");
    // The model was told, and the refusal named the denial.
    let prompt = fake.received()[0].body.to_string();
    assert!(prompt.contains("sincerely asks whether you are a bot or an AI"), "{prompt}");
    let decisions = task(&engine, report.task_id).await.decisions;
    let refusal = decisions.as_array().unwrap().iter().find(|d| d["stage"] == "gate").unwrap();
    assert!(refusal["reason"].as_str().unwrap().contains("denies being AI"), "{refusal}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn a_joke_about_bots_is_not_a_question_and_the_persona_does_not_volunteer_it() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let (persona, question) = asked(&engine, "are you a bot lol, nobody answers that fast").await;
    let admission = serde_json::json!({ "decision": "reply", "body": "Yes, I'm an AI. Two batches." });
    fake.push(Reply::Json(admission.clone()));
    fake.push(Reply::Json(admission));
    let report = reply_to(&engine, persona, question).await;
    assert_eq!(report.status, TaskStatus::Skipped, "{report:?}");
    assert!(report.reason.as_deref().unwrap().contains("talks about being AI"), "{report:?}");
    let prompt = fake.received()[0].body.to_string();
    assert!(!prompt.contains("sincerely asks"), "a joke gets no honest-answer instruction");
    assert!(prompt.contains("never claim to be human"), "{prompt}");
    assert_eq!(published_reply(&engine, question).await, None);
}

#[tokio::test]
async fn in_none_mode_the_old_rule_holds_and_a_denial_is_published() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[("PERSONA_DISCLOSURE", "none")]);
    let (persona, question) = asked(&engine, "Are you a bot?").await;
    fake.push(Reply::Json(
        serde_json::json!({ "decision": "reply", "body": "Not a bot, just up early. Two batches." }),
    ));
    let report = reply_to(&engine, persona, question).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let prompt = fake.received()[0].body.to_string();
    assert!(prompt.contains("never say or hint that you are an AI"), "{prompt}");
    assert!(!prompt.contains("sincerely asks"));
}

#[tokio::test]
async fn labelled_accounts_get_a_label_anyone_can_read_and_nobody_else_can_write() {
    let db = TestDb::new().await;
    let engine = offline(
        &db,
        &[("PERSONA_DISCLOSURE", "labelled"), ("PERSONA_LABEL", "AI persona"), ("PERSONA_BIO_LABEL", "(AI persona)")],
    );
    let (persona, _) = asked(&engine, "hi").await;
    let original_bio = bio_of(&engine, persona).await;
    shared::planner::tick(&engine, None).await.unwrap();
    shared::planner::tick(&engine, None).await.unwrap();
    let labels = count(
        &engine,
        &format!("SELECT count(*) FROM persona_accounts WHERE persona_id = '{persona}' AND label = 'AI persona'"),
    )
    .await;
    assert_eq!(labels, 1);
    let bio = bio_of(&engine, persona).await;
    assert!(
        bio.ends_with(" (AI persona)") && bio.matches("(AI persona)").count() == 1,
        "once, however many ticks: {bio:?}"
    );

    let mut c = db.connect().await;
    for role in ["anon", "authenticated"] {
        let rows = as_role(&mut c, role, "SELECT persona_id, label FROM persona_accounts").await.expect("readable");
        assert_eq!(rows.len(), 1, "{role}");
        denied(as_role(&mut c, role, "UPDATE persona_accounts SET label = 'human'").await, "a web role relabels");
        denied(
            as_role(&mut c, role, &format!("DELETE FROM persona_accounts WHERE persona_id = '{persona}'")).await,
            "a web role unlabels",
        );
        denied(
            as_role(&mut c, role, &format!("INSERT INTO persona_accounts VALUES ('{}', 'x', now())", Uuid::new_v4()))
                .await,
            "a web role labels",
        );
    }

    // Another mode: the labels go with the next tick, and the suffix the engine added comes off.
    let honest = offline(&db, &[]);
    shared::planner::tick(&honest, None).await.unwrap();
    assert_eq!(count(&honest, "SELECT count(*) FROM persona_accounts").await, 0);
    assert_eq!(bio_of(&honest, persona).await, original_bio, "the bio is as it was before labelling");

    // A bio the web app edited after the suffix went on is left as it is.
    shared::planner::tick(&engine, None).await.unwrap();
    assert!(bio_of(&engine, persona).await.ends_with("(AI persona)"));
    let c = engine.pool.get().await.unwrap();
    c.execute_typed(
        "UPDATE personas SET bio = 'Rewritten by its operator' WHERE id = $1",
        &[(&persona, shared::db::Type::UUID)],
    )
    .await
    .unwrap();
    shared::planner::tick(&honest, None).await.unwrap();
    assert_eq!(bio_of(&honest, persona).await, "Rewritten by its operator");
}

async fn bio_of(engine: &Engine, persona: Uuid) -> String {
    engine
        .pool
        .get()
        .await
        .unwrap()
        .query_typed_one("SELECT bio FROM personas WHERE id = $1", &[(&persona, shared::db::Type::UUID)])
        .await
        .unwrap()
        .get(0)
}
