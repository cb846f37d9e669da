//! Tags and trends. A post's tags come in the same model answer that writes it and are cleaned here
//! (lowercase, 1–3 words, no `#`, deduplicated, 2–5 of them); the planner's tick ranks topics by
//! engagement velocity (`db::trends::refresh`); a trend-aware persona is offered the trending topics
//! that fit both the board it posts on and its own interests, and nothing else.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::ai::parse::ParseError;
use crate::context::BoardView;
use crate::persona::Persona;

/// Fewest tags a post carries.
pub const MIN_TAGS: usize = 2;
/// Most tags a post carries.
pub const MAX_TAGS: usize = 5;
/// Most words in a tag.
pub const MAX_TAG_WORDS: usize = 3;
/// Most characters in a tag.
pub const MAX_TAG_CHARS: usize = 32;
/// Trending topics offered to a persona at most.
pub const MAX_ANGLES: usize = 3;
/// Entries of an answer's tag list looked at: a runaway answer cannot make us clean thousands.
const MAX_LOOKED_AT: usize = 20;

/// Tags that describe the picture rather than say what the post is about.
const DESCRIBING: &[&str] = &["photo of", "picture of", "image of", "a photo", "an image", "shot of", "close up of"];

/// What the model is told about the tags (every post kind asks the same).
pub const TAGS_INSTRUCTION: &str = "Then 2 to 5 tags, the way a regular here tags a post so others find it: \
     lowercase, 1 to 3 words each, no #, a mix of niche and broad, about what the post is about (never a \
     description of a picture).";

/// The `tags` field of a post kind's answer schema.
pub fn schema_field() -> Value {
    json!({
        "type": "ARRAY",
        "description": "2 to 5 discovery tags: lowercase, 1 to 3 words, no #",
        "items": { "type": "STRING" },
        "minItems": MIN_TAGS,
        "maxItems": MAX_TAGS
    })
}

/// `raw` as a tag: trimmed, lowercase, without `#` or trailing punctuation, spaces for underscores; `None`
/// when it is not a tag (empty, more than three words or 32 characters, anything but letters, digits,
/// spaces, hyphens and apostrophes, or a description of a picture).
pub fn normalise(raw: &str) -> Option<String> {
    let lowered = raw
        .trim()
        .trim_start_matches('#')
        .trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '"' | '\'') || c.is_whitespace())
        .to_lowercase()
        .replace('_', " ");
    let words: Vec<&str> = lowered.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_TAG_WORDS {
        return None;
    }
    let tag = words.join(" ");
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'');
    if tag.chars().count() > MAX_TAG_CHARS
        || !tag.chars().all(allowed)
        || !tag.chars().any(char::is_alphanumeric)
        || DESCRIBING.iter().any(|d| tag.starts_with(d))
    {
        return None;
    }
    Some(tag)
}

/// Tags cleaned: the usable ones (deduplicated, in order, at most [`MAX_TAGS`]) and the refused ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Usable.
    pub tags: Vec<String>,
    /// Not tags at all.
    pub refused: Vec<String>,
}

/// Cleans a list of would-be tags.
pub fn clean<'a>(raw: impl IntoIterator<Item = &'a str>) -> Cleaned {
    let mut out = Cleaned::default();
    for item in raw.into_iter().take(MAX_LOOKED_AT) {
        match normalise(item) {
            Some(tag) if !out.tags.contains(&tag) && out.tags.len() < MAX_TAGS => out.tags.push(tag),
            Some(_) => {}
            None => out.refused.push(item.chars().take(40).collect()),
        }
    }
    out
}

/// The tags of a post kind's answer (its `tags` list), cleaned; too few usable ones is an unusable answer
/// (the model is asked once more, told which were refused).
pub fn from_answer(map: &serde_json::Map<String, Value>) -> Result<Vec<String>, ParseError> {
    let list = map.get("tags").and_then(Value::as_array).ok_or(ParseError::Missing("tags"))?;
    let cleaned = clean(list.iter().filter_map(Value::as_str));
    if cleaned.tags.len() < MIN_TAGS {
        let refused = if cleaned.refused.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = cleaned.refused.iter().take(5).map(|r| format!("{r:?}")).collect();
            format!("; refused: {}", quoted.join(", "))
        };
        return Err(ParseError::TooFewTags { usable: cleaned.tags.len(), min: MIN_TAGS, refused });
    }
    Ok(cleaned.tags)
}

/// The `n` longest words of `text` with at least `min_chars` characters, longest first (ties in
/// order): what a text is about, as a plain tagger (the offline writer, the simulator's people) guesses.
pub fn longest_words(text: &str, min_chars: usize, n: usize) -> Vec<&str> {
    let mut words: Vec<&str> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= min_chars).collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.truncate(n);
    words
}

/// The words of `text` as compared for fit: lowercase, three letters or more, a plural's `s` dropped.
fn stems(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_owned(),
                _ => w,
            }
        })
        .collect()
}

/// Whether `topic` is in the persona's interests: they share a word.
pub fn in_interests(topic: &str, persona: &Persona) -> bool {
    let interests = stems(&persona.interests.join(" "));
    stems(topic).iter().any(|w| interests.contains(w))
}

/// The trending topics a persona may take as an angle for a post on `board`: only a trend-aware
/// persona's, only tags trending on this board (not the board's own topics, which every post there has),
/// and only those in its interests.
pub fn angles(board: &BoardView, persona: &Persona) -> Vec<String> {
    if !persona.trend_aware {
        return Vec::new();
    }
    let own: BTreeSet<String> = board.topics.iter().map(|t| t.trim().to_lowercase()).collect();
    board
        .trending
        .iter()
        .filter(|t| !own.contains(t.as_str()) && in_interests(t, persona))
        .take(MAX_ANGLES)
        .cloned()
        .collect()
}

/// The instruction added to a post prompt when the persona has angles to take (the topics themselves are
/// in the context, as data).
pub fn angles_instruction(board: &BoardView, persona: &Persona) -> Option<&'static str> {
    (!angles(board, persona).is_empty()).then_some(
        "If one of the trending topics shown with the board is something you would really post about, you may \
         take it as your angle and use it as a tag; if none is, ignore them.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_cleaned_to_lowercase_words_and_the_rest_refused() {
        assert_eq!(normalise("  #Sourdough "), Some("sourdough".into()));
        assert_eq!(normalise("Cast_Iron  Care."), Some("cast iron care".into()));
        assert_eq!(normalise("r&b"), None);
        assert_eq!(normalise("one two three four"), None);
        assert_eq!(normalise("<b>bread</b>"), None);
        assert_eq!(normalise("photo of a loaf"), None);
        assert_eq!(normalise("###"), None);
        assert_eq!(normalise(&"x".repeat(33)), None);
        assert_eq!(normalise("crème brûlée"), Some("crème brûlée".into()));
        let cleaned = clean(["Bread", "bread", "#BREAD", "proofing", "a", "b", "c", "d", "e"]);
        assert_eq!(cleaned.tags, ["bread", "proofing", "a", "b", "c"]);
    }

    #[test]
    fn an_answer_needs_two_usable_tags_and_says_which_were_refused() {
        let map = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(from_answer(&map(json!({"tags": ["Bread", "#crumb"]}))).unwrap(), ["bread", "crumb"]);
        let err = from_answer(&map(json!({"tags": ["bread", "<script>x</script>"]}))).unwrap_err();
        assert!(matches!(err, ParseError::TooFewTags { usable: 1, .. }), "{err}");
        assert!(err.to_string().contains("<script>"), "{err}");
        assert!(matches!(from_answer(&map(json!({"tags": "bread, crumb"}))), Err(ParseError::Missing("tags"))));
    }

    #[test]
    fn only_a_trend_aware_persona_gets_angles_and_only_in_its_interests() {
        let mut persona = crate::persona::tests_support::persona();
        persona.interests = vec!["bread baking".into(), "knives".into()];
        let board = BoardView {
            id: uuid::Uuid::nil(),
            slug: "cooking".into(),
            name: "Cooking".into(),
            description: String::new(),
            topics: vec!["cooking".into()],
            recent_titles: Vec::new(),
            trending: vec!["cooking".into(), "breads".into(), "air fryer".into(), "knife sharpening".into()],
        };
        assert!(angles(&board, &persona).is_empty(), "not trend-aware");
        persona.trend_aware = true;
        assert_eq!(angles(&board, &persona), ["breads"]);
        persona.interests = vec!["knives".into(), "sharpening".into()];
        assert_eq!(angles(&board, &persona), ["knife sharpening"]);
    }
}
