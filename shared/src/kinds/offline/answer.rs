//! What the offline writer says when it answers someone (a comment on a post, a reply in a thread): every
//! thing it talks about is a noun phrase taken from what it answers (the comment, then the post, then
//! the rest of the thread), and failing that one of the board's topics or the persona's interests. The
//! frames around them carry no things of their own, so an answer never leans on a fern under a Monstera
//! question. A person answered in their own words ("my stir-fry") is answered in theirs ("your
//! stir-fry").

/// A thing an answer can talk about, as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The words, without their determiner ("lower leaves").
    pub words: String,
    /// The one answered wrote it about their own ("my", "our"): the answer says "your".
    pub theirs: bool,
}

/// Words that end a noun phrase: function words and the commonest verbs and adverbs.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "nor",
    "so",
    "yet",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "by",
    "up",
    "out",
    "off",
    "over",
    "under",
    "into",
    "onto",
    "about",
    "after",
    "before",
    "than",
    "then",
    "as",
    "if",
    "when",
    "while",
    "because",
    "since",
    "until",
    "though",
    "although",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "have",
    "has",
    "had",
    "do",
    "does",
    "did",
    "doing",
    "done",
    "will",
    "would",
    "can",
    "could",
    "should",
    "shall",
    "may",
    "might",
    "must",
    "it",
    "its",
    "it's",
    "i",
    "i'm",
    "i've",
    "i'd",
    "i'll",
    "you",
    "you're",
    "he",
    "she",
    "we",
    "they",
    "me",
    "him",
    "us",
    "them",
    "my",
    "your",
    "our",
    "their",
    "his",
    "her",
    "this",
    "that",
    "these",
    "those",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "where",
    "why",
    "how",
    "not",
    "no",
    "never",
    "always",
    "just",
    "only",
    "also",
    "too",
    "very",
    "really",
    "still",
    "even",
    "again",
    "already",
    "all",
    "any",
    "some",
    "every",
    "each",
    "both",
    "either",
    "neither",
    "much",
    "many",
    "more",
    "most",
    "less",
    "few",
    "own",
    "same",
    "other",
    "another",
    "such",
    "here",
    "there",
    "now",
    "ever",
    "instead",
    "go",
    "goes",
    "went",
    "gone",
    "get",
    "gets",
    "got",
    "make",
    "makes",
    "made",
    "use",
    "uses",
    "used",
    "try",
    "tried",
    "tries",
    "take",
    "takes",
    "took",
    "keep",
    "keeps",
    "kept",
    "turn",
    "turns",
    "turned",
    "look",
    "looks",
    "looked",
    "seem",
    "seems",
    "seemed",
    "need",
    "needs",
    "needed",
    "want",
    "wants",
    "wanted",
    "work",
    "works",
    "worked",
    "feel",
    "feels",
    "felt",
    "know",
    "knew",
    "think",
    "thinks",
    "thought",
    "say",
    "says",
    "said",
    "come",
    "comes",
    "came",
    "leave",
    "left",
    "put",
    "puts",
    "run",
    "runs",
    "ran",
    "start",
    "started",
    "stop",
    "stopped",
    "end",
    "ends",
    "ended",
    "let",
    "lets",
    "like",
    "likes",
    "liked",
    "love",
    "hate",
    "sounds",
    "sound",
    "add",
    "added",
    "buy",
    "bought",
    "find",
    "found",
    "give",
    "gave",
    "lost",
    "cost",
    "costs",
    "live",
    "lives",
    "lived",
    "doesn't",
    "don't",
    "didn't",
    "isn't",
    "aren't",
    "wasn't",
    "won't",
    "can't",
    "i",
    "yes",
    "yeah",
    "ok",
    "okay",
    "well",
    "probably",
    "maybe",
    "actually",
    "though",
    "enough",
    "every",
    "week",
    "weeks",
    "day",
    "days",
    "night",
    "nights",
    "year",
    "years",
    "month",
    "months",
    "time",
    "times",
    "morning",
    "evening",
    "today",
    "tonight",
    "tomorrow",
    "yesterday",
];

/// Determiners a noun phrase starts after; `theirs` for the possessives of whoever wrote it.
const DETERMINERS: &[(&str, bool)] = &[
    ("the", false),
    ("a", false),
    ("an", false),
    ("this", false),
    ("that", false),
    ("these", false),
    ("those", false),
    ("my", true),
    ("our", true),
    ("your", false),
    ("their", false),
    ("his", false),
    ("her", false),
    ("one", false),
    ("two", false),
    ("three", false),
    ("some", false),
    ("another", false),
];

/// Nouns too vague to talk about ("the thing", "a lot").
const VAGUE: &[&str] = &[
    "thing",
    "things",
    "way",
    "ways",
    "lot",
    "bit",
    "one",
    "ones",
    "stuff",
    "something",
    "anything",
    "everything",
    "nothing",
    "problem",
    "problems",
    "question",
    "questions",
    "idea",
    "point",
    "part",
    "kind",
    "sort",
    "same",
    "first",
    "last",
    "next",
    "rest",
    "end",
    "start",
    "moment",
    "while",
    "fun",
    "point",
];

fn trimmed(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
}

fn bare(word: &str) -> String {
    trimmed(word).to_lowercase()
}

/// The words the frames themselves are made of: a phrase ending in one of them ("the boring answer",
/// "a strongly worded letter") is the writer's own wording coming back in a thread, not a thing anyone
/// talked about.
fn frame_words() -> &'static std::collections::HashSet<String> {
    static WORDS: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        all_frames()
            .chain(super::SOFT.iter().copied())
            .chain(super::TAILS.iter().copied())
            .chain(super::WHILE_AGO.iter().copied())
            .flat_map(|f| f.split(|c: char| !c.is_alphanumeric() && c != '\'').map(str::to_lowercase))
            .filter(|w| w.len() > 2)
            .collect()
    })
}

/// The noun phrases in `text` that follow a determiner, up to three words each ("my stir-fry", "a
/// non-stick pan", "two lower leaves"), in the order written, each once.
pub fn noun_phrases(text: &str) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    for sentence in text.split(['.', '!', '?', ';', ':', '\n', '(', ')', '"']) {
        let tokens: Vec<&str> = sentence.split_whitespace().collect();
        let mut i = 0;
        while i < tokens.len() {
            let word = bare(tokens[i]);
            let Some((_, theirs)) = DETERMINERS.iter().find(|(d, _)| *d == word) else {
                i += 1;
                continue;
            };
            let mut words: Vec<String> = Vec::new();
            let mut j = i + 1;
            while j < tokens.len() && words.len() < 3 {
                let w = bare(tokens[j]);
                let ends_clause = tokens[j].ends_with(',');
                let possessive = w.ends_with("'s");
                if w.is_empty() || STOP.contains(&w.as_str()) || possessive || w.chars().all(|c| c.is_ascii_digit()) {
                    break;
                }
                words.push(trimmed(tokens[j]).to_owned());
                j += 1;
                if ends_clause {
                    break;
                }
            }
            // A phrase that ends in a vague word or is one letter long says nothing.
            let keep = words.last().is_some_and(|w| {
                let w = w.to_lowercase();
                !VAGUE.contains(&w.as_str()) && w.len() > 2 && !frame_words().contains(&w)
            });
            if keep {
                let phrase = words.join(" ");
                if !out.iter().any(|s| s.words.eq_ignore_ascii_case(&phrase)) {
                    out.push(Subject { words: phrase, theirs: *theirs });
                }
            }
            i = j.max(i + 1);
        }
    }
    out
}

/// Numbers with what they count ("230 degrees", "3 weeks", "75%"), as written, each once.
pub fn number_phrases(text: &str) -> Vec<String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let t = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '%');
        if !t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let phrase = if t.ends_with('%') || t.chars().any(char::is_alphabetic) {
            t.to_owned()
        } else {
            match tokens.get(i + 1).map(|w| bare(w)) {
                Some(unit) if !unit.is_empty() && !STOP.contains(&unit.as_str()) || unit_word(tokens.get(i + 1)) => {
                    format!("{t} {}", bare(tokens[i + 1]))
                }
                _ => continue,
            }
        };
        if !out.contains(&phrase) {
            out.push(phrase);
        }
    }
    out
}

/// Units that are also on the stop list ("3 weeks", "2 days").
fn unit_word(token: Option<&&str>) -> bool {
    token.is_some_and(|t| ["weeks", "days", "months", "years", "times", "nights"].contains(&bare(t).as_str()))
}

/// Opening sentences that agree. `{s}` is a subject (always after "the", which becomes "your" when it
/// was theirs), `{s2}` another.
pub const AGREE: &[&str] = &[
    "that matches what I saw with the {s}",
    "the {s} made all the difference for me too",
    "I had the same thing with the {s}",
    "I'd back that, especially the part about the {s}",
    "you're right about the {s}",
    "the bit about the {s} rings true",
    "that's how I ended up treating the {s} as well",
    "I went through exactly this with the {s}",
    "the {s} caught me out the same way",
    "I'd have said the same about the {s}",
    "mine settled down once I stopped fussing over the {s}",
    "I learned that about the {s} the hard way",
    "good call on the {s}",
    "the {s} really did change things for me",
    "the point about the {s} is the one that matters",
    "I nodded along at the {s} part",
    "I've said the same about the {s} for years",
    "spot on about the {s}",
    "I'd only add that getting the {s} right takes a while",
    "glad someone else noticed the {s}",
    "that's my experience with the {s} too",
    "the {s} surprised me the same way",
    "I keep coming back to the {s} as well",
    "same conclusion here after a while with the {s}",
    "the turning point for me was the {s} too",
    "the first thing I changed was the {s} as well",
    "I had to learn the {s} lesson twice",
    "mine only improved after I took the {s} seriously",
    "someone told me the same about the {s} years ago",
    "the {s} tip is a good one",
];

/// Opening sentences that push back.
pub const DISAGREE: &[&str] = &[
    "I'm not sure the {s} matters that much",
    "I'd look somewhere other than the {s} first",
    "the {s} never gave me any trouble",
    "I'd leave the {s} out of it",
    "I doubt the {s} has much to do with it",
    "the {s} looked like a red herring to me",
    "I went the other way on the {s}",
    "I stopped worrying about the {s} and nothing changed",
    "my experience with the {s} was the opposite",
    "I wouldn't blame the {s}",
    "I'd question the bit about the {s}",
    "I'd call the {s} the symptom, not the cause",
    "that's not how the {s} went for me at all",
    "I'd push back on the {s} part",
    "people overthink the {s}, I think",
    "I tried it that way with the {s} and went back",
    "it wasn't the {s} that fixed it for me",
    "you might be reading too much into the {s}",
    "I'd rather change one thing than touch the {s}",
    "the {s} only mattered for me at the very start",
    "I'd be careful with that advice on the {s}",
    "not convinced the fuss over the {s} is worth it",
    "I'd try it without the {s} before buying anything",
    "people blame the {s} for a lot it doesn't do",
    "I got on fine for years without thinking about the {s}",
    "my guess is it's a side issue, not the {s}",
];

/// Questions about what was said.
pub const QUESTIONS: &[&str] = &[
    "what kind of {s} are we talking about",
    "how long have you had the {s}",
    "did the {s} change anything",
    "did the {s} start out like that, or is it new",
    "what happens if you leave the {s} alone for a bit",
    "have you tried it without the {s}",
    "where did you get the {s}",
    "do you get that with the {s} every time or only sometimes",
    "when did you first notice it with the {s}",
    "what made you go for the {s}",
    "how did the {s} work out in the end",
    "was the {s} like that from the start",
    "would you do the {s} the same way again",
    "what did you change before the {s} went wrong",
    "is it the {s} or everything around it",
    "how much did the {s} set you back",
    "what would you do differently with the {s}",
    "are you sure it's the {s}",
    "can you say more about the {s}",
    "which part of the {s} bothers you most",
    "any chance the {s} and the {s2} are connected",
    "did the {s2} play a part too",
    "what did the {s} look like before",
    "who told you to try the {s}",
    "how often do you check the {s}",
    "did you keep the {s} or start again",
    "was there a reason you picked the {s}",
    "how bad did the {s} get",
    "what's the story behind the {s}",
    "have you asked anyone in person about the {s}",
    "did the {s} come with it or did you add it later",
    "did it start before or after the {s}",
    "how did you find out about the {s}",
    "what happens to the {s} if you ignore it for a day",
    "would the {s} still bother you a month from now",
    "is anyone else near you dealing with the {s}",
];

/// Questions for when the answered text names nothing to ask about.
pub const PLAIN_QUESTIONS: &[&str] = &[
    "what happened next",
    "how did it go in the end",
    "did that actually work",
    "what made you try that",
    "how long did that take you",
    "would you do it again",
    "where did you pick that up",
    "was it worth the effort",
];

/// What happened to the persona: `{w}` is when.
pub const STORIES: &[&str] = &[
    "{w} I had the same trouble with the {s}",
    "{w} I gave up on the {s} for a while",
    "{w} the {s} caught me out too",
    "{w} I spent an evening on the {s} and got nowhere",
    "{w} I finally sorted out the {s}",
    "{w} I changed one small thing about the {s} and it worked",
    "{w} I asked around about the {s} and got five different answers",
    "{w} I ignored the {s} and regretted it",
    "{w} a friend talked me out of worrying about the {s}",
    "{w} I went down a rabbit hole over the {s}",
    "{w} I got the {s} wrong twice in a row",
    "{w} I read everything I could find on the {s}",
    "{w} I did the {s} the slow way and it paid off",
    "{w} I almost gave up because of the {s}",
    "{w} I had to start over with the {s}",
    "{w} someone at work laughed at my {s} problem",
    "{w} I made the same call on the {s} and it held up",
    "{w} I thought I'd ruined the {s} for good",
    "{w} I finally stopped second-guessing the {s}",
];

/// Jokes about it.
pub const JOKES: &[&str] = &[
    "the {s} and I are not on speaking terms",
    "at this point the {s} should pay rent",
    "I've been beaten by the {s} more often than I'd admit",
    "I've lost whole weekends to the {s}",
    "I think the {s} knew what it was doing",
    "I'm convinced the {s} can smell fear",
    "my relationship with the {s} is complicated",
    "the {s} will humble everyone eventually",
    "I'd write a strongly worded letter to the {s}",
    "nothing in my house has beaten me like the {s}",
    "I suspect the {s} of laughing at all of us",
    "the {s} clearly had other plans",
    "I've talked to the {s} more than to my neighbours",
    "someday I'll understand the {s}, just not today",
];

/// Off on something of the persona's own: `{i}` is one of its interests.
pub const TANGENTS: &[&str] = &[
    "slightly off topic, but this reminds me of {i}",
    "funny, I had a similar week with {i}",
    "not the same thing, but {i} taught me to be patient with stuff like the {s}",
    "this is how I got into {i}, oddly",
    "the same thing happens in {i} all the time",
    "I'd never have guessed the {s} and {i} had this much in common",
    "it's the {i} person in me, but I'd treat the {s} like a project",
    "half my {i} friends would argue about the {s} for hours",
    "unrelated, but {i} has ruined my patience for this kind of thing",
    "it's a bit like {i}: you only learn by doing it badly first",
];

/// What carries an answer on.
pub const FOLLOWS: &[&str] = &[
    "it took me a while to see that about the {s}",
    "once I stopped fiddling with the {s}, it settled down",
    "the second time with the {s} went much better",
    "I'd give the {s} another week before changing anything",
    "change one thing about the {s} at a time, or you'll never know what fixed it",
    "you can usually tell when something's off with the {s}",
    "I keep a note of what I change with the {s} now",
    "nobody warned me about the {s} when I started",
    "going slow with the {s} is annoying, but it works",
    "with the {s} the boring answer is usually the right one",
    "I only figured the {s} out by getting it wrong",
    "you get the hang of the {s} once you've done it a few times",
    "most of what I read about the {s} didn't help",
    "I'd start with the {s} and work outwards",
    "if it still happens, I'd look at the {s} again",
    "the part that surprised me was the {s}",
    "give the {s} time before you judge it",
    "I ended up doing the {s} the simple way",
    "the fix for the {s} was smaller than I expected",
    "I'd ask whoever set up the {s} in the first place",
    "it's easy to blame the {s} when it's something else",
    "checking the {s} first saves a lot of guessing",
    "I wish I'd known that about the {s} sooner",
    "in the end it wasn't the {s}, it was me",
    "the difference in the {s} showed up after a few days",
    "write down what you try with the {s}, it helps more than you'd think",
    "I went back and forth on the {s} for ages",
    "it made me look at the {s} differently",
    "there's no shortcut with the {s}, sadly",
    "fussing over the {s} sounds silly, but it's worth it",
    "what worked for my {s} might not work for yours, but it's cheap to try",
    "the {s} and the {s2} are easy to mix up",
    "I'd keep an eye on the {s2} too",
    "the {s2} might be part of it as well",
    "don't forget the {s2} either",
    "I'd sort the {s2} out before anything else",
    "small changes to the {s} go a long way",
    "I'd be patient with the {s}",
    "it's rarely as bad as it looks with the {s}",
    "the first week with the {s} is always the worst",
    "trust what you see in the {s} more than what you read",
    "things like the {s} you only learn by doing",
    "I'd leave the {s} a few days and look again",
    "the {s} clicked for me after a while",
    "nothing fancy, just a bit more care with the {s}",
    "half the fun of the {s} is figuring it out",
];

/// With a number the answered text gave (`{n}`), for personas who write in numbers.
pub const NUMBERS: &[&str] = &[
    "{n} sounds about right to me",
    "I'd go a bit under {n}",
    "{n} is more than I'd bother with",
    "with {n} I'd expect exactly that",
    "{n} was where it started working for me",
    "I've never needed more than {n}",
    "at {n} you're already doing better than most",
];

/// A short last sentence.
pub const CODAS: &[&str] = &[
    "good luck with the {s}",
    "hope the {s} behaves",
    "keep at the {s}",
    "you'll get there with the {s}",
    "fingers crossed for the {s}",
    "worth a try with the {s}, anyway",
    "that's all I've got on the {s}",
    "it gets easier with the {s}, honestly",
    "report back on the {s} if you can",
    "the {s} will come round",
];

/// Every frame an answer is made of.
pub fn all_frames() -> impl Iterator<Item = &'static str> {
    [AGREE, DISAGREE, QUESTIONS, PLAIN_QUESTIONS, STORIES, JOKES, TANGENTS, FOLLOWS, NUMBERS, CODAS]
        .into_iter()
        .flatten()
        .copied()
}

/// Every frame with the fixed words between its slots (lowercase, the short ones left out), worked out
/// once: `frame_of` runs over every sentence a writer sees.
fn frame_pieces() -> &'static [(&'static str, Vec<String>)] {
    static PIECES: std::sync::OnceLock<Vec<(&'static str, Vec<String>)>> = std::sync::OnceLock::new();
    PIECES.get_or_init(|| {
        all_frames()
            .chain(super::post_frames())
            .map(|frame| {
                let pieces: Vec<String> = frame
                    .to_lowercase()
                    .split(['{', '}'])
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 0)
                    .map(|(_, p)| p.trim().to_owned())
                    .filter(|p| p.len() > 3)
                    .collect();
                (frame, pieces)
            })
            .filter(|(_, pieces)| !pieces.is_empty())
            .collect()
    })
}

/// The frame `sentence` was made from, when it was made from one of the writer's frames (an answer's, or
/// a post's from its topic packs): the frame whose fixed words it contains in order with only slot
/// values between them (what a reader notices repeating).
pub fn frame_of(sentence: &str) -> Option<&'static str> {
    let text = sentence.to_lowercase();
    frame_pieces()
        .iter()
        .find(|(_, pieces)| {
            let mut from = 0;
            pieces.iter().all(|piece| match text[from..].find(piece.as_str()) {
                Some(at) => {
                    from += at + piece.len();
                    true
                }
                None => false,
            })
        })
        .map(|(frame, _)| *frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noun_phrases_follow_determiners_and_stop_at_verbs() {
        let found: Vec<String> = noun_phrases(
            "Why does my stir-fry end up soggy? I use a non-stick pan on the highest setting, \
             and two lower leaves went yellow this week.",
        )
        .into_iter()
        .map(|s| s.words)
        .collect();
        assert_eq!(found, ["stir-fry", "non-stick pan", "highest setting", "lower leaves"]);
        assert!(noun_phrases("Why does my stir-fry end up soggy?")[0].theirs, "theirs: my");
    }

    #[test]
    fn numbers_come_with_what_they_count() {
        assert_eq!(
            number_phrases("Bake at 230 degrees for 3 weeks, 75% hydration, 2 of them."),
            ["230 degrees", "3 weeks", "75%"]
        );
    }

    #[test]
    fn a_sentence_is_traced_to_its_frame() {
        assert_eq!(
            frame_of("Yeah, the wok really did change things for me."),
            Some("the {s} really did change things for me")
        );
        assert_eq!(frame_of("Something else entirely."), None);
    }
}
