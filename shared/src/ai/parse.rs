//! Model answers → typed drafts: JSON extracted defensively (code fences, chatter around it), text
//! cleaned (wrapping quotes, role prefixes, signatures), and validated (lengths, AI self-disclosure).
//! Bad output is a clear error, never a panic.

use serde::{Deserialize, Serialize};

use crate::persona::Persona;
use crate::queue::TaskType;

/// How a persona votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteDirection {
    /// +1.
    Up,
    /// -1.
    Down,
    /// No vote.
    None,
}

impl VoteDirection {
    /// The stored vote value, `None` for no vote.
    pub fn value(self) -> Option<i16> {
        match self {
            Self::Up => Some(1),
            Self::Down => Some(-1),
            Self::None => None,
        }
    }
}

/// What the model proposed, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Draft {
    /// An original post.
    Post {
        /// Title.
        title: String,
        /// Body.
        body: String,
    },
    /// A post with an image.
    ImagePost {
        /// Title.
        title: String,
        /// Caption.
        body: String,
        /// What the image model should draw.
        image_prompt: String,
    },
    /// A comment or a reply.
    Comment {
        /// Text.
        body: String,
    },
    /// A vote.
    Vote {
        /// Up, down or none.
        direction: VoteDirection,
    },
    /// The persona has nothing worth adding to the conversation.
    NoReply,
}

impl Draft {
    /// The text a reader will see (for duplicate and moderation checks).
    pub fn visible_text(&self) -> String {
        match self {
            Self::Post { title, body } | Self::ImagePost { title, body, .. } => format!("{title}\n\n{body}"),
            Self::Comment { body } => body.clone(),
            Self::Vote { .. } | Self::NoReply => String::new(),
        }
    }
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No JSON object could be found.
    #[error("the answer is not a JSON object: {excerpt:?}")]
    NotJson {
        /// The start of the answer.
        excerpt: String,
    },
    /// A required field is absent or not a string.
    #[error("the answer has no text field \"{0}\"")]
    Missing(&'static str),
    /// A field is too short once cleaned.
    #[error("\"{field}\" is too short ({len} characters, at least {min})")]
    TooShort {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A field is too long.
    #[error("\"{field}\" is too long ({len} characters, at most {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The text gives away that an AI wrote it.
    #[error("\"{field}\" gives away that an AI wrote it ({phrase:?})")]
    AiDisclosure {
        /// Which field.
        field: &'static str,
        /// The phrase found.
        phrase: String,
    },
    /// A vote that is not up, down or none.
    #[error("vote direction must be up, down or none, not {0:?}")]
    BadDirection(String),
}

impl ParseError {
    /// Whether the answer was well-formed but its content is not publishable (a second such answer
    /// skips the task, like the publish gate would); otherwise the answer was malformed.
    pub fn is_content_problem(&self) -> bool {
        matches!(self, Self::TooShort { .. } | Self::TooLong { .. } | Self::AiDisclosure { .. })
    }
}

/// Phrases that betray the author. Matched case-insensitively.
pub const AI_DISCLOSURES: &[&str] = &[
    "as an ai",
    "as a language model",
    "as an llm",
    "i'm an ai",
    "i am an ai",
    "large language model",
    "i'm a language model",
    "i am a language model",
    "i don't have personal experience",
    "i do not have personal experience",
    "as a virtual assistant",
    "as an assistant",
    "i cannot browse",
    "my training data",
];

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The JSON object in `raw`: fences and surrounding chatter ignored.
fn json_object(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, ParseError> {
    let trimmed = raw.trim().trim_start_matches('\u{feff}');
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```JSON"))
        .or_else(|| trimmed.strip_prefix("```"))
        .map(|rest| rest.trim_end().trim_end_matches("```"))
        .unwrap_or(trimmed)
        .trim();
    let candidate = match (unfenced.find('{'), unfenced.rfind('}')) {
        (Some(start), Some(end)) if start < end => &unfenced[start..=end],
        _ => return Err(ParseError::NotJson { excerpt: excerpt(raw) }),
    };
    match serde_json::from_str::<serde_json::Value>(candidate) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(ParseError::NotJson { excerpt: excerpt(raw) }),
    }
}

fn strip_wrapping_quotes(mut text: &str) -> &str {
    loop {
        let t = text.trim();
        let stripped = [('"', '"'), ('“', '”'), ('\'', '\''), ('«', '»')].iter().find_map(|(open, close)| {
            let inner = t.strip_prefix(*open)?.strip_suffix(*close)?;
            // Only a quote pair that wraps everything: not `"a" and "b"`.
            (!inner.contains(*close) || *open != *close).then_some(inner)
        });
        match stripped {
            Some(inner) if !inner.trim().is_empty() => text = inner,
            _ => return t,
        }
    }
}

/// `text` without `prefix` at its start, ignoring case: the two are compared as streams of lowercase
/// characters, and the cut falls on a character of `text`. Never by byte offsets into a lowercased
/// copy: lowercasing can change a string's length ("İ" becomes "i̇", two characters), and an offset
/// taken from one string cut into the other panics or cuts the wrong text.
fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut wanted = prefix.chars().flat_map(char::to_lowercase).peekable();
    let mut rest = text.chars();
    while wanted.peek().is_some() {
        for got in rest.next()?.to_lowercase() {
            if wanted.next() != Some(got) {
                return None;
            }
        }
    }
    Some(rest.as_str())
}

/// `text` without `suffix` at its end, compared as [`strip_prefix_ignoring_case`] does.
fn strip_suffix_ignoring_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let mut wanted = suffix.chars().rev().flat_map(|c| c.to_lowercase().rev()).peekable();
    let mut rest = text.chars();
    while wanted.peek().is_some() {
        for got in rest.next_back()?.to_lowercase().rev() {
            if wanted.next() != Some(got) {
                return None;
            }
        }
    }
    Some(rest.as_str())
}

fn strip_role_prefixes(text: &str, persona: &Persona) -> String {
    let names = [persona.username.clone(), format!("@{}", persona.username), persona.display_name.clone()];
    let prefixes: Vec<&str> =
        ["assistant", "ai", "model", "comment", "reply", "response", "answer", "title", "body", "post", "caption"]
            .into_iter()
            .chain(names.iter().map(String::as_str))
            .filter(|p| !p.trim().is_empty())
            .collect();
    let mut current = text.trim();
    while let Some(after) = prefixes.iter().find_map(|p| {
        let rest = strip_prefix_ignoring_case(current, p)?;
        rest.trim_start().strip_prefix(':')
    }) {
        current = after.trim();
    }
    current.to_owned()
}

fn strip_signature(text: &str, persona: &Persona) -> String {
    let mut out = text.trim_end();
    for name in [persona.display_name.as_str(), persona.username.as_str()] {
        if name.trim().is_empty() {
            continue;
        }
        for dash in ["— ", "-- ", "- ", "~"] {
            if let Some(rest) = strip_suffix_ignoring_case(out, &format!("{dash}{name}")) {
                out = rest.trim_end();
            }
        }
    }
    out.to_owned()
}

/// Characters a published text never carries: NUL (PostgreSQL cannot store it), other control
/// characters but line breaks and tabs, and the bidirectional overrides that make text display as
/// something other than what it says.
fn is_unprintable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

/// The cleaned text: unprintable characters, wrapping quotes, role prefixes and signatures removed,
/// blank lines collapsed.
pub fn clean_text(text: &str, persona: &Persona) -> String {
    let printable: String = text.chars().filter(|c| !is_unprintable(*c)).collect();
    let unquoted = strip_wrapping_quotes(&printable);
    let unprefixed = strip_role_prefixes(unquoted, persona);
    let unquoted = strip_wrapping_quotes(&unprefixed).to_owned();
    collapse_blank_lines(&strip_signature(&unquoted, persona))
}

/// The first AI self-disclosure phrase in `text`, if any.
pub fn ai_disclosure(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase().replace('’', "'");
    AI_DISCLOSURES.iter().copied().find(|phrase| lower.contains(phrase))
}

fn field(
    map: &serde_json::Map<String, serde_json::Value>,
    name: &'static str,
    bounds: (usize, usize),
    persona: &Persona,
) -> Result<String, ParseError> {
    let raw = map.get(name).and_then(|v| v.as_str()).ok_or(ParseError::Missing(name))?;
    let text = clean_text(raw, persona);
    let len = text.chars().count();
    if len < bounds.0 {
        return Err(ParseError::TooShort { field: name, len, min: bounds.0 });
    }
    if len > bounds.1 {
        return Err(ParseError::TooLong { field: name, len, max: bounds.1 });
    }
    if let Some(phrase) = ai_disclosure(&text) {
        return Err(ParseError::AiDisclosure { field: name, phrase: phrase.to_owned() });
    }
    Ok(text)
}

/// Length bounds, in characters.
pub mod limits {
    /// Post titles.
    pub const TITLE: (usize, usize) = (5, 150);
    /// Post bodies.
    pub const POST_BODY: (usize, usize) = (20, 4000);
    /// Image captions.
    pub const CAPTION: (usize, usize) = (5, 1000);
    /// Comments and replies.
    pub const COMMENT: (usize, usize) = (2, 1500);
    /// Image prompts.
    pub const IMAGE_PROMPT: (usize, usize) = (10, 1000);
}

/// Parses and validates the answer to a `task` written as `persona`.
pub fn parse(task: TaskType, raw: &str, persona: &Persona) -> Result<Draft, ParseError> {
    let map = json_object(raw)?;
    Ok(match task {
        TaskType::Post => Draft::Post {
            title: field(&map, "title", limits::TITLE, persona)?,
            body: field(&map, "body", limits::POST_BODY, persona)?,
        },
        TaskType::ImagePost => Draft::ImagePost {
            title: field(&map, "title", limits::TITLE, persona)?,
            body: field(&map, "body", limits::CAPTION, persona)?,
            image_prompt: field(&map, "image_prompt", limits::IMAGE_PROMPT, persona)?,
        },
        TaskType::Comment => Draft::Comment { body: field(&map, "body", limits::COMMENT, persona)? },
        TaskType::Reply => match map.get("decision").and_then(|v| v.as_str()).map(|d| d.trim().to_lowercase()) {
            Some(d) if d == "no_reply" || d == "no reply" || d == "none" => Draft::NoReply,
            _ => Draft::Comment { body: field(&map, "body", limits::COMMENT, persona)? },
        },
        TaskType::Vote => {
            let raw = map.get("direction").and_then(|v| v.as_str()).ok_or(ParseError::Missing("direction"))?;
            let direction = match raw.trim().to_lowercase().as_str() {
                "up" | "upvote" | "+1" => VoteDirection::Up,
                "down" | "downvote" | "-1" => VoteDirection::Down,
                "none" | "no" | "skip" | "abstain" | "" => VoteDirection::None,
                _ => return Err(ParseError::BadDirection(excerpt(raw))),
            };
            Draft::Vote { direction }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn persona() -> Persona {
        Persona {
            id: uuid::Uuid::nil(),
            username: "marisol_cooks".into(),
            display_name: "Marisol Vega".into(),
            bio: String::new(),
            voice: String::new(),
            traits: vec![],
            modules: vec![],
            interests: vec![],
            timezone: "UTC".into(),
            active_hours_start: 0,
            active_hours_end: 24,
            is_active: true,
        }
    }

    #[test]
    fn a_clean_answer_parses() {
        let draft = parse(
            TaskType::Post,
            r#"{"title": "Carbon steel pans", "body": "Season them once, then just cook."}"#,
            &persona(),
        )
        .unwrap();
        assert_eq!(
            draft,
            Draft::Post { title: "Carbon steel pans".into(), body: "Season them once, then just cook.".into() }
        );
    }

    #[test]
    fn fences_chatter_quotes_prefixes_and_signatures_are_removed() {
        let raw = "Sure! Here it is:\n```json\n{\"body\": \"Marisol Vega: \\\"Use a hotter pan.\\\"\\n\\n\\n\\nTwo batches. — Marisol Vega\"}\n```";
        let draft = parse(TaskType::Comment, raw, &persona()).unwrap();
        assert_eq!(draft, Draft::Comment { body: "\"Use a hotter pan.\"\n\nTwo batches.".into() });
        let draft = parse(TaskType::Reply, r#"{"body": "Reply: “I agree, mostly.”"}"#, &persona()).unwrap();
        assert_eq!(draft, Draft::Comment { body: "I agree, mostly.".into() });
    }

    #[test]
    fn ai_slips_are_refused() {
        let err =
            parse(TaskType::Comment, r#"{"body": "As an AI language model, I love pans."}"#, &persona()).unwrap_err();
        assert!(matches!(err, ParseError::AiDisclosure { field: "body", .. }), "{err}");
    }

    #[test]
    fn lengths_are_bounded() {
        let long = "x".repeat(1501);
        let err = parse(TaskType::Comment, &format!(r#"{{"body": "{long}"}}"#), &persona()).unwrap_err();
        assert_eq!(err, ParseError::TooLong { field: "body", len: 1501, max: 1500 });
        let err =
            parse(TaskType::Post, r#"{"title": "Hi", "body": "A body that is long enough."}"#, &persona()).unwrap_err();
        assert_eq!(err, ParseError::TooShort { field: "title", len: 2, min: 5 });
    }

    #[test]
    fn a_reply_may_decline() {
        assert_eq!(
            parse(TaskType::Reply, r#"{"decision": "no_reply", "body": ""}"#, &persona()).unwrap(),
            Draft::NoReply
        );
        assert_eq!(
            parse(TaskType::Reply, r#"{"decision": "reply", "body": "Fair enough."}"#, &persona()).unwrap(),
            Draft::Comment { body: "Fair enough.".into() }
        );
        assert_eq!(
            parse(TaskType::Reply, r#"{"decision": "reply", "body": ""}"#, &persona()).unwrap_err(),
            ParseError::TooShort { field: "body", len: 0, min: 2 }
        );
        assert_eq!(
            parse(TaskType::Comment, r#"{"decision": "no_reply", "body": "x y"}"#, &persona()).unwrap(),
            Draft::Comment { body: "x y".into() },
            "only replies may decline"
        );
    }

    #[test]
    fn votes_accept_synonyms_and_refuse_nonsense() {
        assert_eq!(
            parse(TaskType::Vote, r#"{"direction": "UP"}"#, &persona()).unwrap(),
            Draft::Vote { direction: VoteDirection::Up }
        );
        assert_eq!(
            parse(TaskType::Vote, r#"{"direction": "none"}"#, &persona()).unwrap(),
            Draft::Vote { direction: VoteDirection::None }
        );
        assert_eq!(
            parse(TaskType::Vote, r#"{"direction": "sideways"}"#, &persona()).unwrap_err(),
            ParseError::BadDirection("sideways".into())
        );
    }

    #[test]
    fn missing_fields_and_non_json_are_clear_errors() {
        assert_eq!(
            parse(TaskType::Post, r#"{"title": "Only a title"}"#, &persona()).unwrap_err(),
            ParseError::Missing("body")
        );
        assert!(matches!(
            parse(TaskType::Comment, "I think you should...", &persona()).unwrap_err(),
            ParseError::NotJson { .. }
        ));
        assert!(matches!(parse(TaskType::Comment, "[1, 2]", &persona()).unwrap_err(), ParseError::NotJson { .. }));
        assert_eq!(parse(TaskType::Comment, r#"{"body": 42}"#, &persona()).unwrap_err(), ParseError::Missing("body"));
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
        let draft = parse(TaskType::Comment, r#"{"body": "a\u0000b\u0007c\u202Ed\n\te"}"#, &persona()).unwrap();
        assert_eq!(draft, Draft::Comment { body: "abcd\n\te".into() });
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(raw in "\\PC{0,400}", task in 0usize..5) {
            let _ = parse(TaskType::ALL[task], &raw, &persona());
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
                let _ = parse(TaskType::ALL[task], &raw.to_string(), &p);
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
            match parse(TaskType::ALL[task], &raw, &persona()) {
                Ok(draft) => {
                    // Whatever is accepted is within bounds and free of disclosures.
                    let text = draft.visible_text();
                    prop_assert!(ai_disclosure(&text).is_none());
                    prop_assert!(text.chars().count() <= limits::TITLE.1 + limits::POST_BODY.1 + 2);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn valid_comments_survive_cleaning(body in "[A-Za-z][A-Za-z ,.]{4,200}[a-z.]") {
            let raw = serde_json::json!({ "body": body }).to_string();
            let accepted = parse(TaskType::Comment, &raw, &persona());
            if ai_disclosure(&body).is_none() {
                let Draft::Comment { body: cleaned } = accepted.unwrap() else { unreachable!() };
                prop_assert!(!cleaned.is_empty());
                prop_assert!(body.contains(cleaned.split_whitespace().next().unwrap()));
            }
        }
    }
}
