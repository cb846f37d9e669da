//! The publish gate for one task: near duplicates of what the persona, the thread or any persona anywhere
//! said in the last week, the marks of machine text, and the moderation rules: among them what the draft may
//! say about being AI, and mentions checked against the personas that exist and the people present.

use std::collections::HashSet;

use async_trait::async_trait;

use super::Services;
use super::compose::{Gate, Verdict, near_duplicate_verdict};
use crate::db::personas;
use crate::disclosure::Candour;
use crate::style;

pub(super) struct PublishGate<'a> {
    services: &'a Services<'a>,
    corpus: Vec<String>,
    names: HashSet<String>,
    candour: Candour,
}

impl<'a> PublishGate<'a> {
    pub(super) fn new(
        services: &'a Services<'a>,
        corpus: Vec<String>,
        names: HashSet<String>,
        candour: Candour,
    ) -> Self {
        Self { services, corpus, names, candour }
    }
}

#[async_trait]
impl Gate for PublishGate<'_> {
    async fn verdict(&self, text: Option<&str>, stored: Option<&str>, handed_on: &[&str], prose: bool) -> Verdict {
        let Some(text) = text else {
            return Verdict::Accept;
        };
        if prose && let Verdict::Regenerate(reason) = near_duplicate_verdict(stored.unwrap_or(text), &self.corpus) {
            return Verdict::Regenerate(reason);
        }
        // The marks of machine text: asked for once more with the reason, then skipped.
        let marks = if prose { style::marks(text) } else { Vec::new() };
        if !marks.is_empty() {
            let reasons: Vec<String> = marks.iter().map(style::Mark::reason).collect();
            return Verdict::Regenerate(format!("style ({})", reasons.join("; ")));
        }
        let mentions = self.services.moderation.mentions(text);
        let mut known = self.names.clone();
        if !mentions.is_empty() {
            match self.services.pool.get().await {
                Ok(db) => match personas::existing_usernames(&**db, &mentions).await {
                    Ok(found) => known.extend(found),
                    Err(e) => tracing::warn!(error = %e, "could not look up mentioned personas"),
                },
                Err(e) => tracing::warn!(error = %e, "could not look up mentioned personas"),
            }
        }
        let findings = self.services.moderation.check(text, handed_on, &known, self.candour);
        if findings.is_empty() {
            Verdict::Accept
        } else {
            let reasons: Vec<String> = findings.iter().map(|f| format!("{}: {}", f.rule, f.detail)).collect();
            Verdict::Regenerate(format!("moderation ({})", reasons.join("; ")))
        }
    }
}
