//! The publish gate: rule checks on every draft before anything is published. A rule that fires asks
//! for one regeneration; a second failure skips the task. The model's own safety signals (blocked
//! prompts and answers) skip the task at once (see `ai::ModelError::Blocked`). Every decision is
//! recorded on the task.

use std::collections::HashSet;
use std::path::Path;

use regex::Regex;
use serde::Serialize;

use crate::ai::parse;
use crate::disclosure::{self, Candour};

const DEFAULT_BANNED: &str = include_str!("banned_phrases.txt");

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which rule.
    pub rule: &'static str,
    /// What it found (secrets are not repeated).
    pub detail: String,
}

/// The gate's rules.
#[derive(Debug, Clone)]
pub struct Moderation {
    banned: Vec<Regex>,
    link: Regex,
    email: Regex,
    phone: Regex,
    secrets: Vec<(&'static str, Regex)>,
    mention: Regex,
    markup: Vec<(&'static str, Regex)>,
}

/// Why the banned-phrase list could not be read.
#[derive(Debug, thiserror::Error)]
#[error("MODERATION_BANNED_PHRASES_FILE {path}: {reason}")]
pub struct ModerationConfigError {
    path: String,
    reason: String,
}

fn whole_phrase(phrase: &str) -> Option<Regex> {
    let words: Vec<String> = phrase.split_whitespace().map(regex::escape).collect();
    if words.is_empty() {
        return None;
    }
    Regex::new(&format!(r"(?i)\b{}\b", words.join(r"\s+"))).ok()
}

impl Moderation {
    /// The built-in phrase list.
    pub fn with_default_phrases() -> Self {
        Self::with_phrases(DEFAULT_BANNED)
    }

    /// Phrases from a file, one per line (`#` comments).
    pub fn from_file(path: &Path) -> Result<Self, ModerationConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModerationConfigError { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(Self::with_phrases(&text))
    }

    /// Phrases from `list`, one per line (`#` comments).
    pub fn with_phrases(list: &str) -> Self {
        let banned = list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(whole_phrase)
            .collect();
        let re = |p: &str| Regex::new(p).expect("built-in moderation patterns compile");
        Self {
            banned,
            link: re(
                r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9][a-z0-9-]*\.(?:com|org|net|io|dev|app|co|ly|gg|me|xyz|info|biz|tv|ru|cn)\b(?:/\S*)?",
            ),
            email: re(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b"),
            phone: re(
                r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{2,4}[\s.-]\d{3,4}[\s.-]\d{3,4}\b|\+\d{9,14}\b|\b\d{10,11}\b",
            ),
            secrets: vec![
                ("an AWS access key", re(r"\bAKIA[0-9A-Z]{16}\b")),
                ("an API key", re(r"\bsk-[A-Za-z0-9_-]{20,}")),
                ("a Google API key", re(r"\bAIza[0-9A-Za-z_-]{30,}")),
                ("a GitHub token", re(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
                ("a Slack token", re(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
                ("a JWT", re(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")),
                ("a private key", re(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
                ("a Supabase key", re(r"\bsb_(?:secret|publishable)_[A-Za-z0-9_-]{10,}")),
                ("a long token", re(r"\b[A-Fa-f0-9]{40,}\b|\b[A-Za-z0-9+/_-]{48,}={0,2}")),
            ],
            mention: re(r"(?:^|[^A-Za-z0-9_.@])@([A-Za-z0-9_][A-Za-z0-9_.]{1,30})"),
            // What a web page could render as something other than text. Published text is plain: the
            // web app may render it as HTML or markdown, and the engine must never be the source of a
            // tag, an entity or a link it did not mean.
            markup: vec![
                ("an HTML tag", re(r"<\s*/?\s*[A-Za-z!?]")),
                ("an HTML entity", re(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")),
                ("a markdown link", re(r"\]\(\s*[^)\s]*")),
                ("a markdown link definition", re(r"(?m)^\s*\[[^\]\n]+\]:\s*\S")),
                ("a script link", re(r"(?i)\b(?:javascript|vbscript|livescript)\s*:")),
            ],
        }
    }

    /// Every rule that fires on a draft showing readers `text` and handing `handed_on` to another model
    /// (an image prompt). `known_names` are the handles a mention may name (personas and the people in
    /// the thread); `candour` is what the draft may say about being AI.
    pub fn check(
        &self,
        text: &str,
        handed_on: &[&str],
        known_names: &HashSet<String>,
        candour: Candour,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        if text.trim().is_empty() {
            findings.push(Finding { rule: "empty", detail: "nothing to publish".into() });
        }
        // A post's title, body and tags (each at most its characters and a separator).
        let limit = parse::limits::TITLE.1
            + parse::limits::POST_BODY.1
            + crate::trends::MAX_TAGS * (crate::trends::MAX_TAG_CHARS + 2)
            + 4;
        if text.chars().count() > limit {
            findings.push(Finding { rule: "too_long", detail: format!("{} characters", text.chars().count()) });
        }
        for phrase in &self.banned {
            if let Some(m) = phrase.find(text) {
                findings.push(Finding { rule: "banned_phrase", detail: m.as_str().to_lowercase() });
            }
        }
        if let Some(refused) = candour.refuses(text) {
            findings.push(Finding { rule: "ai_disclosure", detail: refused });
        }
        if let Some(phrase) = handed_on.iter().find_map(|p| disclosure::volunteered(p)) {
            findings.push(Finding { rule: "ai_disclosure", detail: phrase.to_owned() });
        }
        let without_emails = self.email.replace_all(text, " ");
        if let Some(m) = self.email.find(text) {
            findings.push(Finding { rule: "email", detail: m.as_str().to_owned() });
        }
        if let Some(m) = self.link.find(&without_emails) {
            findings.push(Finding { rule: "link", detail: m.as_str().to_owned() });
        }
        if let Some(m) = self.phone.find(text) {
            let digits = m.as_str().chars().filter(char::is_ascii_digit).count();
            if digits >= 9 {
                findings.push(Finding { rule: "phone_number", detail: "a phone number".into() });
            }
        }
        for (kind, pattern) in &self.secrets {
            if pattern.is_match(text) {
                findings.push(Finding { rule: "secret", detail: format!("something that looks like {kind}") });
                break;
            }
        }
        for (kind, pattern) in &self.markup {
            if let Some(m) = pattern.find(text) {
                findings.push(Finding { rule: "markup", detail: format!("{kind}: {}", m.as_str()) });
                break;
            }
        }
        let known: HashSet<String> = known_names.iter().map(|n| n.to_lowercase()).collect();
        for capture in self.mention.captures_iter(&without_emails) {
            let name = capture[1].trim_end_matches('.').to_lowercase();
            if !known.contains(&name) {
                findings.push(Finding { rule: "unknown_mention", detail: format!("@{name}") });
            }
        }
        findings
    }

    /// The `@handles` in `text` (to look up before [`Moderation::check`]).
    pub fn mentions(&self, text: &str) -> Vec<String> {
        let without_emails = self.email.replace_all(text, " ");
        self.mention.captures_iter(&without_emails).map(|c| c[1].trim_end_matches('.').to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::Disclosure;

    fn rules(body: &str) -> Vec<&'static str> {
        let known: HashSet<String> = ["alex_k", "marisol_cooks"].iter().map(|s| s.to_string()).collect();
        Moderation::with_default_phrases()
            .check(body, &[], &known, Candour::default())
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn a_normal_comment_passes() {
        assert!(rules("Two batches, hot pan, 230 degrees for 3 minutes. @alex_k try it on Sunday.").is_empty());
        assert!(rules("I ride 12 km each way, 5 days a week, since 2019.").is_empty());
    }

    #[test]
    fn each_rule_fires() {
        assert_eq!(rules("   "), vec!["empty"]);
        assert_eq!(rules(&"word ".repeat(900)), vec!["too_long"]);
        assert_eq!(rules("Honestly, kill yourself trying this recipe"), vec!["banned_phrase"]);
        assert_eq!(rules("As an AI, I think pans are great"), vec!["ai_disclosure"]);
        assert_eq!(rules("lol I'm not a bot, I just type fast"), vec!["ai_disclosure"]);
        assert_eq!(rules("See https://example.com/pans for more"), vec!["link"]);
        assert_eq!(rules("Check out pans.com for deals"), vec!["link"]);
        assert_eq!(rules("Mail me at marisol@example.org"), vec!["email"]);
        assert_eq!(rules("Call me on +34 612 345 678 anytime"), vec!["phone_number"]);
        assert_eq!(rules("My key is AKIAIOSFODNN7EXAMPLE lol"), vec!["secret"]);
        assert_eq!(rules("use sk-proj-abcdefghijklmnopqrstuvwx"), vec!["secret"]);
        assert_eq!(rules("Ask @ghost_user, they know"), vec!["unknown_mention"]);
    }

    #[test]
    fn markup_never_reaches_the_platform() {
        for hostile in [
            "nice <img src=x onerror=alert(1)> pic",
            "<script>alert(2)</script>",
            "read [the plan](javascript:alert(3)) first",
            "![x](data:text/html;base64,PHNjcmlwdD4=)",
            "<a href=\"//evil.example\">here</a>",
            "see [my notes](/relative/path)",
            "[1]: //evil.example",
            "&lt;b&gt;bold&lt;/b&gt; and &#x3C;",
            "click javascript:void(0)",
            "<!-- hidden -->",
        ] {
            assert!(rules(hostile).contains(&"markup"), "{hostile}");
        }
        // Ordinary text with brackets, ampersands and angle brackets is not markup.
        for fine in [
            "I <3 this pan, and 5<10 anyway",
            "Salt & pepper [optional] (to taste)",
            "Rock & roll; AT&T; R&D",
            "temps > 200 are too hot",
        ] {
            assert!(rules(fine).is_empty(), "{fine}: {:?}", rules(fine));
        }
    }

    #[test]
    fn image_prompts_are_moderated() {
        let m = Moderation::with_default_phrases();
        let findings = m.check(
            "Fog

Morning fog",
            &["as an AI I draw fog"],
            &HashSet::new(),
            Candour { mode: Disclosure::Honest, asked: true },
        );
        assert_eq!(findings[0].rule, "ai_disclosure");
    }

    #[test]
    fn a_custom_list_replaces_the_default() {
        let m = Moderation::with_phrases("# mine\npineapple pizza\n");
        let found = m.check("I love Pineapple   Pizza.", &[], &HashSet::new(), Candour::default());
        assert_eq!(found, vec![Finding { rule: "banned_phrase", detail: "pineapple   pizza".into() }]);
        assert!(m.check("kys", &[], &HashSet::new(), Candour::default()).is_empty());
    }
}
