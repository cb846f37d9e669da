//! Personas: who they are (the profile the prompt is built from), what they wrote, their limits and
//! how the selector picks among them.

pub mod limits;
pub mod relationships;
pub mod rhythm;
pub mod selector;

use serde::Serialize;

pub use crate::db::personas::{Persona, Written};

/// What a persona has already written, for few-shot examples and to avoid repeating itself.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct History {
    /// The persona's own recent published posts, comments and replies, newest first.
    pub recent: Vec<Written>,
    /// What of its own people liked most lately (votes, and answers counted more), best first; nothing
    /// downvoted.
    pub landed: Vec<Written>,
    /// Its long-term memory: the note it keeps on what it has been up to.
    pub summary: Option<String>,
}

impl History {
    /// The texts alone.
    pub fn texts(&self) -> Vec<String> {
        self.recent.iter().map(|w| w.text.clone()).collect()
    }

    /// The first few words of each recent text: openings the persona should not reuse.
    pub fn recent_openings(&self, words: usize) -> Vec<String> {
        let mut openings: Vec<String> = Vec::new();
        for written in &self.recent {
            let opening: Vec<&str> = written.text.split_whitespace().take(words).collect();
            if opening.len() >= 2 {
                let opening = opening.join(" ");
                if !openings.contains(&opening) {
                    openings.push(opening);
                }
            }
        }
        openings
    }
}

/// How much `text` on a board with `topics` is in `persona`'s interests: 0 not at all, 1 by the board's
/// topics or by the text, 2 by both.
pub fn interest(persona: &Persona, topics: &[String], text: &str) -> u8 {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase).collect();
    let interests: Vec<String> = persona.interests.iter().map(|i| i.to_lowercase()).collect();
    let in_topics = interests.iter().any(|i| topics.iter().any(|t| t.to_lowercase() == *i));
    let in_text = interests.iter().any(|i| i.split_whitespace().all(|w| words.iter().any(|x| x == w)));
    u8::from(in_topics) + u8::from(in_text)
}

/// A blank persona for unit tests: every list empty, awake all day.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::Persona;

    pub fn persona() -> Persona {
        Persona {
            id: uuid::Uuid::nil(),
            username: "p".into(),
            display_name: "P".into(),
            bio: String::new(),
            voice: String::new(),
            traits: vec![],
            modules: vec![],
            interests: vec![],
            timezone: "UTC".into(),
            active_hours_start: 0,
            active_hours_end: 24,
            is_active: true,
            voice_bank: vec![],
            avatar_url: None,
            character_reference: None,
            chattiness: None,
            voting_temperament: None,
            trend_aware: false,
        }
    }
}
