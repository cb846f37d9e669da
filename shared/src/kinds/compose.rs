//! Generate → parse → check, with one regeneration: an unusable or rejected answer gets one more try
//! with the reason fed back; a second rejection skips the task, a second unusable answer fails it.

use async_trait::async_trait;
use serde::Serialize;

use super::Written;
use crate::ai::parse::ParseError;
use crate::ai::similarity::{self, NEAR_DUPLICATE};
use crate::ai::{ModelClient, ModelError, Prompt, Usage};

/// Something that judges a parsed draft before it may be published, by what it shows readers and what
/// it hands on to another model.
#[async_trait]
pub trait Gate: Send + Sync {
    /// The verdict on a draft showing `text` (`None`: it publishes no text), stored as `stored` (what
    /// near-duplicates are judged by), and handing `handed_on` on; `prose` is false for text that is not
    /// sentences (tags), which the marks of machine text and the near-duplicate check do not apply to.
    async fn verdict(&self, text: Option<&str>, stored: Option<&str>, handed_on: &[&str], prose: bool) -> Verdict;
}

/// A check's verdict on a parsed draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Publish it.
    Accept,
    /// Not this one: try once more (the reason is fed back to the model).
    Regenerate(String),
    /// Not at all: skip the task.
    Reject(String),
}

/// A draft that passed every check.
#[derive(Debug, Clone, Serialize)]
pub struct Composed<D> {
    /// The draft.
    pub draft: D,
    /// Tokens used over every attempt.
    pub usage: Usage,
    /// 1, or 2 when the first answer was regenerated.
    pub attempts: u32,
    /// Why earlier answers were not used.
    pub notes: Vec<String>,
}

/// Why no draft came out.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Two answers in a row could not be parsed.
    #[error("the model's answer was unusable twice: {0}")]
    Unusable(ParseError),
    /// A check rejected the draft (twice, or outright).
    #[error("{0}")]
    Rejected(String),
}

/// A [`ComposeError`] with the tokens spent getting there.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ComposeFailure {
    /// What went wrong.
    pub error: ComposeError,
    /// Tokens used anyway.
    pub usage: Usage,
    /// Why earlier answers were not used.
    pub notes: Vec<String>,
}

/// Asks `model`, parses the answer with `parse` (a kind's), asks `gate`, and regenerates once when needed.
pub async fn compose<D: Written>(
    model: &ModelClient,
    parse: &(dyn Fn(&str) -> Result<D, ParseError> + Sync),
    prompt: &Prompt,
    gate: &dyn Gate,
) -> Result<Composed<D>, ComposeFailure> {
    let mut usage = Usage::default();
    let mut notes = Vec::new();
    let mut current = prompt.clone();
    for attempt in 1..=2u32 {
        let generated = match model.generate(&current).await {
            Ok(g) => g,
            Err(error) => return Err(ComposeFailure { error: error.into(), usage, notes }),
        };
        usage = usage.plus(generated.usage);
        let problem = match parse(&generated.text) {
            Err(e) if attempt == 2 && e.is_content_problem() => {
                return Err(ComposeFailure { error: ComposeError::Rejected(e.to_string()), usage, notes });
            }
            Err(e) if attempt == 2 => return Err(ComposeFailure { error: ComposeError::Unusable(e), usage, notes }),
            Err(e) => format!("unusable answer: {e}"),
            Ok(draft) => {
                match gate
                    .verdict(
                        draft.visible_text().as_deref(),
                        draft.stored_text().as_deref(),
                        &draft.handed_on(),
                        draft.is_prose(),
                    )
                    .await
                {
                    Verdict::Accept => return Ok(Composed { draft, usage, attempts: attempt, notes }),
                    Verdict::Reject(reason) => {
                        return Err(ComposeFailure { error: ComposeError::Rejected(reason), usage, notes });
                    }
                    Verdict::Regenerate(reason) if attempt == 2 => {
                        return Err(ComposeFailure { error: ComposeError::Rejected(reason), usage, notes });
                    }
                    Verdict::Regenerate(reason) => reason,
                }
            }
        };
        tracing::info!(reason = %problem, "regenerating once");
        notes.push(problem.clone());
        current = prompt.with_feedback(&problem);
    }
    unreachable!("the loop returns on its second attempt")
}

/// `answer` (written without asking the model: a session's text) parsed with `parse` and passed by
/// `gate`, or why it cannot be used.
pub async fn check<D: Written>(
    parse: &(dyn Fn(&str) -> Result<D, ParseError> + Sync),
    answer: &str,
    gate: &dyn Gate,
) -> Result<D, String> {
    let draft = parse(answer).map_err(|e| e.to_string())?;
    match gate
        .verdict(draft.visible_text().as_deref(), draft.stored_text().as_deref(), &draft.handed_on(), draft.is_prose())
        .await
    {
        Verdict::Accept => Ok(draft),
        Verdict::Regenerate(reason) | Verdict::Reject(reason) => Err(reason),
    }
}

/// Asks for a new draft when it is a near duplicate of anything in `corpus` (the persona's recent
/// writing, the thread it answers).
pub fn near_duplicate_verdict(text: &str, corpus: &[String]) -> Verdict {
    if text.is_empty() {
        return Verdict::Accept;
    }
    match similarity::most_similar(text, corpus.iter().map(String::as_str)) {
        Some((other, score)) if score >= NEAR_DUPLICATE => {
            let shown: String = other.chars().take(60).collect();
            Verdict::Regenerate(format!("near duplicate ({:.0}% similar) of {shown:?}", score * 100.0))
        }
        _ => Verdict::Accept,
    }
}
