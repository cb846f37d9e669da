//! Personas: who they are (the profile the prompt is built from), what they wrote, their limits and
//! how the selector picks among them.

pub mod limits;
pub mod selector;

use serde::Serialize;

pub use crate::db::personas::{Persona, Written};

/// What a persona has already written, for few-shot examples and to avoid repeating itself.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct History {
    /// The persona's own recent published posts, comments and replies, newest first.
    pub recent: Vec<Written>,
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
