//! The kinds' answers parsed: every case the model layer's parser was tested with, now through the kind
//! that owns it.

use proptest::prelude::*;

use super::*;
use crate::ai::parse::{ParseError, VoteDirection, clean_text, limits};
use crate::persona::Persona;
use comment::{Comment, CommentDraft};
use image_post::ImagePost;
use post::{Post, PostDraft};
use reply::{Reply, ReplyDraft};
use vote::{Vote, VoteDraft};

/// The kinds that write or vote, by number: what each accepts, as a reader would see it.
fn visible(kind: usize, raw: &str, persona: &Persona) -> Result<Option<String>, ParseError> {
    match kind {
        0 => Comment.parse(raw, persona).map(|d| d.visible_text()),
        1 => Post.parse(raw, persona).map(|d| d.visible_text()),
        2 => Reply.parse(raw, persona).map(|d| d.visible_text()),
        3 => Vote.parse(raw, persona).map(|d| d.visible_text()),
        _ => ImagePost.parse(raw, persona).map(|d| d.visible_text()),
    }
}

fn persona() -> Persona {
    Persona {
        username: "marisol_cooks".into(),
        display_name: "Marisol Vega".into(),
        ..crate::persona::tests_support::persona()
    }
}

#[test]
fn a_clean_answer_parses() {
    let draft = Post
        .parse(
            r##"{"title": "Carbon steel pans", "body": "Season them once, then just cook.",
                 "tags": ["#Carbon_Steel", "cookware", "carbon steel", "<b>pans</b>"]}"##,
            &persona(),
        )
        .unwrap();
    assert_eq!(
        draft,
        PostDraft {
            title: "Carbon steel pans".into(),
            body: "Season them once, then just cook.".into(),
            tags: vec!["carbon steel".into(), "cookware".into()],
        },
        "tags cleaned: lowercase, no #, deduplicated, markup refused"
    );
    let err = Post
        .parse(
            r#"{"title": "Carbon steel pans", "body": "Season them once, then cook.", "tags": ["pans"]}"#,
            &persona(),
        )
        .unwrap_err();
    assert!(matches!(err, ParseError::TooFewTags { usable: 1, min: 2, .. }), "{err}");
    assert!(!err.is_content_problem(), "too few tags is asked for again, not skipped");
    let err = Post
        .parse(r#"{"title": "Carbon steel pans", "body": "Season them once, then cook."}"#, &persona())
        .unwrap_err();
    assert_eq!(err, ParseError::Missing("tags"));
}

#[test]
fn fences_chatter_quotes_prefixes_and_signatures_are_removed() {
    let raw = "Sure! Here it is:\n```json\n{\"body\": \"Marisol Vega: \\\"Use a hotter pan.\\\"\\n\\n\\n\\nTwo batches. — Marisol Vega\"}\n```";
    let draft = Comment.parse(raw, &persona()).unwrap();
    assert_eq!(draft, CommentDraft { body: "\"Use a hotter pan.\"\n\nTwo batches.".into() });
    let draft = Reply.parse(r#"{"body": "Reply: “I agree, mostly.”"}"#, &persona()).unwrap();
    assert_eq!(draft, ReplyDraft::Reply { body: "I agree, mostly.".into() });
}

#[test]
fn lengths_are_bounded() {
    let long = "x".repeat(1501);
    let err = Comment.parse(&format!(r#"{{"body": "{long}"}}"#), &persona()).unwrap_err();
    assert_eq!(err, ParseError::TooLong { field: "body", len: 1501, max: 1500 });
    let err = Post.parse(r#"{"title": "Hi", "body": "A body that is long enough."}"#, &persona()).unwrap_err();
    assert_eq!(err, ParseError::TooShort { field: "title", len: 2, min: 5 });
}

#[test]
fn a_reply_may_decline() {
    assert_eq!(Reply.parse(r#"{"decision": "no_reply", "body": ""}"#, &persona()).unwrap(), ReplyDraft::NoReply);
    assert_eq!(
        Reply.parse(r#"{"decision": "reply", "body": "Fair enough."}"#, &persona()).unwrap(),
        ReplyDraft::Reply { body: "Fair enough.".into() }
    );
    assert_eq!(
        Reply.parse(r#"{"decision": "reply", "body": ""}"#, &persona()).unwrap_err(),
        ParseError::TooShort { field: "body", len: 0, min: 2 }
    );
    assert_eq!(
        Comment.parse(r#"{"decision": "no_reply", "body": "x y"}"#, &persona()).unwrap(),
        CommentDraft { body: "x y".into() },
        "only replies may decline"
    );
}

#[test]
fn votes_accept_synonyms_and_refuse_nonsense() {
    assert_eq!(Vote.parse(r#"{"direction": "UP"}"#, &persona()).unwrap(), VoteDraft { direction: VoteDirection::Up });
    assert_eq!(
        Vote.parse(r#"{"direction": "none"}"#, &persona()).unwrap(),
        VoteDraft { direction: VoteDirection::None }
    );
    assert_eq!(
        Vote.parse(r#"{"direction": "sideways"}"#, &persona()).unwrap_err(),
        ParseError::BadDirection("sideways".into())
    );
}

#[test]
fn missing_fields_and_non_json_are_clear_errors() {
    assert_eq!(Post.parse(r#"{"title": "Only a title"}"#, &persona()).unwrap_err(), ParseError::Missing("body"));
    assert!(matches!(Comment.parse("I think you should...", &persona()).unwrap_err(), ParseError::NotJson { .. }));
    assert!(matches!(Comment.parse("[1, 2]", &persona()).unwrap_err(), ParseError::NotJson { .. }));
    assert_eq!(Comment.parse(r#"{"body": 42}"#, &persona()).unwrap_err(), ParseError::Missing("body"));
}

fn named(username: &str, display_name: &str) -> Persona {
    Persona { username: username.into(), display_name: display_name.into(), ..persona() }
}

#[test]
fn prefixes_and_signatures_are_matched_on_characters_whatever_the_case_mapping_does() {
    // "İ" lowercases to two characters (three bytes instead of two).
    let p = named("istanbul_cook", "İlkay Öztürk");
    assert_eq!(clean_text("İLKAY ÖZTÜRK: Bake it longer.", &p), "Bake it longer.");
    assert_eq!(clean_text("i̇lkay öztürk: Bake it longer.", &p), "Bake it longer.");
    assert_eq!(clean_text("Bake it longer. — İlkay Öztürk", &p), "Bake it longer.");
    assert_eq!(clean_text("İİİİ İİ: kept, not a name", &p), "İİİİ İİ: kept, not a name");
    let p = named("ǅemal", "ΣΟΦΊΑ");
    assert_eq!(clean_text("σοφία: hello", &p), "hello");
    assert_eq!(clean_text("hi ~ǆemal", &p), "hi");
}

#[test]
fn nul_and_control_characters_never_reach_what_is_published() {
    let draft = Comment.parse(r#"{"body": "a\u0000b\u0007c\u202Ed\n\te"}"#, &persona()).unwrap();
    assert_eq!(draft, CommentDraft { body: "abcd\n\te".into() });
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(raw in "\\PC{0,400}", task in 0usize..5) {
        let _ = visible(task, &raw, &persona());
    }

    #[test]
    fn arbitrary_unicode_with_arbitrary_persona_names_never_panics(
        username in "(\\PC|İ|ẞ|ǅ|Σ|ﬃ){0,12}",
        display_name in "(\\PC|İ|ẞ|ǅ|Σ|ﬃ){0,16}",
        body in any::<String>(),
        task in 0usize..5,
    ) {
        let p = named(&username, &display_name);
        // The name as a role prefix and as a signature, in other cases, around arbitrary text.
        for text in [
            format!("{}: {body}", display_name.to_uppercase()),
            format!("{body} — {}", display_name.to_lowercase()),
            format!("@{}:{body}~{username}", username.to_lowercase()),
            body.clone(),
        ] {
            let cleaned = clean_text(&text, &p);
            prop_assert!(!cleaned.contains('\0'));
            prop_assert!(cleaned.chars().count() <= text.chars().count());
            let raw = serde_json::json!({ "title": text, "body": text, "image_prompt": text, "direction": text });
            let _ = visible(task, &raw.to_string(), &p);
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        keys in proptest::collection::vec("(title|body|image_prompt|direction|[a-z]{1,8})", 0..5),
        values in proptest::collection::vec("\\PC{0,300}", 0..5),
        task in 0usize..5,
    ) {
        let map: serde_json::Map<String, serde_json::Value> =
            keys.into_iter().zip(values).map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let raw = serde_json::Value::Object(map).to_string();
        match visible(task, &raw, &persona()) {
            Ok(text) => {
                // Whatever is accepted is within bounds.
                let text = text.unwrap_or_default();
                prop_assert!(text.chars().count() <= limits::TITLE.1 + limits::POST_BODY.1 + 2);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn valid_comments_survive_cleaning(body in "[A-Za-z][A-Za-z ,.]{4,200}[a-z.]") {
        let raw = serde_json::json!({ "body": body }).to_string();
        let accepted = Comment.parse(&raw, &persona());
        let cleaned = accepted.unwrap().body;
        prop_assert!(!cleaned.is_empty());
        prop_assert!(body.contains(cleaned.split_whitespace().next().unwrap()));
    }
}

/// People downvote: someone they are at odds with, and, as critical voters, what is slight. Friends and
/// strangers with something substantial are not voted down.
#[test]
fn votes_go_down_for_rivals_and_for_slight_comments_to_a_critical_voter() {
    use crate::db::personas::Temperament;
    use vote::VoteOn;
    let mut thread = testkit_thread();
    let voter =
        |temperament| Persona { interests: vec!["cooking".into()], voting_temperament: Some(temperament), ..persona() };
    let downs = |persona: &Persona, on: &VoteOn| {
        (0..400u64)
            .filter(|seed| Vote.decide(persona, on, *seed).is_some_and(|(d, _)| d.direction == VoteDirection::Down))
            .count()
    };
    let balanced = voter(Temperament::Balanced);
    thread.toward = 0;
    assert_eq!(downs(&balanced, &VoteOn::Comment(thread.clone())), 0, "a stranger's substantial comment");
    thread.toward = -60;
    let at_odds = downs(&balanced, &VoteOn::Comment(thread.clone()));
    assert!(at_odds > 200, "at odds with the author: {at_odds} of 400 down");
    thread.toward = 60;
    assert_eq!(downs(&balanced, &VoteOn::Comment(thread.clone())), 0, "a friend");

    thread.toward = 0;
    thread.target.body = "Cooking: nah.".into();
    let critical = downs(&voter(Temperament::Critical), &VoteOn::Comment(thread.clone()));
    assert!((100..300).contains(&critical), "a slight comment, a critical voter: {critical} of 400 down");
    assert_eq!(downs(&voter(Temperament::Generous), &VoteOn::Comment(thread)), 0, "a generous one");
}

/// A thread about cooking whose target is a substantial comment on it.
fn testkit_thread() -> crate::context::ThreadContext {
    use crate::context::{Author, CommentView, PostView, ThreadContext};
    let at = chrono::DateTime::UNIX_EPOCH;
    let comment = |body: &str| CommentView {
        id: uuid::Uuid::from_u128(2),
        parent_id: None,
        depth: 0,
        body: body.into(),
        author: Author::Human { id: uuid::Uuid::from_u128(9), name: Some("sam".into()) },
        created_at: at,
    };
    ThreadContext {
        post: PostView {
            id: uuid::Uuid::from_u128(1),
            board_id: uuid::Uuid::from_u128(3),
            board_name: "home-cooking".into(),
            board_topics: vec!["cooking".into()],
            title: "Cooking rice in a pan".into(),
            body: "How much water do you use for rice cooking in a wide pan?".into(),
            author: Author::Human { id: uuid::Uuid::from_u128(8), name: Some("jo".into()) },
            created_at: at,
        },
        ancestors: Vec::new(),
        target: comment("Cooking rice in a wide pan works if you use a bit less water and keep the lid on after."),
        siblings: Vec::new(),
        replies: Vec::new(),
        toward: 0,
    }
}
