//! The persona studio end to end: personas from a brief with the offline provider and through Gemini's
//! wire format (profile JSON, an image, a vision answer), bad answers as clear errors with nothing
//! half-created, edits, and image posts that keep the persona's looks.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use shared::ai::similarity::{NEAR_DUPLICATE, similarity};
use shared::db::Type;
use shared::db::personas;
use shared::engine::Engine;
use shared::media::storage::SupabaseStorage;
use shared::persona::Persona;
use shared::studio::{self, CreateRequest, PersonaPatch, StudioError};
use testkit::gemini_fake::DESCRIPTION;
use testkit::storage_fake::{FAKE_SERVICE_KEY, StorageReply};
use testkit::{GeminiFake, Reply, StorageFake, TestDb, fixtures};

use crate::helpers::{gemini_engine, offline_engine, t0};

fn request(brief: &str, count: usize) -> CreateRequest {
    CreateRequest { brief: brief.into(), count: Some(count), boards: None, active: None }
}

async fn all_personas(engine: &Engine) -> Vec<Persona> {
    personas::list(&**engine.pool.get().await.unwrap(), None, 500).await.unwrap()
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Every check a made persona must pass, whoever made it.
fn assert_well_made(p: &Persona) {
    assert!(!p.is_active, "made paused for review: {}", p.username);
    assert!(p.username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{}", p.username);
    assert!((3..=8).contains(&p.voice_bank.len()), "{:?}", p.voice_bank);
    let lengths: Vec<usize> = p.voice_bank.iter().map(|t| words(t)).collect();
    let (shortest, longest) = (*lengths.iter().min().unwrap(), *lengths.iter().max().unwrap());
    assert!(shortest <= 12 && longest >= 25 && longest >= 3 * shortest, "clearly different lengths: {lengths:?}");
    assert!(p.voice_bank.iter().all(|t| shared::style::marks(t).is_empty()), "{:?}", p.voice_bank);
    let reference = p.character_reference.as_deref().expect("a character reference");
    assert!((100..=200).contains(&words(reference)), "{} words", words(reference));
    assert!(p.chattiness.is_some() && p.voting_temperament.is_some());
    assert!(p.timezone.parse::<chrono_tz::Tz>().is_ok(), "{}", p.timezone);
    assert!(p.avatar_url.is_some());
}

#[tokio::test]
async fn the_offline_studio_makes_a_diverse_cast_with_avatars_and_references() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    {
        let c = db.client().await;
        fixtures::board(&**c, "radio-repair", &["radios"]).await;
        fixtures::persona(&**c, "ada", &["cooking"]).await;
    }
    let made = studio::create(
        &engine,
        &CreateRequest {
            boards: Some(vec!["radio-repair".into()]),
            ..request("retired engineers who fix old radios", 3)
        },
    )
    .await
    .unwrap();
    assert_eq!(made.personas.len(), 3);
    for p in &made.personas {
        assert_well_made(p);
        assert!(p.interests.contains(&"radios".to_string()), "made for the board: {:?}", p.interests);
        // The avatar is a 512-pixel square, stored where image posts go.
        let path = p.avatar_url.as_deref().unwrap().strip_prefix("file://").expect("a local file");
        let avatar = image::open(path).unwrap();
        assert_eq!((avatar.width(), avatar.height()), (512, 512));
    }
    // Diverse: interests of their own, and no example nearly repeats another persona's.
    for (i, a) in made.personas.iter().enumerate() {
        for b in &made.personas[..i] {
            assert!(a.interests.iter().filter(|x| !b.interests.contains(x)).count() >= 2, "{a:?} {b:?}");
            for (x, y) in a.voice_bank.iter().flat_map(|x| b.voice_bank.iter().map(move |y| (x, y))) {
                assert!(similarity(x, y) < NEAR_DUPLICATE, "{x} / {y}");
            }
        }
    }
    // Stored as returned; a second cast from the same brief gets handles and words of its own.
    let stored = all_personas(&engine).await;
    for p in &made.personas {
        assert_eq!(stored.iter().find(|s| s.id == p.id), Some(p));
    }
    let again = studio::create(&engine, &request("retired engineers who fix old radios", 2)).await.unwrap();
    let handles: std::collections::HashSet<String> =
        all_personas(&engine).await.into_iter().map(|p| p.username).collect();
    assert_eq!(handles.len(), 6, "ada, three and two more, every handle distinct");
    for p in &again.personas {
        for q in &made.personas {
            for (x, y) in p.voice_bank.iter().flat_map(|x| q.voice_bank.iter().map(move |y| (x, y))) {
                assert!(similarity(x, y) < NEAR_DUPLICATE, "not a near copy of an existing persona: {x} / {y}");
            }
        }
    }
}

/// Offline, a brief makes the person it describes, twelve of them at once beside the demo world's cast,
/// each with a voice bank that nearly copies nobody's.
#[tokio::test]
async fn the_offline_studio_makes_twelve_of_the_person_the_brief_describes() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    tooling::demo_world::DemoWorld::embedded().seed(&**db.client().await, t0()).await.unwrap();
    let brief = "a retired ferry engineer in Gdansk who restores old valve radios";

    let made = studio::create(&engine, &request(brief, 12)).await.unwrap();

    assert_eq!(made.personas.len(), 12);
    let everyone = all_personas(&engine).await;
    for p in &made.personas {
        assert_well_made(p);
        assert!(p.bio.contains("retired ferry engineer in Gdansk who restores old valve radios"), "{}", p.bio);
        assert!(p.interests.contains(&"valve radios".to_owned()), "{:?}", p.interests);
        assert_eq!(p.timezone, "Europe/Warsaw");
        for other in everyone.iter().filter(|o| o.id != p.id) {
            for (x, y) in p.voice_bank.iter().flat_map(|x| other.voice_bank.iter().map(move |y| (x, y))) {
                assert!(similarity(x, y) < NEAR_DUPLICATE, "@{} / @{}: {x} / {y}", p.username, other.username);
            }
        }
    }
    let Err(e) = studio::create(&engine, &request(brief, 13)).await else { panic!("thirteen is too many") };
    assert!(matches!(&e, StudioError::BadRequest(m) if m.contains("between 1 and 12")), "{e}");
}

#[tokio::test]
async fn requests_the_studio_cannot_use_are_refused_by_name() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let refusal = |r: Result<studio::Created, StudioError>| match r {
        Err(e) => e,
        Ok(made) => panic!("made {} personas", made.personas.len()),
    };
    let e = refusal(studio::create(&engine, &request("   ", 1)).await);
    assert!(matches!(&e, StudioError::BadRequest(m) if m.contains("brief is empty")), "{e}");
    let e = refusal(studio::create(&engine, &request("?!? …", 1)).await);
    assert!(matches!(&e, StudioError::Unusable(m) if m.contains("no words")), "{e}");
    let e = refusal(studio::create(&engine, &request("gardeners", 0)).await);
    assert!(matches!(&e, StudioError::BadRequest(m) if m.contains("count")), "{e}");
    let e = refusal(studio::create(&engine, &request(&"x".repeat(501), 1)).await);
    assert!(matches!(&e, StudioError::BadRequest(m) if m.contains("500 characters")), "{e}");
    let e = refusal(
        studio::create(&engine, &CreateRequest { boards: Some(vec!["nowhere".into()]), ..request("gardeners", 1) })
            .await,
    );
    assert!(matches!(&e, StudioError::BadRequest(m) if m.contains("board \"nowhere\" not found")), "{e}");
    assert!(all_personas(&engine).await.is_empty());
}

/// An engine on the Gemini fake that stores avatars in the Storage fake.
async fn gemini_studio(db: &TestDb) -> (Engine, GeminiFake, StorageFake) {
    let fake = GeminiFake::start().await;
    let storage = StorageFake::start("media", 5 * 1024 * 1024).await;
    let (engine, _clock) = gemini_engine(db, &fake, &[]);
    let store = SupabaseStorage::new(&storage.uri(), SecretString::from(FAKE_SERVICE_KEY), "media", Duration::ZERO);
    (engine.with_storage(Arc::new(store)), fake, storage)
}

#[tokio::test]
async fn through_gemini_a_persona_is_one_profile_call_one_image_and_one_look_at_it() {
    let db = TestDb::new().await;
    let (engine, fake, storage) = gemini_studio(&db).await;
    // Someone already holds the handle the model will pick: the persona gets the next free one.
    fixtures::persona(&**db.client().await, "kwame_rides", &["cycling"]).await;
    fake.push(Reply::Auto).push(Reply::Image { png: testkit::gemini_fake::photo_png(900), thought_image_first: false });
    let made = studio::create(&engine, &request("people who cycle to work", 1)).await.unwrap();
    let p = &made.personas[0];
    assert_well_made(p);
    assert_eq!(p.username, "kwame_rides_2");
    assert_eq!(p.character_reference.as_deref(), Some(DESCRIPTION));

    let received = fake.received();
    assert_eq!(received.len(), 3, "profile, image, vision");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let (profile, picture, vision) = (&received[0].body, &received[1].body, &received[2].body);
    assert!(profile["generationConfig"]["responseSchema"]["properties"]["voice_bank"].is_object());
    assert!(profile.to_string().contains("<brief>people who cycle to work</brief>"));
    assert!(profile.to_string().contains("@kwame_rides"), "the prompt names who is already there");
    assert_eq!(received[1].model, "gemini-3.1-flash-image");
    assert_eq!(picture["generationConfig"]["imageConfig"]["aspectRatio"], "1:1");
    assert!(picture.to_string().contains("profile photo"));
    assert_eq!(received[2].model, "gemini-3.6-flash");
    let shown = &vision["contents"][0]["parts"][0]["inlineData"];
    assert_eq!(shown["mimeType"], "image/jpeg");
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, shown["data"].as_str().unwrap()).unwrap();
    let seen = image::load_from_memory(&bytes).unwrap();
    assert_eq!((seen.width(), seen.height()), (512, 512), "the model looks at the avatar as stored");

    // Stored in the bucket under the persona, and the persona points at it.
    let key = format!("personas/{}/avatar.jpg", p.id);
    assert_eq!(storage.object(&key), Some(bytes));
    assert!(p.avatar_url.as_deref().unwrap().ends_with(&format!("/storage/v1/object/public/media/{key}")));
}

#[tokio::test]
async fn an_answer_that_fails_a_check_is_asked_for_again_with_the_reasons() {
    let db = TestDb::new().await;
    let (engine, fake, _storage) = gemini_studio(&db).await;
    let mut listy = json!({
        "username": "dot_points", "display_name": "Dot Points", "bio": "A consultant who lives in Leeds and likes decks.",
        "voice": "Everything in bullet points.", "traits": ["organised", "brisk"], "interests": ["slides", "tea"],
        "timezone": "Europe/London", "active_hours_start": 8, "active_hours_end": 18, "chattiness": "regular",
        "voting_temperament": "balanced", "looks": "a man in a grey suit", "picture": "photo",
        "voice_bank": ["Great question! Here are my thoughts.", "- one\n- two\n- three", "Short."]
    });
    fake.push(Reply::Json(listy.clone()));
    let made = studio::create(&engine, &request("office workers", 1)).await.unwrap();
    assert_well_made(&made.personas[0]);
    let second = fake.received()[1].body.to_string();
    assert!(second.contains("Your previous answer could not be used"), "{second}");
    assert!(second.contains("stock phrase") && second.contains("clearly different lengths"), "{second}");

    // Twice unusable: a clear error, and nothing made, no image asked for.
    listy["timezone"] = json!("Middle/Earth");
    fake.push(Reply::Json(listy.clone())).push(Reply::Json(listy));
    let before = fake.received().len();
    let e = studio::create(&engine, &request("office workers", 1)).await.unwrap_err();
    assert!(
        matches!(&e, StudioError::Unusable(m) if m.contains("no usable profile") && m.contains("Middle/Earth")),
        "{e}"
    );
    assert_eq!(fake.received().len(), before + 2);
    assert_eq!(all_personas(&engine).await.len(), 1);
}

#[tokio::test]
async fn a_failure_after_the_first_avatar_is_stored_leaves_nothing_behind() {
    let db = TestDb::new().await;
    let (engine, fake, storage) = gemini_studio(&db).await;
    // Two personas: profiles, then image and vision for each. The second description never fits.
    let short = Reply::Json(json!({ "description": "A face." }));
    fake.push(Reply::Auto).push(Reply::Auto); // profiles
    fake.push(Reply::Auto).push(Reply::Auto); // the first avatar and its description
    fake.push(Reply::Auto).push(short.clone()).push(short); // the second avatar, two bad descriptions
    let e = studio::create(&engine, &request("chess players", 2)).await.unwrap_err();
    assert!(matches!(&e, StudioError::Unusable(m) if m.contains("character reference")), "{e}");
    assert!(all_personas(&engine).await.is_empty());
    assert_eq!(storage.object_count(), 0, "no avatar is stored before every persona is ready");

    // Storage refuses the second upload: the first avatar is removed again, no persona is written.
    let e = {
        let storage2 = StorageFake::start("media", 5 * 1024 * 1024).await;
        let store =
            SupabaseStorage::new(&storage2.uri(), SecretString::from(FAKE_SERVICE_KEY), "media", Duration::ZERO);
        let engine = engine.clone().with_storage(Arc::new(store));
        // The first upload succeeds, the second is refused for good (403).
        storage2.push(StorageReply::Accept).push(StorageReply::Unauthorized);
        let e = studio::create(&engine, &request("chess players", 2)).await.unwrap_err();
        assert_eq!(storage2.uploads().len(), 2);
        assert_eq!(storage2.object_count(), 0, "the first avatar was removed again");
        e
    };
    assert!(matches!(&e, StudioError::Storage(_)), "{e}");
    assert!(all_personas(&engine).await.is_empty());
    // A model that draws nothing: a clear error, nothing made.
    fake.push(Reply::Auto).push(Reply::ImageMissing);
    let e = studio::create(&engine, &request("chess players", 1)).await.unwrap_err();
    assert!(e.to_string().contains("without an image"), "{e}");
    assert!(all_personas(&engine).await.is_empty());
}

#[tokio::test]
async fn edits_are_checked_like_a_new_profile() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let (ada, _bo) = {
        let c = db.client().await;
        (fixtures::persona(&**c, "ada", &["cooking"]).await, fixtures::persona(&**c, "beth", &["chess"]).await)
    };
    let bad = |patch: PersonaPatch, says: &'static str| {
        let engine = engine.clone();
        async move {
            match studio::edit(&engine, ada, &patch).await {
                Err(StudioError::BadRequest(m) | StudioError::Conflict(m)) => assert!(m.contains(says), "{m}"),
                other => panic!("{says}: {other:?}"),
            }
        }
    };
    bad(PersonaPatch { username: Some("beth".into()), ..Default::default() }, "taken").await;
    bad(PersonaPatch { username: Some("Ada Lovelace".into()), ..Default::default() }, "lowercase").await;
    bad(PersonaPatch { timezone: Some("Mars/Base".into()), ..Default::default() }, "IANA").await;
    bad(PersonaPatch { active_hours_start: Some(25), ..Default::default() }, "0 to 23").await;
    bad(
        PersonaPatch { voice_bank: Some(vec!["I agree — totally.".into(), "Yes.".into()]), ..Default::default() },
        "voice_bank",
    )
    .await;
    bad(PersonaPatch { character_reference: Some("Tall.".into()), ..Default::default() }, "100 to 200 words").await;
    let untouched = personas::find(&**db.client().await, ada).await.unwrap().unwrap();
    assert_eq!(untouched.username, "ada");

    let bank = vec![
        "Salt late.".to_string(),
        "I roast the peppers until they blacken, then sweat them in a bowl under a plate.".to_string(),
        "My grandmother never measured anything, and I spent years trying to write her recipes down before I \
         understood that the point was tasting as you go, which no card can hold."
            .to_string(),
    ];
    let edited = studio::edit(
        &engine,
        ada,
        &PersonaPatch {
            username: Some("ada_cooks".into()),
            bio: Some("Cooks for six most nights.".into()),
            voice_bank: Some(bank.clone()),
            chattiness: Some(personas::Chattiness::Lurker),
            voting_temperament: Some(personas::Temperament::Critical),
            trend_aware: Some(true),
            timezone: Some("Europe/Lisbon".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let stored = personas::find(&**db.client().await, ada).await.unwrap().unwrap();
    assert_eq!(stored, edited);
    assert_eq!((stored.username.as_str(), &stored.voice_bank), ("ada_cooks", &bank));
    assert_eq!(stored.chattiness, Some(personas::Chattiness::Lurker));
    assert!(stored.trend_aware, "the setting is kept in the persona's private row");
    let very = Persona { chattiness: Some(personas::Chattiness::VeryActive), ..stored.clone() };
    let rate = shared::persona::rhythm::sessions_per_day;
    assert!(rate(&stored) * 10.0 < rate(&very), "a lurker comes by far less often than a regular would");
    assert_eq!(shared::voice::voting(&stored), personas::Temperament::Critical);
    let e = studio::edit(&engine, uuid::Uuid::new_v4(), &PersonaPatch::default()).await.unwrap_err();
    assert!(matches!(e, StudioError::NotFound(_)));
}

#[tokio::test]
async fn a_persona_in_its_own_picture_looks_like_its_reference() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let (persona, board) = {
        let c = db.client().await;
        let persona = fixtures::persona(&**c, "ines", &["baking"]).await;
        let board = fixtures::board(&**c, "bread", &["baking"]).await;
        (persona, board)
    };
    let reference = "A woman in her forties with short grey hair, round glasses and a blue apron. ".repeat(8);
    studio::edit(
        &engine,
        persona,
        &PersonaPatch { character_reference: Some(reference.clone()), ..Default::default() },
    )
    .await
    .unwrap();
    let task = crate::helpers::claim_new(
        &engine,
        shared::kinds::IMAGE_POST.task(persona, shared::queue::Target::Board(board), t0()),
    )
    .await;
    let report = engine.run_task(&task).await;
    assert_eq!(report.status, shared::queue::TaskStatus::Done, "{report:?}");
    let image_request = fake.received().into_iter().find(|r| r.model == "gemini-3.1-flash-image").unwrap();
    let prompt = image_request.body["contents"][0]["parts"][0]["text"].as_str().unwrap().to_owned();
    assert!(prompt.contains("The person who took the photo is in it"), "{prompt}");
    assert!(prompt.contains(reference.trim()), "the reference goes into the picture's prompt");
    let count: i64 = db
        .client()
        .await
        .query_typed_one(
            "SELECT count(*) FROM media m JOIN posts p ON p.id = m.post_id WHERE p.persona_id = $1",
            &[(&persona, Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

/// A handle taken between the studio's check and its write is recognised as such (the studio answers
/// 409, not a database failure), whatever the platform named its unique constraint.
#[tokio::test]
async fn a_handle_taken_at_the_last_moment_is_a_unique_violation_on_personas() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let made = studio::create(&engine, &request("beekeepers", 1)).await.unwrap();
    let twin = Persona { id: uuid::Uuid::new_v4(), ..made.personas[0].clone() };
    let err = personas::insert(&**db.client().await, &twin, t0()).await.unwrap_err();
    assert!(err.is_unique_violation_on("personas"), "{err}");
    assert!(!err.is_unique_violation_on("posts"));
}
