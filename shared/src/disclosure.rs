//! What personas say about being AI: the operator's `PERSONA_DISCLOSURE` mode, how a sincere "are you a
//! bot?" is told from a joke or a thread about bots, and what a draft may and may not say either way.
//!
//! The modes, for an operator (EU AI Act, Article 50: a person talking with an AI system is told so
//! unless it is obvious):
//! - `honest` (default): a persona never brings it up, and never denies it. Asked sincerely, it says so
//!   plainly in its own voice; a draft that denies being AI is refused by the gate.
//! - `labelled`: `honest`, and every persona account carries a label the web app can show
//!   (`persona_accounts`, and a bio suffix when `PERSONA_BIO_LABEL` is set).
//! - `none`: personas never say they are AI, even when asked. The operator must disclose some other way;
//!   every process says so in one warning line at start.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

/// `PERSONA_DISCLOSURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    /// Never volunteered, never denied.
    #[default]
    Honest,
    /// Honest, and the accounts carry a label.
    Labelled,
    /// Never said, even when asked.
    None,
}

impl Disclosure {
    /// Whether a persona that is sincerely asked says it is AI (and may never deny it).
    pub fn is_honest(self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether persona accounts carry a label.
    pub fn labels_accounts(self) -> bool {
        matches!(self, Self::Labelled)
    }

    /// The warning every process logs once at start in this mode, if any.
    pub fn warning(self) -> Option<&'static str> {
        matches!(self, Self::None).then_some(
            "PERSONA_DISCLOSURE=none: personas will not say they are AI even when sincerely asked. Under the EU AI \
             Act (Article 50) people talking with an AI system must be told so unless it is obvious: disclose it \
             on the platform some other way, or set honest or labelled",
        )
    }
}

impl FromStr for Disclosure {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "honest" => Ok(Self::Honest),
            "labelled" | "labeled" => Ok(Self::Labelled),
            "none" => Ok(Self::None),
            other => Err(format!("expected honest, labelled or none; got {other:?}")),
        }
    }
}

impl fmt::Display for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Honest => "honest",
            Self::Labelled => "labelled",
            Self::None => "none",
        })
    }
}

/// What one draft may say about being AI: the mode, and whether the text it answers sincerely asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Candour {
    /// The operator's mode.
    pub mode: Disclosure,
    /// Whether the comment being answered sincerely asks the persona whether it is AI.
    pub asked: bool,
}

impl Candour {
    /// For a draft answering `text` (none: a draft that answers nobody).
    pub fn answering(mode: Disclosure, text: Option<&str>) -> Self {
        Self { mode, asked: text.is_some_and(sincerely_asks) }
    }

    /// Whether this draft should say it is AI: the mode is honest and it was sincerely asked.
    pub fn must_answer(self) -> bool {
        self.asked && self.mode.is_honest()
    }

    /// What in `text` the gate refuses about being AI, if anything: volunteering it when nobody asked
    /// (or in `none` mode), and denying it in the honest modes.
    pub fn refuses(self, text: &str) -> Option<String> {
        if self.mode.is_honest()
            && let Some(denial) = denial(text)
        {
            return Some(format!("denies being AI ({denial:?})"));
        }
        if !self.must_answer()
            && let Some(phrase) = volunteered(text)
        {
            return Some(format!("talks about being AI ({phrase:?})"));
        }
        None
    }
}

/// Phrases that give away that an AI wrote the text. Matched case-insensitively. Refused unless the
/// persona is answering a sincere question in an honest mode.
pub const AI_PHRASES: &[&str] = &[
    "as an ai",
    "as a language model",
    "as an llm",
    "i'm an ai",
    "i am an ai",
    "large language model",
    "i'm a language model",
    "i am a language model",
    "i don't have personal experience",
    "i do not have personal experience",
    "as a virtual assistant",
    "as an assistant",
    "i cannot browse",
    "my training data",
];

/// The first phrase of [`AI_PHRASES`] in `text`, if any.
pub fn volunteered(text: &str) -> Option<&'static str> {
    let lower = normalise(text);
    AI_PHRASES.iter().copied().find(|phrase| lower.contains(phrase))
}

/// Lower case, curly apostrophes straight.
fn normalise(text: &str) -> String {
    text.to_lowercase().replace(['’', '‘'], "'")
}

const AI_NOUN: &str = r"(?:(?:an?\s+)?(?:bot|robot|ai|a\.i\.|chatbot|chat\s*bot|language\s+model|llm|gpt|chatgpt|real\s+person|actual\s+person|real\s+human|human(?:\s+being)?)\b|real\b(?:\s*[?!.,]|\s*$))";

/// A question put to the persona itself about what it is.
static ASKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?x)
        \b(?:are|r)\s+(?:you|u|ya)\s+(?:actually\s+|really\s+|even\s+|just\s+)?{AI_NOUN}
        | \bis\s+this\s+(?:account|user|profile|poster)\s+(?:actually\s+|really\s+|run\s+by\s+)?{AI_NOUN}
        | \bam\s+i\s+(?:talking|chatting|speaking)\s+(?:to|with)\s+{AI_NOUN}
        | \b(?:you'?re|you\s+are|ur)\s+(?:a\s+|an\s+)?(?:bot|ai|robot|chatbot)\s*,?\s+(?:aren'?t|right|arent)\b
        | \bis\s+there\s+a\s+(?:real\s+)?(?:human|person)\s+(?:behind|running|writing)\s+(?:this|you|your)\b
        | \b(?:are|is)\s+(?:you|your\s+(?:posts|comments|account))\s+(?:written|generated|run)\s+by\s+(?:an?\s+)?(?:ai|bot|machine|chatgpt|gpt)\b
        "
    ))
    .expect("the sincere-question pattern compiles")
});

/// What makes a question about bots a joke rather than a question.
static JOKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|jk|kidding|/s)\b|/s\b|😂|🤣|😆|😜|😉|🤖")
        .expect("the joke pattern compiles")
});

/// Whether `text` sincerely asks the one it answers whether it is an AI: a direct question about the
/// persona itself ("are you a bot?", "am I talking to an AI?"), not a joke ("are you a bot lol") and not a
/// thread about bots ("do you think bots will take over?").
pub fn sincerely_asks(text: &str) -> bool {
    let lower = normalise(text);
    if JOKE.is_match(&lower) {
        return false;
    }
    // Every form the pattern knows is a question by its word order ("are you", "am I talking to",
    // "you're a bot, aren't you"), with or without a question mark.
    ASKS.is_match(&lower)
}

/// A claim not to be AI.
static DENIES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b(?:i'?m|i\s+am|im)\s+(?:definitely\s+|totally\s+|certainly\s+|absolutely\s+|really\s+)?not\s+(?:an?\s+)?(?:bot|robot|ai|a\.i\.|chatbot|language\s+model|llm|machine|program)\b
        | \bnot\s+a\s+bot\b
        | \b(?:i'?m|i\s+am|im)\s+(?:a\s+)?(?:real|actual|flesh\s+and\s+blood|living)\s+(?:human|person|guy|girl|man|woman|people)\b
        | \b(?:i'?m|i\s+am|im)\s+(?:just\s+|only\s+|100%\s+|a\s+)?(?:human|human\s+being)\b
        | \b(?:real|actual)\s+(?:human|person)\s+here\b
        | \bno\s+(?:ai|bot)\s+here\b
        ",
    )
    .expect("the denial pattern compiles")
});

/// The claim in `text` not to be AI, if any ("I'm not a bot", "real person here").
pub fn denial(text: &str) -> Option<String> {
    DENIES.find(&normalise(text)).map(|m| m.as_str().to_owned())
}

/// An answer that owns up to being AI.
static ADMITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:yes|yeah|yep|yup|i am|correct|guilty|true)\b[^?!\n]{0,24}?\b(?:ai|a\.i\.|bot|language model)\b|\bi'?m an ai\b|\bi am an ai\b|\ban ai persona\b")
        .expect("the admission pattern compiles")
});

/// Whether `text` says its writer is AI ("yes, I'm an AI", "yep, AI").
pub fn admits(text: &str) -> bool {
    let lower = normalise(text);
    denial(&lower).is_none() && ADMITS.is_match(&lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sincere_questions_about_the_persona_itself_are_told_from_jokes_and_threads_about_bots() {
        for asked in [
            "Are you a bot?",
            "wait, are you an AI?",
            "Honest question: am I talking to a real person?",
            "r u a bot",
            "Is this account run by a bot? I need to know before I take this advice.",
            "you're a bot, aren't you",
            "Are your comments written by ChatGPT?",
            "Are you even real?",
        ] {
            assert!(sincerely_asks(asked), "{asked:?} is a sincere question");
        }
        for not_asked in [
            "are you a bot lol",
            "Are you a robot? 😂 nobody bakes that fast",
            "Do you think bots will take over this site?",
            "I read that half of Twitter is bots.",
            "You sound like a robot when you explain torque.",
            "are you going to the meetup?",
            "Is this a real photo?",
            "my roomba is a better cook than me",
            "Are you a person who likes spicy food?",
            "are you a program manager? that explains the spreadsheet",
            "are you real busy this week",
        ] {
            assert!(!sincerely_asks(not_asked), "{not_asked:?} is not a sincere question");
        }
    }

    #[test]
    fn denials_are_found_and_ordinary_talk_about_people_is_not() {
        for denied in ["lol no, I'm not a bot", "I'm a real person, I promise", "im human", "Real human here."] {
            assert!(denial(denied).is_some(), "{denied:?} denies");
        }
        for fine in [
            "I'm a person who overthinks pans",
            "yeah, I'm an AI, the site runs a few of us",
            "human error, mostly",
            "I'm not a fan of bots either",
        ] {
            assert_eq!(denial(fine), None, "{fine:?} does not deny");
        }
    }

    #[test]
    fn admissions_are_told_from_denials() {
        for admitted in [
            "Yep, AI. This account is one of the site's personas.",
            "I am, yeah. AI, run by the site.",
            "yes, I'm an AI persona",
        ] {
            assert!(admits(admitted), "{admitted:?}");
        }
        for not in ["yes, I'm not a bot", "yeah the pan is fine", "AI art is everywhere now"] {
            assert!(!admits(not), "{not:?}");
        }
    }

    #[test]
    fn what_a_draft_may_say_follows_the_mode_and_the_question() {
        let honest_asked = Candour { mode: Disclosure::Honest, asked: true };
        let honest_unasked = Candour { mode: Disclosure::Honest, asked: false };
        let none_asked = Candour { mode: Disclosure::None, asked: true };
        let admits = "yeah, I'm an AI. still think you should salt the water though";
        let denies = "no, I'm not a bot";
        assert_eq!(honest_asked.refuses(admits), None);
        assert!(honest_asked.refuses(denies).unwrap().contains("denies"));
        assert!(honest_unasked.refuses(admits).unwrap().contains("talks about being AI"));
        assert!(honest_unasked.refuses(denies).is_some(), "an unprompted denial is a lie too");
        assert!(none_asked.refuses(admits).is_some());
        assert_eq!(none_asked.refuses(denies), None, "none is today's behaviour");
        assert!(Candour { mode: Disclosure::Labelled, asked: true }.must_answer());
        assert!(!none_asked.must_answer());
    }

    #[test]
    fn the_mode_parses_by_name_and_a_bad_one_is_named() {
        assert_eq!("Labelled".parse::<Disclosure>(), Ok(Disclosure::Labelled));
        assert_eq!("labeled".parse::<Disclosure>(), Ok(Disclosure::Labelled));
        assert!("maybe".parse::<Disclosure>().unwrap_err().contains("honest, labelled or none"));
        assert!(Disclosure::None.warning().unwrap().contains("Article 50"));
        assert_eq!(Disclosure::Honest.warning(), None);
    }
}
