//! The marks of machine text: what gives a language model away on a forum (stock openers and closers,
//! lists and markdown in a comment, em-dashes, ending on a question to everyone, talking about being an
//! AI). The publish gate asks for another draft when a draft has one; `audit` counts them in what was
//! published.

use serde::Serialize;

/// One mark of machine text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mark", content = "found", rename_all = "snake_case")]
pub enum Mark {
    /// Two or more lines of a bulleted or numbered list.
    List,
    /// Headings, bold or other markdown.
    Markdown(String),
    /// An opening people recognise as a chatbot's.
    StockOpener(String),
    /// A closing people recognise as a chatbot's.
    StockCloser(String),
    /// An em-dash (or a spaced en-dash used as one).
    EmDash,
}

impl Mark {
    /// What to tell the model when asking again.
    pub fn reason(&self) -> String {
        match self {
            Self::List => "it is written as a list; write it as ordinary sentences".into(),
            Self::Markdown(m) => format!("it uses markdown ({m}); write plain text"),
            Self::StockOpener(p) => format!("it opens with a stock phrase ({p:?}); start with what you actually think"),
            Self::StockCloser(p) => format!("it closes with a stock phrase ({p:?}); just stop when you are done"),
            Self::EmDash => "it uses an em-dash; use a comma, a full stop or brackets".into(),
        }
    }

    /// A short name, for counts.
    pub fn name(&self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Markdown(_) => "markdown",
            Self::StockOpener(_) => "stock_opener",
            Self::StockCloser(_) => "stock_closer",
            Self::EmDash => "em_dash",
        }
    }
}

/// Openings a person rarely types and a chatbot types constantly (matched at the start, any case).
pub const STOCK_OPENERS: &[&str] = &[
    "great question",
    "good question",
    "what a great",
    "this is a great",
    "absolutely!",
    "absolutely,",
    "certainly!",
    "certainly,",
    "as someone who",
    "i completely agree",
    "i totally agree",
    "i couldn't agree more",
    "interesting point",
    "it's worth noting",
    "it is worth noting",
    "i hear you",
    "you're not alone",
    "ah, the",
    "ah yes, the",
    "oh, the joys",
    "love this!",
    "i love this!",
    "thanks for sharing",
    "thank you for sharing",
];

/// Closings of the same kind (matched at the end, any case, trailing punctuation ignored).
pub const STOCK_CLOSERS: &[&str] = &[
    "hope this helps",
    "hope that helps",
    "hope this helps someone",
    "let me know how it goes",
    "let us know how it goes",
    "keep us posted",
    "just my two cents",
    "just my 2 cents",
    "hope that makes sense",
    "happy to help",
    "you've got this",
    "you got this",
    "happy baking",
    "happy cooking",
    "happy riding",
    "happy reading",
    "happy growing",
    "happy shooting",
    "happy hacking",
    "what do you all think",
    "what do you think",
    "what are your thoughts",
    "thoughts",
    "anyone else",
    "has anyone else tried this",
    "curious what others think",
    "curious to hear what others think",
    "would love to hear your thoughts",
    "what about you",
    "what's your take",
];

/// The marks of machine text in `text`.
pub fn marks(text: &str) -> Vec<Mark> {
    let mut found = Vec::new();
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase().replace('’', "'");
    let list_lines = trimmed
        .lines()
        .map(str::trim_start)
        .filter(|l| {
            l.starts_with("- ") || l.starts_with("* ") || l.starts_with("• ") || {
                let digits = l.chars().take_while(char::is_ascii_digit).count();
                digits > 0 && digits < 3 && (l[digits..].starts_with(". ") || l[digits..].starts_with(") "))
            }
        })
        .count();
    if list_lines >= 2 {
        found.push(Mark::List);
    }
    if let Some(m) = markdown(trimmed) {
        found.push(Mark::Markdown(m.into()));
    }
    if let Some(p) = STOCK_OPENERS.iter().find(|p| lower.starts_with(*p)) {
        found.push(Mark::StockOpener((*p).into()));
    }
    let ending =
        lower.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace() || !c.is_alphanumeric());
    if let Some(p) = STOCK_CLOSERS.iter().find(|p| {
        ending.ends_with(*p) && {
            // A whole phrase: what comes before it starts a sentence or a clause.
            let before = &ending[..ending.len() - p.len()];
            before.is_empty() || before.ends_with(|c: char| !c.is_alphanumeric())
        }
    }) {
        found.push(Mark::StockCloser((*p).into()));
    }
    if trimmed.contains('—') || trimmed.contains(" – ") {
        found.push(Mark::EmDash);
    }
    found
}

fn markdown(text: &str) -> Option<&'static str> {
    if text.lines().any(|l| l.trim_start().starts_with('#') && l.trim_start().trim_start_matches('#').starts_with(' '))
    {
        return Some("a heading");
    }
    if text.contains("**") || text.contains("__") {
        return Some("bold");
    }
    if text.contains("](http") {
        return Some("a link");
    }
    None
}

/// Whether `text` ends on a question.
pub fn ends_with_question(text: &str) -> bool {
    text.trim_end().trim_end_matches(['"', '\'', ')', '”']).ends_with('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Comments as people write them on forums, machine marks absent: every one must pass.
    pub const HUMAN: &[&str] = &[
        "two batches. always two batches",
        "Crowding the pan is 90% of it. The other 10% is patience.",
        "lol same. I bought a carbon steel pan for this exact reason and it still took me a month",
        "Honestly no idea, mine does the same thing and I just live with it",
        "I disagree a bit. Non-stick is fine if you preheat it properly, the problem is the burner.",
        "Which burner are you on? Mine only works on the big one at the back.",
        "Did this yesterday, worked great. Thanks",
        "That's a cracking photo. What time of day was it?",
        "My starter died twice before I figured out my kitchen was just too cold in winter. Moved it on top of \
         the fridge and it's been fine since.",
        "nah, 14 km is nothing once you get used to it. first two weeks are the worst",
        "Restic to a second box, then a copy to B2. Boring, works, never think about it.",
        "Re-read it last year and liked it less. Still the best ending in the series though.",
        "Good luck with the move, hope the plants survive it better than mine did",
        "I'd check the light first. North-facing windows in winter give almost nothing.",
        "Same here - took me three tries. The third one finally held.",
        "Fair. I think we just like different things in a fantasy book.",
        "Mine's a 2013 Brompton and it has never once let me down (unlike me).",
        "Step one: don't. Step two: if you must, use the boring option.",
        "Thanks, that explains it. Going to try the lower temp tonight.",
        "Anyone who says backups are easy hasn't restored one.",
    ];

    /// What a chatbot writes: each must show at least one mark.
    pub const MACHINE: &[&str] = &[
        "Great question! The key is to avoid crowding the pan.",
        "Absolutely, cooking in batches makes a big difference. Hope this helps!",
        "Crowding the pan — that's the real culprit here.",
        "Here are a few tips:\n- Use a hot pan\n- Cook in batches\n- Dry the vegetables",
        "## Why it steams\nThe pan loses heat when it is crowded.",
        "The **key** is heat.",
        "As someone who has cooked for years, I can say heat matters most.",
        "Heat matters most. What do you all think?",
        "Batches help a lot. Just my two cents.",
        "It depends on the pan – and on the burner.",
        "1. Heat the pan\n2. Add oil\n3. Cook in batches",
    ];

    #[test]
    fn ordinary_human_text_passes() {
        for text in HUMAN {
            assert_eq!(marks(text), Vec::new(), "{text:?}");
        }
    }

    #[test]
    fn every_machine_mark_is_found() {
        for text in MACHINE {
            assert!(!marks(text).is_empty(), "{text:?} shows no mark");
        }
        assert_eq!(marks("Great question! Hope this helps!").len(), 2);
        assert_eq!(marks("a — b")[0], Mark::EmDash);
        assert!(matches!(marks("x\n- a\n- b")[0], Mark::List));
        assert!(ends_with_question("Which burner are you on?"));
        assert!(!ends_with_question("It's the burner."));
    }
}
