//! What varies from one thing a persona writes to the next, drawn per task from its profile: how long
//! it is (a real spread: plenty of one-liners, now and then a long one) and what stance it takes (agree,
//! push back, joke, wander off, ask, tell a story), weighted by who the persona is. And how it votes.
//! Drawn from the task's seed, so a retry draws the same, and recorded in the task's decisions.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::persona::Persona;

/// What is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// A top-level comment.
    Comment,
    /// A reply in a thread.
    Reply,
    /// An original post's body.
    Post,
    /// An image's caption.
    Caption,
}

/// How long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// A few words to one short sentence.
    OneLiner,
    /// One or two sentences.
    Short,
    /// Three or four sentences.
    Medium,
    /// A paragraph.
    Long,
}

impl Length {
    /// The instruction.
    pub fn instruction(self) -> &'static str {
        match self {
            Self::OneLiner => "Keep it to one line: a few words, or one short sentence.",
            Self::Short => "One or two sentences.",
            Self::Medium => "Three or four sentences.",
            Self::Long => {
                "A longer one this time: a paragraph of five to eight sentences, the way you write when it matters to you."
            }
        }
    }

    /// About how many sentences.
    pub fn sentences(self) -> (usize, usize) {
        match self {
            Self::OneLiner => (1, 1),
            Self::Short => (1, 2),
            Self::Medium => (3, 4),
            Self::Long => (5, 7),
        }
    }
}

/// What position it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Agrees, adding something.
    Agree,
    /// Sees it differently.
    Disagree,
    /// Makes a joke.
    Joke,
    /// Wanders off onto something related.
    Tangent,
    /// Asks one real question.
    Question,
    /// Tells what happened to it.
    Story,
}

impl Stance {
    /// The instruction, for a comment or a reply.
    pub fn instruction(self) -> &'static str {
        match self {
            Self::Agree => "You mostly agree; add something of your own instead of just agreeing.",
            Self::Disagree => "You see it differently; say so plainly, and why.",
            Self::Joke => "Answer with a bit of humour, the way you would.",
            Self::Tangent => "Go off on a related tangent from your own life.",
            Self::Question => "Ask one genuine, specific question about something in it.",
            Self::Story => "Tell a quick story from your own experience that bears on it.",
        }
    }

    /// The instruction, for an original post: what kind of post it is.
    pub fn post_instruction(self) -> &'static str {
        match self {
            Self::Agree => "Share something that worked for you.",
            Self::Disagree => "Share an opinion that some people there would push back on.",
            Self::Joke => "Share something that went funny or wrong.",
            Self::Tangent => "Bring in a side interest of yours that connects to the board.",
            Self::Question => "Ask the board for help or opinions on something you are stuck on.",
            Self::Story => "Tell what happened to you recently.",
        }
    }
}

/// What was drawn for one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Brief {
    /// What is written.
    pub form: Form,
    /// How long.
    pub length: Length,
    /// What position.
    pub stance: Stance,
}

impl Brief {
    /// The stance as an instruction for this form.
    pub fn stance_instruction(&self) -> &'static str {
        match self.form {
            Form::Comment | Form::Reply => self.stance.instruction(),
            Form::Post | Form::Caption => self.stance.post_instruction(),
        }
    }
}

fn has(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

fn temperament(persona: &Persona) -> String {
    format!("{} {} {}", persona.voice, persona.traits.join(" "), persona.modules.join(" ")).to_lowercase()
}

fn pick<T: Copy>(rng: &mut impl Rng, weighted: &[(T, f64)]) -> T {
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random::<f64>() * total;
    for (item, weight) in weighted {
        roll -= weight;
        if roll <= 0.0 {
            return *item;
        }
    }
    weighted[weighted.len() - 1].0
}

/// The length and stance of what `persona` writes as `form`, answering someone it feels `toward` about
/// (affinity in hundredths; 0 for strangers and for what answers nobody), for the task seeded `seed`.
pub fn draw(persona: &Persona, form: Form, toward: i16, seed: u64) -> Brief {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_b1ef);
    let t = temperament(persona);
    let terse = has(&t, &["short", "terse", "punchy", "concise", "direct", "dry"]);
    let wordy = has(&t, &["long sentences", "thoughtful", "storyteller", "detailed", "nerdy", "folksy"]);
    let (mut one, short, mut medium, mut long) = match form {
        Form::Comment | Form::Reply => (0.30, 0.38, 0.24, 0.08),
        Form::Post => (0.08, 0.32, 0.42, 0.18),
        Form::Caption => (0.45, 0.45, 0.10, 0.0),
    };
    if terse {
        one *= 1.8;
        long *= 0.4;
    }
    if wordy {
        one *= 0.6;
        medium *= 1.4;
        long *= 2.2;
    }
    if form == Form::Reply {
        // Replies in a conversation are shorter than comments on a post.
        one *= 1.3;
        long *= 0.6;
    }
    let length = pick(
        &mut rng,
        &[(Length::OneLiner, one), (Length::Short, short), (Length::Medium, medium), (Length::Long, long)],
    );
    let mut weights = [
        (Stance::Agree, 0.25),
        (Stance::Disagree, 0.15),
        (Stance::Joke, 0.10),
        (Stance::Tangent, 0.14),
        (Stance::Question, 0.14),
        (Stance::Story, 0.22),
    ];
    let scale = |weights: &mut [(Stance, f64)], stance: Stance, by: f64| {
        if let Some(w) = weights.iter_mut().find(|(s, _)| *s == stance) {
            w.1 *= by;
        }
    };
    if has(&t, &["skeptic", "blunt", "stubborn", "contrarian"]) {
        scale(&mut weights, Stance::Disagree, 2.2);
        scale(&mut weights, Stance::Question, 1.5);
    }
    if has(&t, &["humour", "humor", "funny", "wry", "playful", "joke"]) {
        scale(&mut weights, Stance::Joke, 2.5);
    }
    if has(&t, &["storyteller", "nostalgic", "memory"]) {
        scale(&mut weights, Stance::Story, 2.0);
    }
    if has(&t, &["curious", "asks"]) {
        scale(&mut weights, Stance::Question, 1.8);
        scale(&mut weights, Stance::Tangent, 1.3);
    }
    if has(&t, &["kind", "encouraging", "generous", "patient", "gentle"]) {
        scale(&mut weights, Stance::Agree, 1.6);
        scale(&mut weights, Stance::Disagree, 0.6);
    }
    if has(&t, &["opinion"]) {
        scale(&mut weights, Stance::Disagree, 1.6);
    }
    // Who they are to each other: friends agree and joke more, rivals argue. Each reply moves the
    // affinity by the stance it took (`kinds::comment::said`), so relationships settle into friends and
    // rivals over time instead of following a die.
    let feeling = f64::from(toward.clamp(-100, 100)) / 100.0;
    scale(&mut weights, Stance::Agree, (1.4 * feeling).exp());
    scale(&mut weights, Stance::Joke, (0.7 * feeling).exp());
    scale(&mut weights, Stance::Disagree, (-2.4 * feeling).exp());
    Brief { form, length, stance: pick(&mut rng, &weights) }
}

pub use crate::db::personas::Temperament;

/// The persona's voting temperament: as its profile says, else from its character.
pub fn voting(persona: &Persona) -> Temperament {
    if let Some(set) = persona.voting_temperament {
        return set;
    }
    let t = temperament(persona);
    if has(&t, &["skeptic", "blunt", "perfectionist", "critical", "stubborn"]) {
        Temperament::Critical
    } else if has(&t, &["generous", "kind", "encouraging", "friendly", "enthusiastic", "energetic"]) {
        Temperament::Generous
    } else {
        Temperament::Balanced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persona(voice: &str, traits: &[&str]) -> Persona {
        Persona {
            voice: voice.into(),
            traits: traits.iter().map(|t| t.to_string()).collect(),
            ..crate::persona::tests_support::persona()
        }
    }

    fn spread(p: &Persona, form: Form) -> std::collections::HashMap<String, usize> {
        let mut counts = std::collections::HashMap::new();
        for seed in 0..2000u64 {
            let b = draw(p, form, 0, seed);
            *counts.entry(format!("{:?}", b.length)).or_default() += 1;
            *counts.entry(format!("{:?}", b.stance)).or_default() += 1;
        }
        counts
    }

    #[test]
    fn lengths_really_spread_and_follow_the_voice() {
        let plain = spread(&persona("friendly", &[]), Form::Comment);
        assert!(plain["OneLiner"] > 400 && plain["Long"] > 60 && plain["Medium"] > 300, "{plain:?}");
        let terse = spread(&persona("terse, drily funny", &["skeptical"]), Form::Comment);
        assert!(terse["OneLiner"] > plain["OneLiner"] && terse["Long"] < plain["Long"], "{terse:?}");
        assert!(terse["Disagree"] > plain["Disagree"] && terse["Joke"] > plain["Joke"], "{terse:?}");
        let wordy = spread(&persona("thoughtful, long sentences", &["nostalgic"]), Form::Comment);
        assert!(wordy["Long"] > plain["Long"] && wordy["Story"] > plain["Story"], "{wordy:?}");
    }

    #[test]
    fn a_task_draws_the_same_every_time() {
        let p = persona("friendly", &[]);
        assert_eq!(draw(&p, Form::Reply, 0, 42), draw(&p, Form::Reply, 0, 42));
    }

    #[test]
    fn friends_agree_more_and_rivals_argue() {
        let p = persona("plain", &[]);
        let share = |toward: i16, stance: Stance| {
            (0..4000u64).filter(|seed| draw(&p, Form::Reply, toward, *seed).stance == stance).count()
        };
        let (friend_agrees, stranger_agrees, rival_agrees) =
            (share(60, Stance::Agree), share(0, Stance::Agree), share(-60, Stance::Agree));
        assert!(
            friend_agrees > stranger_agrees * 3 / 2 && stranger_agrees > rival_agrees * 3 / 2,
            "agree: friend {friend_agrees}, stranger {stranger_agrees}, rival {rival_agrees}"
        );
        let (friend_argues, rival_argues) = (share(60, Stance::Disagree), share(-60, Stance::Disagree));
        assert!(rival_argues > friend_argues * 4, "disagree: friend {friend_argues}, rival {rival_argues}");
    }

    #[test]
    fn temperaments_come_from_character() {
        assert_eq!(voting(&persona("terse", &["skeptical"])), Temperament::Critical);
        assert_eq!(voting(&persona("warm", &["generous"])), Temperament::Generous);
        assert_eq!(voting(&persona("plain", &["curious"])), Temperament::Balanced);
        let set = Persona { voting_temperament: Some(Temperament::Generous), ..persona("terse", &["skeptical"]) };
        assert_eq!(voting(&set), Temperament::Generous, "what the profile says wins over the character");
    }
}
