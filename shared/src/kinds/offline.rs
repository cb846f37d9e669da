//! The offline writer's text: deterministic, in the persona's voice, assembled from templates, the
//! persona's profile and the words of what it looks at. It is **not a language model**; each kind asks
//! a [`Writer`] for its answer's parts when the offline provider is configured.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::context::{Author, Scene};
use crate::persona::Persona;

const STOPWORDS: &[&str] = &[
    "about",
    "actually",
    "advice",
    "after",
    "again",
    "agreed",
    "almost",
    "already",
    "always",
    "another",
    "anyone",
    "anything",
    "anyway",
    "around",
    "attempt",
    "because",
    "before",
    "beginner",
    "being",
    "better",
    "between",
    "cheap",
    "could",
    "curious",
    "depend",
    "depends",
    "didn",
    "different",
    "differently",
    "doesn",
    "during",
    "easier",
    "either",
    "enough",
    "especially",
    "every",
    "everyone",
    "everything",
    "experience",
    "figure",
    "finally",
    "first",
    "friends",
    "getting",
    "going",
    "great",
    "happened",
    "happy",
    "hardly",
    "helps",
    "honestly",
    "hoping",
    "instead",
    "learned",
    "little",
    "maybe",
    "might",
    "month",
    "never",
    "nothing",
    "other",
    "others",
    "people",
    "perhaps",
    "point",
    "posting",
    "pretty",
    "probably",
    "problem",
    "question",
    "quite",
    "really",
    "remember",
    "right",
    "second",
    "seems",
    "should",
    "since",
    "something",
    "sometimes",
    "started",
    "still",
    "struggling",
    "suspected",
    "thanks",
    "their",
    "there",
    "these",
    "thing",
    "things",
    "think",
    "third",
    "those",
    "though",
    "thought",
    "through",
    "times",
    "today",
    "together",
    "tonight",
    "tried",
    "trying",
    "under",
    "underrated",
    "until",
    "using",
    "usually",
    "wanted",
    "weird",
    "weirdly",
    "what",
    "whatever",
    "when",
    "where",
    "which",
    "while",
    "whole",
    "within",
    "without",
    "worked",
    "working",
    "worse",
    "worth",
    "would",
    "wrong",
    "yesterday",
    "conflicting",
];

/// Salient words of the context: the persona's interests when they appear, then title words, then
/// longer words; no stopwords.
fn keywords(texts: &[&str], interests: &[String]) -> Vec<String> {
    let interests: Vec<String> = interests.iter().map(|i| i.to_lowercase()).collect();
    let mut scored: Vec<(i32, usize, String)> = Vec::new();
    for (t, text) in texts.iter().enumerate() {
        for word in text.split(|c: char| !c.is_alphanumeric() && c != '-') {
            let w = word.trim_matches('-').to_lowercase();
            if w.len() < 4 || STOPWORDS.contains(&w.as_str()) || w.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if scored.iter().any(|(_, _, seen)| *seen == w) {
                continue;
            }
            let mut score = 0;
            if interests.iter().any(|i| i.contains(&w) || w.contains(i.as_str())) {
                score += 4;
            }
            if t == 0 {
                score += 2;
            }
            if w.len() >= 7 {
                score += 1;
            }
            if w.ends_with("ly") || w.ends_with("ed") {
                score -= 2;
            }
            scored.push((score, scored.len(), w));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(8).map(|(_, _, w)| w).collect()
}

struct Style {
    exclaim: bool,
    sentences: usize,
    numbers: bool,
    asks_back: bool,
    closer: &'static [&'static str],
}

fn style_of(persona: &Persona) -> Style {
    let voice = persona.voice.to_lowercase();
    let modules = persona.modules.join(" ").to_lowercase();
    let traits = persona.traits.join(" ").to_lowercase();
    let short = ["short", "terse", "punchy", "concise", "direct"].iter().any(|w| voice.contains(w));
    let long = ["long sentences", "thoughtful", "storyteller", "detailed"].iter().any(|w| voice.contains(w));
    let closer: &[&str] = if traits.contains("skeptic") || voice.contains("skeptic") {
        &[
            "What happens when it fails, though?",
            "I'd want to know the failure mode first.",
            "Boring answer, but it holds up.",
        ]
    } else if traits.contains("energetic") || traits.contains("enthusiastic") || voice.contains("enthusiastic") {
        &["Give it a go and report back", "You've got this", "Honestly, it's worth the effort"]
    } else if traits.contains("encouraging") || traits.contains("kind") || traits.contains("patient") {
        &["Hope that helps a little.", "Don't be too hard on yourself about it.", "It gets easier, I promise."]
    } else if traits.contains("nostalgic") || traits.contains("handy") {
        &[
            "Did it that way for thirty years and never looked back.",
            "They don't make them like that any more.",
            "Simple fixes last longest.",
        ]
    } else if traits.contains("data") || traits.contains("precise") || traits.contains("meticulous") {
        &[
            "I keep notes on this, so I'm fairly sure of the numbers.",
            "Measure it before you change anything.",
            "Write it down; you'll forget otherwise.",
        ]
    } else {
        &["Curious what others think.", "That's my two cents anyway.", "Worth a try."]
    };
    Style {
        exclaim: !modules.contains("never uses exclamation")
            && (traits.contains("energetic") || traits.contains("enthusiastic")),
        sentences: if short {
            2
        } else if long {
            4
        } else {
            3
        },
        numbers: ["number", "figure", "quantit", "time or portion", "temperature", "distance"]
            .iter()
            .any(|w| modules.contains(w)),
        asks_back: modules.contains("question") || voice.contains("asks") || voice.contains("question"),
        closer,
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, options: &[&'a str]) -> &'a str {
    options.choose(rng).copied().unwrap_or_default()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in slots {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// A concrete figure from the persona's world, in the subject the context is about when it can tell.
fn number_detail(rng: &mut ChaCha8Rng, persona: &Persona, context: &[String]) -> String {
    let about = |words: &[&str]| context.iter().any(|w| words.iter().any(|k| w.contains(k)));
    let interests = if about(&["bread", "dough", "starter", "sourdough", "bake"]) {
        "baking".to_owned()
    } else if about(&["bike", "cycl", "commut", "chain", "ride"]) {
        "cycling".to_owned()
    } else if about(&["stir", "pan", "cook", "soup", "recipe", "fry", "lentil"]) {
        "cooking".to_owned()
    } else {
        persona.interests.join(" ")
    };
    if interests.contains("baking") || interests.contains("fermentation") {
        format!(
            "Around {}% hydration and {}°C worked best for me.",
            rng.random_range(65..=80),
            rng.random_range(22..=27)
        )
    } else if interests.contains("cycling") || interests.contains("commuting") {
        format!(
            "Over my last {} rides that made about {} minutes of difference.",
            rng.random_range(20..=120),
            rng.random_range(3..=12)
        )
    } else if interests.contains("cooking") || interests.contains("meal prep") {
        format!(
            "Give it {} minutes on high heat, no more than {} grams at a time.",
            rng.random_range(3..=8),
            rng.random_range(150..=300)
        )
    } else {
        format!("It took me about {} tries over {} weeks.", rng.random_range(3..=9), rng.random_range(2..=6))
    }
}

fn finish_sentence(s: String, style: &Style) -> String {
    let trimmed = s.trim_end();
    if trimmed.ends_with(['.', '?', '!']) {
        trimmed.to_owned()
    } else if style.exclaim {
        format!("{trimmed}!")
    } else {
        format!("{trimmed}.")
    }
}

/// What the offline writer knows about one request: the persona, what it looks at, a seeded RNG, its
/// style and the salient words of the context. The kinds ask it for their answer's parts.
pub struct Writer<'a> {
    rng: ChaCha8Rng,
    persona: &'a Persona,
    scene: &'a Scene,
    style: Style,
    interest: String,
    words: Vec<String>,
    kw: String,
    kw2: String,
}

impl<'a> Writer<'a> {
    /// A writer for `kind` by `persona` looking at `scene`; the same seed gives the same text.
    pub fn new(kind: &str, persona: &'a Persona, scene: &'a Scene, seed: u64) -> Self {
        let id_bytes = |id: Option<uuid::Uuid>| id.map(|id| id.as_bytes().to_vec()).unwrap_or_default();
        let mut rng = ChaCha8Rng::seed_from_u64(crate::stable::hash(&[
            &seed.to_le_bytes(),
            persona.id.as_bytes(),
            &id_bytes(scene.post().map(|p| p.id)),
            &id_bytes(scene.comment().map(|c| c.id)),
            &id_bytes(scene.board().map(|b| b.id)),
            kind.as_bytes(),
        ]));
        let style = style_of(persona);
        let interest = persona.interests.choose(&mut rng).cloned().unwrap_or_else(|| "this".into());
        // The title says what the thread is about; the comment answered says what the reply is about.
        let mut context: Vec<&str> = Vec::new();
        if let Some(post) = scene.post() {
            context.push(&post.title);
        }
        if let Some(comment) = scene.comment() {
            context.push(&comment.body);
        }
        if let Some(post) = scene.post() {
            context.push(&post.body);
        }
        let words = keywords(&context, &persona.interests);
        let kw = words.first().cloned().unwrap_or_else(|| interest.clone());
        let kw2 = if words.len() > 1 { words[rng.random_range(1..words.len())].clone() } else { interest.clone() };
        Self { rng, persona, scene, style, interest, words, kw, kw2 }
    }

    /// A vote: up, down or none, by the persona's interest in what it sees.
    pub fn vote(&mut self) -> &'static str {
        vote(&mut self.rng, self.persona, self.scene, &self.words)
    }

    /// Whether the persona lets a conversation rest: the deeper the thread, the likelier (a reply to a
    /// top-level comment is always written).
    pub fn lets_it_rest(&mut self) -> bool {
        self.rng.random::<f64>() < 0.12 * f64::from(self.scene.comment().map(|c| c.depth).unwrap_or(0))
    }

    /// A comment's or a reply's body.
    pub fn comment(&mut self, reply: bool) -> String {
        // Address people by name only when their name is known.
        let author = self
            .scene
            .comment()
            .filter(|c| !matches!(c.author, Author::Human { name: None, .. }))
            .map(|c| c.author.display())
            .unwrap_or_default();
        let mood = self.scene.comment().map(|c| Mood::of(&c.body)).unwrap_or(Mood::Neutral);
        comment_body(
            &mut self.rng,
            self.persona,
            &self.style,
            reply,
            &self.kw,
            &self.kw2,
            &self.interest,
            &author,
            mood,
        )
    }

    fn topic(&self) -> String {
        self.scene
            .board()
            .map(|b| {
                b.topics
                    .iter()
                    .find(|t| self.persona.interests.contains(t))
                    .or(b.topics.first())
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.interest.clone())
    }

    /// A text post's title and body.
    pub fn post(&mut self) -> (String, String) {
        let topic = self.topic();
        post_text(&mut self.rng, self.persona, &self.style, &topic, &self.interest)
    }

    /// An image post's title, caption and image prompt.
    pub fn image_post(&mut self) -> (String, String, String) {
        let topic = self.topic();
        image_post_text(&mut self.rng, &topic)
    }
}

fn vote(rng: &mut ChaCha8Rng, persona: &Persona, scene: &Scene, words: &[String]) -> &'static str {
    let topics = scene.board().map(|b| b.topics.clone()).unwrap_or_default();
    let overlap = persona
        .interests
        .iter()
        .any(|i| topics.contains(i) || words.iter().any(|w| w.contains(i.as_str()) || i.contains(w.as_str())));
    let roll: f64 = rng.random();
    match (overlap, roll) {
        (true, r) if r < 0.75 => "up",
        (true, _) => "none",
        (false, r) if r < 0.35 => "up",
        (false, r) if r < 0.42 => "down",
        _ => "none",
    }
}

/// How the comment being answered reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mood {
    Thanks,
    Question,
    Doubt,
    Neutral,
}

impl Mood {
    fn of(text: &str) -> Self {
        let t = text.to_lowercase();
        if t.contains("thank") || t.contains("helps") || t.contains("helped") {
            Self::Thanks
        } else if ["not sure", "worse", "opposite", "disagree", "doesn't", "wrong"].iter().any(|w| t.contains(w)) {
            Self::Doubt
        } else if t.contains('?') {
            Self::Question
        } else {
            Self::Neutral
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn comment_body(
    rng: &mut ChaCha8Rng,
    persona: &Persona,
    style: &Style,
    reply: bool,
    kw: &str,
    kw2: &str,
    interest: &str,
    author: &str,
    mood: Mood,
) -> String {
    let slots = [("kw", kw), ("kw2", kw2), ("interest", interest), ("author", author)];
    let named = !author.is_empty();
    let openers: &[&str] = if reply {
        match (mood, named) {
            (Mood::Thanks, _) => &[
                "Glad it helped",
                "Happy to help, honestly",
                "Good luck with the {kw}",
                "Let me know how the {kw} goes",
                "Anytime, {kw} took me ages too",
                "Hope the {kw} works out",
            ],
            (Mood::Question, true) => &[
                "Good question, {author}",
                "{author}, honestly it depends on {kw}",
                "Short answer, {author}: it's mostly {kw}",
            ],
            (Mood::Question, false) => {
                &["Good question", "Honestly it depends on {kw}", "Short answer: it's mostly {kw}"]
            }
            (Mood::Doubt, true) => &[
                "Fair, {author}, it can go either way",
                "I see why you'd say that, {author}",
                "{author}, that happened to me once too",
            ],
            (Mood::Doubt, false) => {
                &["Fair, it can go either way", "I see why you'd say that", "That happened to me once too"]
            }
            (Mood::Neutral, true) => &[
                "{author}, fair point about {kw}",
                "I see it a bit differently, {author}",
                "That matches what I've seen, {author}",
            ],
            (Mood::Neutral, false) => {
                &["Fair point about {kw}", "I see it a bit differently", "That matches what I've seen"]
            }
        }
    } else {
        &[
            "{Kw} is one of those things where the details matter",
            "I ran into the same thing with {kw} last month",
            "Funny timing, I was just dealing with {kw}",
            "Short version: {kw} usually comes down to {kw2}",
            "Speaking as someone into {interest}, {kw} is worth getting right",
            "Been there with {kw}",
        ]
    };
    let middles: &[&str] = &[
        "What worked for me was changing one thing at a time and noting what happened",
        "I'd look at {kw2} before spending money on anything new",
        "The part people skip is {kw2}, and that's usually where it goes wrong",
        "Most of the advice about {kw} online overcomplicates it",
        "It clicked for me once I stopped rushing the {kw2} step",
        "If {kw2} is off, nothing else you change will matter much",
        "My {interest} habit taught me that {kw} rewards patience more than gear",
        "Try it once the slow way, then decide whether {kw2} is worth the fuss",
        "Half the problems I had with {kw} came from skipping the basics",
        "Somebody told me to ignore {kw2} for a week and it actually helped",
        "The second time around, {kw} felt a lot less mysterious",
        "Watch what happens to {kw2} when you change nothing else",
    ];
    let kw_cap = capitalise(kw);
    let mut sentences = vec![finish_sentence(
        fill(pick(rng, openers), &[slots[0], slots[1], slots[2], slots[3], ("Kw", &kw_cap)]),
        style,
    )];
    let mut pool: Vec<&str> = middles.to_vec();
    while sentences.len() < style.sentences.saturating_sub(1).max(1) && !pool.is_empty() {
        let i = rng.random_range(0..pool.len());
        sentences.push(finish_sentence(fill(pool.swap_remove(i), &slots), style));
    }
    if style.numbers {
        sentences.push(number_detail(rng, persona, &[kw.to_owned(), kw2.to_owned()]));
    }
    if style.asks_back {
        sentences.push(format!("How long have you been at the {kw} side of it?"));
    } else {
        sentences.push(finish_sentence(pick(rng, style.closer).to_owned(), style));
    }
    sentences.join(" ")
}

fn post_text(rng: &mut ChaCha8Rng, persona: &Persona, style: &Style, topic: &str, interest: &str) -> (String, String) {
    let titles = [
        "What's your approach to {topic}?",
        "{Topic}: a small win this week",
        "Three things I wish I'd known about {topic}",
        "Is anyone else stuck on {topic} lately?",
        "Trying to combine {interest} and {topic}",
        "An unpopular opinion about {topic}",
    ];
    let topic_cap = capitalise(topic);
    let slots = [("topic", topic), ("Topic", topic_cap.as_str()), ("interest", interest)];
    let title = fill(pick(rng, &titles), &slots);
    let bodies = [
        "I've been spending more time on {topic} this month and wanted to compare notes",
        "Something changed how I think about {topic} and I'm curious if it's just me",
        "Every guide on {topic} says something different, so here's what actually happened when I tried",
        "Quick one about {topic} before the weekend",
    ];
    let details = [
        "The biggest difference came from slowing down and doing less at once",
        "I expected it to be complicated and it mostly wasn't",
        "The cheap option turned out to be the right one",
        "My first two attempts were a mess, the third one finally worked",
    ];
    let mut body = vec![
        finish_sentence(fill(pick(rng, &bodies), &slots), style),
        finish_sentence(pick(rng, &details).to_owned(), style),
    ];
    if style.numbers {
        body.push(number_detail(rng, persona, &[topic.to_owned(), interest.to_owned()]));
    }
    body.push(format!("What would you do differently with {topic}?"));
    (title, body.join(" "))
}

fn image_post_text(rng: &mut ChaCha8Rng, topic: &str) -> (String, String, String) {
    let subjects = [
        "a quiet street after rain",
        "morning light on a balcony garden",
        "a workbench with old tools",
        "fog over a canal",
        "a bowl of soup on a wooden table",
        "a bicycle leaning on a brick wall",
    ];
    let lights = ["soft morning light", "golden hour sun", "overcast diffuse light", "blue-hour twilight"];
    let subject = pick(rng, &subjects);
    let light = pick(rng, &lights);
    let title = capitalise(&format!("{subject}, {light}"));
    let body = format!("Took this earlier today. It's not much, but it's what {topic} looks like from where I stand.");
    let prompt = format!(
        "A natural, unposed photograph of {subject} in {light}, shallow depth of field, realistic colours, no text or watermarks"
    );
    (title, body, prompt)
}
