//! Personas: who they are (the profile the prompt is built from), and — with the actions — loading,
//! selection, per-persona limits and memory.

pub mod selector;

use serde::Serialize;
use uuid::Uuid;

/// A persona's profile.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Persona {
    /// Primary key.
    pub id: Uuid,
    /// Unique handle.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Who they are.
    pub bio: String,
    /// How they write.
    pub voice: String,
    /// Character traits.
    pub traits: Vec<String>,
    /// Extra writing rules ("modules").
    pub modules: Vec<String>,
    /// Topics they care about.
    pub interests: Vec<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Local hour they wake.
    pub active_hours_start: i16,
    /// Local hour they stop.
    pub active_hours_end: i16,
    /// Paused personas do nothing.
    pub is_active: bool,
}

/// What a persona has already written, for few-shot examples and to avoid repeating itself.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct History {
    /// The persona's own recent published posts and comments, newest first.
    pub recent_texts: Vec<String>,
}

impl History {
    /// The first few words of each recent text: openings the persona should not reuse.
    pub fn recent_openings(&self, words: usize) -> Vec<String> {
        let mut openings: Vec<String> = Vec::new();
        for text in &self.recent_texts {
            let opening: Vec<&str> = text.split_whitespace().take(words).collect();
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
