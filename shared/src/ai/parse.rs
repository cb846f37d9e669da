//! Model answers → typed drafts: JSON extracted defensively (code fences, chatter around it), text
//! cleaned (wrapping quotes, role prefixes, signatures), and validated (lengths).
//! Bad output is a clear error, never a panic.

use serde::{Deserialize, Serialize};

use crate::persona::Persona;

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

/// One thing a session chose: an action on a labelled thing ("P2", "C5", "B1").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The word of a kind's [`Verb`](crate::kinds::Verb) (`reply`, `post`, …).
    pub action: String,
    /// The label of what it acts on.
    pub on: String,
    /// One line on why.
    pub why: String,
    /// What it would say, written in the same answer (a comment or a reply), when the session had room
    /// to offer it; the chosen task's kind checks it as it would its own model's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The longest text a session may write ahead (a kind's own parsing bounds what it publishes).
const MAX_SESSION_TEXT: usize = 4_000;

/// Most a session chooses.
pub const MAX_CHOICES: usize = 4;

/// The choices of a session's answer: `{"actions": [{"action", "on", "why", "text"?}]}`; "nothing" and empty
/// actions are dropped (an empty list is a session that chose nothing), and at most [`MAX_CHOICES`]
/// are kept. Words and labels are checked when the choices are acted on: against the registry's kinds
/// and what was shown.
pub fn choices(map: &serde_json::Map<String, serde_json::Value>) -> Result<Vec<Choice>, ParseError> {
    let list = map.get("actions").and_then(|v| v.as_array()).ok_or(ParseError::Missing("actions"))?;
    let text = |v: &serde_json::Value, key: &str, max: usize| -> String {
        let raw = v.get(key).and_then(|x| x.as_str()).unwrap_or_default();
        raw.trim().chars().filter(|c| !c.is_control()).take(max).collect()
    };
    Ok(list
        .iter()
        .filter_map(|item| {
            let action = text(item, "action", 16).to_lowercase();
            (!action.is_empty() && action != "nothing").then(|| Choice {
                on: text(item, "on", 8).to_uppercase(),
                why: text(item, "why", 200),
                text: item
                    .get("text")
                    .and_then(|t| t.as_str())
                    .map(|t| t.trim().chars().take(MAX_SESSION_TEXT).collect::<String>())
                    .filter(|t| !t.is_empty()),
                action,
            })
        })
        .take(MAX_CHOICES)
        .collect())
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
    /// A vote that is not up, down or none.
    #[error("vote direction must be up, down or none, not {0:?}")]
    BadDirection(String),
    /// Fewer usable tags than a post needs, once the unusable ones were dropped.
    #[error(
        "the answer has {usable} usable tags (at least {min}: lowercase, 1 to 3 words, letters and digits){refused}"
    )]
    TooFewTags {
        /// How many were usable.
        usable: usize,
        /// The minimum.
        min: usize,
        /// The refused ones, quoted, for the feedback (empty when there were none).
        refused: String,
    },
}

impl ParseError {
    /// Whether the answer was well-formed but its content is not publishable (a second such answer
    /// skips the task, like the publish gate would); otherwise the answer was malformed.
    pub fn is_content_problem(&self) -> bool {
        matches!(self, Self::TooShort { .. } | Self::TooLong { .. })
    }
}

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The JSON object in `raw`: fences and surrounding chatter ignored.
pub fn json_object(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, ParseError> {
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

/// Characters that show nothing or change how the text around them is displayed: zero-width spaces and
/// joiners, the word joiner and invisible operators, the byte-order mark, and the bidirectional marks,
/// embeddings, overrides and isolates (U+202E makes "gnp.exe" read as "exe.png").
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{061C}'
            | '\u{180E}'
    )
}

/// Characters a published text never carries: NUL (PostgreSQL cannot store it), other control
/// characters but line breaks and tabs, and the invisible ones ([`is_invisible`]).
fn is_unprintable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_invisible(c)
}

/// `text` without unprintable characters, trimmed: for fields that are not a persona's published words
/// (a profile's handle, its bio, a picture's description).
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !is_unprintable(*c)).collect::<String>().trim().to_owned()
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

/// The text field `name` of an answer, cleaned and checked against `bounds` (characters). What it says
/// about being AI is the gate's to judge (`disclosure::Candour`): only the gate knows what was asked.
pub fn field(
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
    Ok(text)
}

/// The vote an answer gives (`direction`: up, down or none, with their common synonyms).
pub fn vote_direction(map: &serde_json::Map<String, serde_json::Value>) -> Result<VoteDirection, ParseError> {
    let raw = map.get("direction").and_then(|v| v.as_str()).ok_or(ParseError::Missing("direction"))?;
    Ok(match raw.trim().to_lowercase().as_str() {
        "up" | "upvote" | "+1" => VoteDirection::Up,
        "down" | "downvote" | "-1" => VoteDirection::Down,
        "none" | "no" | "skip" | "abstain" | "" => VoteDirection::None,
        _ => return Err(ParseError::BadDirection(excerpt(raw))),
    })
}

/// Whether an answer declines to reply (`decision`: no_reply).
pub fn declines(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    map.get("decision")
        .and_then(|v| v.as_str())
        .map(|d| d.trim().to_lowercase())
        .is_some_and(|d| d == "no_reply" || d == "no reply" || d == "none")
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
    pub const COMMENT_BODY: (usize, usize) = (2, 1500);
    /// Image prompts.
    pub const IMAGE_PROMPT: (usize, usize) = (10, 1000);
}
