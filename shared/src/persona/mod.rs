//! Personas: who they are (the profile the prompt is built from), what they wrote, their limits and
//! how the selector picks among them.

pub mod limits;
pub mod selector;

use serde::Serialize;

pub use crate::db::personas::Persona;

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
