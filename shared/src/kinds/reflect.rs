//! Long-term memory: every [`browse::REFLECT_EVERY`](super::browse::REFLECT_EVERY) actions a session
//! asks the persona to rewrite the short note it keeps on what it has been up to — subjects, opinions it
//! stated, running jokes, people it gets on or argues with. One small call (a deterministic note
//! offline); the note goes into every later prompt, so a persona stays consistent with itself over weeks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Prepared, Published, Services, Step, Written};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError};
use crate::context::ReflectionView;
use crate::db::{personas, sessions};
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};

/// The note a persona keeps for itself. Nobody reads it but the persona's later prompts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteDraft {
    /// Text.
    pub text: String,
}

impl Written for NoteDraft {}

/// Texts the note is written from.
const TEXTS: i64 = 12;
/// Longest note kept.
const NOTE_CHARS: (usize, usize) = (1, 1200);

/// The `reflect` kind.
pub struct Reflect;

#[async_trait]
impl Action for Reflect {
    type Seen = ReflectionView;
    type Draft = NoteDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "reflect"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[]
    }

    fn is_action(&self) -> bool {
        false
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        _target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<ReflectionView>, ActionError> {
        let texts: Vec<String> =
            personas::recent_texts(db, persona.id, TEXTS).await?.into_iter().map(|w| w.text).collect();
        if texts.is_empty() {
            return Err(ActionError::Skip("the persona has written nothing to remember yet".into()));
        }
        let previous = sessions::summary(db, persona.id).await?.map(|(text, _)| text);
        let actions = sessions::actions_ever(db, persona.id).await?;
        Ok(Prepared { seen: ReflectionView { texts, previous, actions }, memory: None, reply_spot: None })
    }

    fn ask(&self, _view: &ReflectionView, _persona: &Persona, _seed: u64) -> Ask {
        Ask::decision(
            "Rewrite the short note you keep for yourself about your time on this forum, from what you wrote \
             above and your note so far: what you have been talking about, opinions you have stated and stand \
             by, running jokes, people you get on with or argue with. At most 80 words, plain sentences, in \
             the first person."
                .to_owned(),
            json!({
                "type": "OBJECT",
                "properties": { "note": text_field("your note to yourself") },
                "required": ["note"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<NoteDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(NoteDraft { text: parse::field(&map, "note", NOTE_CHARS, persona)? })
    }

    fn write_offline(&self, persona: &Persona, view: &ReflectionView, _seed: u64) -> serde_json::Value {
        json!({ "note": offline_note(persona, view) })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &NoteDraft,
        _resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<()>, ActionError> {
        Ok(Step::Ready(()))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        _task: &Task,
        persona: &Persona,
        prepared: &Prepared<ReflectionView>,
        draft: NoteDraft,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let covered = i32::try_from(prepared.seen.actions).unwrap_or(i32::MAX);
        sessions::save_summary(tx, persona.id, &draft.text, covered, now).await?;
        Ok(Published { result_id: None, result_type: None })
    }
}

/// The offline note: which of its interests it has been writing about, and the first sentence of its
/// latest texts (what it said), so prompts carry its own recent positions.
fn offline_note(persona: &Persona, view: &ReflectionView) -> String {
    let all = view.texts.join(" ").to_lowercase();
    let topics: Vec<&str> =
        persona.interests.iter().map(String::as_str).filter(|i| all.contains(&i.to_lowercase())).take(3).collect();
    let mut note = if topics.is_empty() {
        "Lately I have mostly been chatting about whatever came up.".to_owned()
    } else {
        format!("Lately I have been talking about {}.", topics.join(", "))
    };
    for text in view.texts.iter().take(2) {
        let first = text.split(['.', '!', '?', '\n']).map(str::trim).find(|s| s.split_whitespace().count() >= 3);
        if let Some(sentence) = first {
            let sentence: String = sentence.chars().take(140).collect();
            note.push_str(&format!(" I said: \"{sentence}\"."));
        }
    }
    note
}
