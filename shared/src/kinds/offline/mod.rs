//! The offline writer's text. It is **not a language model**. An answer (a comment, a reply) talks
//! about the noun phrases of what it answers, in frames that carry no things of their own
//! ([`answer`]), takes the stance and length drawn for the task, and its manner from the persona's own
//! voice bank: how it starts when it agrees or pushes back, lowercase, exclamation marks, numbers. What
//! a persona writes on its own (a post, a caption) comes from topic packs (what people say about
//! cooking, bikes, homelabs, plants, books, photos, the outdoors, training), the pack picked from the
//! board and the persona's interests. Each kind asks a [`Writer`] for its answer's parts when the
//! offline provider is configured.

pub mod answer;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::context::{Author, BoardView, Scene};
use crate::persona::Persona;
use crate::trends;
use crate::voice::{self, Form, Length, Stance};
use answer::Subject;

/// What people say about one subject. `{t}` is a thing, `{a}` an action, `{n}` a number, `{p}` a
/// place, `{w}` a while ago.
struct Pack {
    /// Words that say a text is about this.
    keys: &'static [&'static str],
    things: &'static [&'static str],
    actions: &'static [&'static str],
    places: &'static [&'static str],
    /// Things a person claims.
    claims: &'static [&'static str],
    /// Things that happened to them.
    stories: &'static [&'static str],
    /// Jokes.
    jokes: &'static [&'static str],
    /// What a photo of it shows.
    photos: &'static [&'static str],
}

const PACKS: &[Pack] = &[
    Pack {
        keys: &[
            "cook", "recipe", "pan", "fry", "soup", "lentil", "garlic", "knife", "kitchen", "dinner", "rice", "stir",
            "meal",
        ],
        things: &[
            "the pan",
            "the garlic",
            "a carbon steel pan",
            "the stock",
            "the onions",
            "the rice",
            "a cheap chef's knife",
            "the oven",
            "the lid",
            "the oil",
            "a wooden spoon",
            "the burner",
            "the salt",
            "the lentils",
            "a cast iron skillet",
        ],
        actions: &[
            "cook in two batches",
            "let the pan heat up properly",
            "salt it at the end",
            "dry everything first",
            "turn the heat down a notch",
            "stop stirring so much",
            "use less water",
            "leave the lid off",
            "rest it for ten minutes",
            "add the garlic last",
        ],
        places: &[
            "at my mum's",
            "in my first flat",
            "at the restaurant",
            "on a camping stove",
            "at my sister's",
            "in a rental kitchen",
        ],
        claims: &[
            "it comes down to {t} more than the recipe",
            "most of it is heat and patience",
            "you can {a} and skip half the fuss",
            "the problem was {t} all along",
            "nobody needs a fancy version of {t}",
            "it's almost always the heat, not {t}",
        ],
        stories: &[
            "{w} I tried to {a} and it finally worked",
            "{w} I ruined a whole dinner because of {t}",
            "{w} I cooked this {p} and it came out better than at home",
            "I learned to {a} {p}, mostly by getting it wrong",
        ],
        jokes: &[
            "my smoke alarm has opinions about {t}",
            "I've made this so many times I could do {t} blind",
            "I am no longer on speaking terms with {t}",
            "the recipe said ten minutes, the recipe lied",
        ],
        photos: &[
            "a bowl of lentil soup on a wooden table, window light",
            "a carbon steel pan with golden fried rice, seen from above",
            "fresh bread cooling on a wire rack in a small kitchen",
            "chopped vegetables on a worn cutting board, morning light",
        ],
    },
    Pack {
        keys: &["bread", "dough", "starter", "sourdough", "bake", "crust", "hydration", "loaf", "ferment"],
        things: &[
            "the starter",
            "the dough",
            "the crust",
            "the crumb",
            "the banneton",
            "the Dutch oven",
            "the levain",
            "the flour",
            "the bulk ferment",
            "the fridge proof",
        ],
        actions: &[
            "give it another hour of bulk",
            "shape it tighter",
            "lower the hydration a bit",
            "feed the starter twice",
            "bake it longer with the lid off",
            "proof it in the fridge overnight",
            "use warmer water",
            "score it deeper",
        ],
        places: &[
            "on top of the fridge",
            "in a cold kitchen",
            "at my gran's",
            "in the oven with the light on",
            "at a friend's bakery",
        ],
        claims: &[
            "watch {t}, not the clock",
            "most problems are a cold kitchen",
            "you can {a} and it mostly sorts itself out",
            "most people go wrong at {t}",
        ],
        stories: &[
            "{w} I forgot {t} for a day and it was the best loaf I'd made",
            "{w} my starter died and I had to {a} to get a new one going",
            "{w} I baked {p} and {t} behaved completely differently",
        ],
        jokes: &[
            "I spend more evenings with {t} than with friends",
            "I named my starter and now I can't throw it out",
            "my notebook of bakes is longer than any novel I've read",
        ],
        photos: &[
            "a sourdough loaf with an open ear on a cooling rack",
            "a jar of bubbly starter on a kitchen counter",
            "flour-dusted hands shaping dough on a wooden board",
        ],
    },
    Pack {
        keys: &["bike", "cycl", "commut", "ride", "chain", "brake", "lane", "saddle", "tyre", "tire", "wheel"],
        things: &[
            "the chain",
            "the brakes",
            "a decent lock",
            "the rear light",
            "the tyres",
            "mudguards",
            "the saddle",
            "the cassette",
            "the headset",
            "panniers",
        ],
        actions: &[
            "check the tyre pressure weekly",
            "clean the chain once a month",
            "ride a bit further from the parked cars",
            "swap the brake pads",
            "lower the saddle a touch",
            "take the quieter route",
            "fit mudguards",
            "lube the chain after rain",
        ],
        places: &[
            "on the canal path",
            "in the bike lane",
            "on my commute",
            "on the big roundabout",
            "in the rain",
            "on the hill by the station",
            "in the bike shed at work",
        ],
        claims: &[
            "I'd spend money on {t} before a new bike",
            "most of it is route choice",
            "you can {a} and skip half the problems",
            "what wears out first is {t}",
        ],
        stories: &[
            "{w} I got a flat {p} and had to walk the rest",
            "{w} I started to {a} and it changed the whole ride",
            "{w} someone stole {t} {p} so now I carry two locks",
        ],
        jokes: &[
            "the headwind is personal at this point",
            "I have been through a lot with {t}",
            "my spreadsheet knows more about my legs than my doctor does",
        ],
        photos: &[
            "a commuter bike leaning on a brick wall after rain",
            "a quiet bike lane along a canal at dawn",
            "a bicycle chain and tools laid out on a garage bench",
        ],
    },
    Pack {
        keys: &[
            "homelab",
            "server",
            "linux",
            "backup",
            "proxmox",
            "docker",
            "network",
            "router",
            "security",
            "vpn",
            "nas",
            "rack",
            "self-host",
        ],
        things: &[
            "the NAS",
            "the backups",
            "the firewall",
            "a second box",
            "the UPS",
            "the router",
            "WireGuard",
            "the admin panel",
            "Proxmox",
            "the old laptop",
            "the switch",
            "the restore",
        ],
        actions: &[
            "test a restore",
            "put it behind a VPN",
            "keep it boring",
            "turn off what you don't use",
            "write the steps down",
            "label the cables",
            "update it on a schedule",
            "move the backups off site",
        ],
        places: &[
            "in the laundry room",
            "in a cupboard",
            "under the desk",
            "at my parents' house",
            "on a shelf in the hallway",
        ],
        claims: &[
            "the part people skip is {t}",
            "boring setups survive",
            "you can {a} and sleep better",
            "the weak spot is {t}",
        ],
        stories: &[
            "{w} I lost a weekend because of {t}",
            "{w} I started to {a} and it saved me twice already",
            "{w} {t} died {p} and nothing noticed for a week",
        ],
        jokes: &[
            "my power bill is a hobby now",
            "my uptime is worse than the uptime of {t}",
            "I have three backups of things nobody needs",
        ],
        photos: &[
            "a small server rack in a laundry room with blinking lights",
            "a tidy shelf of mini PCs and a network switch",
        ],
    },
    Pack {
        keys: &[
            "plant", "leaf", "leaves", "water", "soil", "pot", "fern", "garden", "propagat", "balcony", "root", "moss",
        ],
        things: &[
            "the soil",
            "the pot",
            "the light",
            "the watering can",
            "the roots",
            "the drainage",
            "the window",
            "the cutting",
            "the humidity",
            "the fern",
        ],
        actions: &[
            "water less often",
            "move it closer to the window",
            "repot it in spring",
            "let it dry out between waterings",
            "put a saucer of pebbles under it",
            "check the roots",
            "cut it back a bit",
            "wait before doing anything",
        ],
        places: &[
            "on a north-facing balcony",
            "on the kitchen windowsill",
            "in the bathroom",
            "at my gran's",
            "in the hallway",
        ],
        claims: &[
            "the answer is usually {t}",
            "most plants die of kindness",
            "you can {a} and it'll bounce back",
            "I'd look at {t} before any fertiliser",
        ],
        stories: &[
            "{w} I nearly lost one because of {t}",
            "{w} I started to {a} and the new leaves came in",
            "{w} I kept one {p} and it did better than all the others",
        ],
        jokes: &[
            "I talk to mine and they still sulk",
            "forty plants and not one of them trusts me",
            "I have lost every argument with {t} so far",
        ],
        photos: &[
            "a fern on a north-facing balcony in soft morning light",
            "cuttings rooting in jars on a kitchen windowsill",
            "moss on a fallen log in a damp forest",
        ],
    },
    Pack {
        keys: &["book", "read", "novel", "author", "chapter", "fantasy", "fiction", "series", "ending", "library"],
        things: &[
            "the ending",
            "the middle",
            "the second book",
            "the magic system",
            "the narrator",
            "the first chapter",
            "the villain",
            "the translation",
            "the audiobook",
        ],
        actions: &[
            "give it fifty pages",
            "read it slowly",
            "skip the prologue",
            "reread the first chapter",
            "read it in one sitting",
            "try the audiobook",
        ],
        places: &["on the train", "in bed", "on holiday", "in the library", "on my lunch break"],
        claims: &[
            "what makes it for me is {t}",
            "it rewards patience",
            "you can {a} and it opens up",
            "people are too hard on {t}",
        ],
        stories: &[
            "{w} I read it {p} and missed my stop",
            "{w} I tried to {a} and finally got it",
            "{w} I lent it to a friend and never got it back",
        ],
        jokes: &[
            "my to-read pile is structural at this point",
            "I said one more chapter and it was three in the morning",
            "I still think about {t} weekly",
        ],
        photos: &["a stack of worn paperbacks on a windowsill", "an open book and a cup of tea on a train table"],
    },
    Pack {
        keys: &["photo", "light", "lens", "camera", "shot", "street", "film", "frame", "exposure"],
        things: &[
            "the light",
            "a 35 mm lens",
            "the shadows",
            "the composition",
            "the colours",
            "the white balance",
            "the background",
            "the exposure",
        ],
        actions: &[
            "wait for someone to walk into the light",
            "underexpose a little",
            "go back at another hour",
            "get lower",
            "shoot the same corner every day",
            "leave more space around it",
        ],
        places: &["at blue hour", "on the same six blocks", "by the river", "in the market", "at the station at dawn"],
        claims: &[
            "the work here is done by {t}",
            "patience beats gear",
            "you can {a} and it changes everything",
            "the whole picture is {t}",
        ],
        stories: &[
            "{w} I waited an hour {p} for one frame",
            "{w} I started to {a} and my keepers doubled",
            "{w} I shot {p} with only {t} and liked it better",
        ],
        jokes: &[
            "my camera roll is ninety percent the same street",
            "I have more photos of puddles than of people I love",
        ],
        photos: &[
            "a quiet street after rain with reflections at blue hour",
            "morning light falling across a narrow alley",
            "fog over a canal with a single cyclist",
        ],
    },
    Pack {
        keys: &["hike", "trail", "mountain", "forest", "walk", "nature", "outdoor", "summit"],
        things: &["the trail", "the boots", "the map", "the weather", "the water", "the layers", "the last mile"],
        actions: &[
            "start earlier",
            "pack one more layer",
            "check the weather twice",
            "take the long loop",
            "go midweek",
        ],
        places: &["on the ridge", "past the second bridge", "in the rain", "at the trailhead", "by the lake"],
        claims: &["what makes or breaks it is {t}", "going slow is underrated", "you can {a} and have it to yourself"],
        stories: &[
            "{w} I got caught out {p} and learned my lesson",
            "{w} I started to {a} and it was a different hike",
        ],
        jokes: &["my boots have seen more than my passport", "the view was worth the knees, mostly"],
        photos: &["a misty forest trail with ferns after rain", "a lake at dawn seen from a rocky ridge"],
    },
    Pack {
        keys: &["meal prep", "protein", "gym", "training", "fitness", "workout", "lunches"],
        things: &["the rice cooker", "meal prep", "the chicken thighs", "the containers", "Sunday prep", "the sauce"],
        actions: &[
            "prep on Sunday",
            "freeze the sauce in portions",
            "double the batch",
            "keep it simple",
            "cook the rice in bulk",
        ],
        places: &["on a Sunday", "before work", "after training", "in a tiny kitchen"],
        claims: &[
            "the whole week gets saved by {t}",
            "consistency beats clever recipes",
            "you can {a} and be done in an hour",
        ],
        stories: &[
            "{w} I started to {a} and stopped buying lunch",
            "{w} I tried to prep {p} and ran out of containers",
        ],
        jokes: &["my freezer is ninety percent sauce cubes", "I ranked rice cookers and I'm not sorry"],
        photos: &["a row of meal prep containers with rice and vegetables on a counter"],
    },
];

const GENERAL: Pack = Pack {
    keys: &[],
    things: &["the first step", "the cheap option", "the basics", "the instructions", "the timing", "the setup"],
    actions: &[
        "start smaller",
        "change one thing at a time",
        "write it down",
        "give it another week",
        "ask someone who has done it",
    ],
    places: &["at home", "at work", "last summer", "on a weekend"],
    claims: &["I'd not underestimate {t}", "slow and boring usually wins", "you can {a} and save yourself the trouble"],
    stories: &["{w} I tried to {a} and it worked better than expected", "{w} I skipped {t} and paid for it"],
    jokes: &[
        "I've made every mistake in the book, some twice",
        "past me had no idea what he was doing, present me is not much better",
    ],
    photos: &["a quiet street after rain", "a cup of coffee on a windowsill in morning light"],
};

const WHILE_AGO: &[&str] = &[
    "Last week",
    "Yesterday",
    "A couple of years ago",
    "Last winter",
    "Over the summer",
    "The other day",
    "Years ago",
    "Last month",
    "On Sunday",
    "Back in 2019",
    "This morning",
    "Two weekends ago",
    "In March",
    "When I started out",
    "Last autumn",
    "A while back",
];
/// How an answer that agrees starts, when the persona's own writing shows no way of its own.
const AGREE_LEADS: &[&str] =
    &["Yeah,", "Same here,", "Agreed,", "Pretty much,", "Yep,", "Exactly,", "True,", "Ha, same,", ""];
/// How one that pushes back starts.
const DISAGREE_LEADS: &[&str] = &[
    "I'm not so sure,",
    "I'd push back a bit,",
    "Hm, not in my experience,",
    "I see it differently,",
    "Respectfully, no,",
    "Not convinced,",
    "Eh,",
    "Counterpoint:",
];
/// Put before a line that has no slot of its own, so a day of them does not repeat word for word.
const SOFT: &[&str] = &[
    "Honestly,",
    "I swear",
    "Not going to lie,",
    "Ha,",
    "Well,",
    "To be fair,",
    "Mind you,",
    "Thing is,",
    "In the end,",
    "Funny enough,",
    "Truth is,",
];

/// Put after a line now and then, for the same reason.
const TAILS: &[&str] = &[
    ", at least for me",
    ", in my experience",
    ", for what it's worth",
    ", if you ask me",
    ", mostly",
    " these days",
    ", as far as I can tell",
];
/// Put before a question now and then.
const ASKING: &[&str] = &["Out of interest,", "Genuinely curious,", "So", "Quick one:", "Wait,", "Serious question,"];

/// Questions a post asks (its title, or the end of its body).
const POST_QUESTIONS: &[&str] = &[
    "how do you handle {t}",
    "what do you do about {t}",
    "how long before you could {a}",
    "is it worth it to {a}",
    "anyone else struggle with {t}",
    "do you {a}",
    "what's the trick with {t}",
    "should I {a} or leave it",
];
/// How a post starts when it says what the persona thinks (a post answers nobody).
const POST_OPINIONS: &[&str] = &[
    "I stopped worrying about {t} and nothing changed",
    "whatever the guides say, I'd rather {a}",
    "people make far too much of {t}",
    "I've come round to thinking you don't need to {a}",
];
/// A dated story: a text tells at most one.
const STORY_LINES: &[&str] = &[
    "{w} I tried to {a} and it worked better than I expected",
    "{w} I forgot to {a} and regretted it",
    "{w} I finally learned to {a}, {p} of all places",
    "{w} a friend showed me how to {a}",
    "{w} I spent a whole afternoon on {t} {p}",
    "{w} I swapped out {t} and never looked back",
];
const JOKE_LINES: &[&str] = &[
    "I have a complicated relationship with {t}",
    "I have lost to {t} more times than I'd like to admit",
    "at this point {t} should pay rent",
    "my partner has banned me from talking about {t} at dinner",
];
/// What follows a first sentence: reasons, consequences, details, never a second date.
const FOLLOW_LINES: &[&str] = &[
    "since then I always {a}",
    "the trick for me was to {a}",
    "{t} made more difference than anything I bought",
    "now I just {a} and stop worrying about it",
    "people skip {t} and then wonder why",
    "it sounds fussy, but now I always {a}",
    "if I had to pick one thing, {a}",
    "where it usually goes wrong is {t}",
    "I'd check {t} before changing anything else",
    "I only figured that out {p}",
    "it was the same story {p}",
    "I used to ignore {t} completely",
    "nobody told me to {a} when I started",
    "it's less about {t} than people think",
    "the second time I tried to {a}, it went fine",
    "I ended up having to {a} anyway",
    "half of what you read about {t} is noise",
    "the last thing I suspected was {t}",
];
/// With numbers, for personas who write in them.
const DETAIL_LINES: &[&str] = &[
    "took me about {n} tries to get {t} right",
    "I've done it maybe {n} times now and {t} still surprises me",
    "it's been {n} weeks since I started to {a}",
    "{n} minutes with {t} saves me an hour later",
];
/// A short last sentence.
const CODA_LINES: &[&str] = &[
    "worth it for {t} alone",
    "still annoyed about {t}, honestly",
    "anyway, {a} and see",
    "I'd {a} first and go from there",
    "that's the whole secret, {a}",
    "{t}, every time",
];
/// Words people start with that say which way they lean, as found in a persona's own writing.
const LEANS_AGREE: &[&str] = &["yes", "yeah", "yep", "same", "nice", "agreed", "honestly", "ok", "okay", "ha", "lol"];
const LEANS_DISAGREE: &[&str] = &["no", "nah", "disagree", "gently", "hm", "hmm", "eh", "counterpoint"];

fn pick<'a>(rng: &mut ChaCha8Rng, options: &'a [&'a str]) -> &'a str {
    options.choose(rng).copied().unwrap_or_default()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// `s` with its first letter in lower case, unless it is the word "I" or a name.
fn decapitalise(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or_default();
    if s.starts_with("I ") || s.starts_with("I'") || first_word.chars().skip(1).any(char::is_uppercase) {
        return s.to_owned();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The manner the persona writes in, read from its voice bank and its rules.
#[derive(Default)]
struct Manner {
    lowercase: bool,
    exclaims: bool,
    numbers: bool,
    /// How its own texts start when it agrees ("Honestly", "Same") or pushes back ("No.", "Gently,").
    agree_leads: Vec<String>,
    disagree_leads: Vec<String>,
    /// Its own sentences, to say again now and then where they fit the subject.
    sentences: Vec<String>,
}

fn manner_of(persona: &Persona) -> Manner {
    let bank = persona.voice_bank.join(" ");
    let letters: Vec<char> = persona.voice_bank.iter().filter_map(|t| t.chars().next()).collect();
    let rules = format!("{} {}", persona.voice, persona.modules.join(" ")).to_lowercase();
    let mut manner = Manner {
        lowercase: !letters.is_empty() && letters.iter().filter(|c| c.is_lowercase()).count() * 2 > letters.len(),
        exclaims: bank.contains('!') && !rules.contains("never uses exclamation"),
        numbers: bank.chars().filter(char::is_ascii_digit).count() >= 4
            || ["number", "figure", "quantit", "temperature", "distance", "estimate"].iter().any(|w| rules.contains(w)),
        ..Manner::default()
    };
    for text in &persona.voice_bank {
        // A lead is the text's first word or two, up to a comma, colon or full stop.
        let Some(end) = text.find([',', ':', '.']) else { continue };
        let head = &text[..end];
        let word = head.to_lowercase();
        if head.split_whitespace().count() > 2 {
            continue;
        }
        // "No." and "Nice." lead into the sentence: "No, I'd rather ...".
        let mark = if &text[end..=end] == ":" { ":" } else { "," };
        let lead = format!("{head}{mark}");
        let first = word.split_whitespace().next().unwrap_or_default();
        if LEANS_DISAGREE.contains(&first) {
            manner.disagree_leads.push(lead);
        } else if LEANS_AGREE.contains(&first) {
            manner.agree_leads.push(lead);
        }
    }
    manner.sentences = persona
        .voice_bank
        .iter()
        .flat_map(|t| t.split_inclusive(['.', '?', '!']))
        .map(str::trim)
        .filter(|s| s.split_whitespace().count() >= 4 && s.len() <= 140 && s.ends_with('.'))
        .map(str::to_owned)
        .collect();
    manner
}

/// What the offline writer knows about one request: who writes, what it looks at, the topic pack, what
/// the text is about, and a seeded RNG.
pub struct Writer<'a> {
    rng: ChaCha8Rng,
    persona: Option<&'a Persona>,
    scene: Option<&'a Scene>,
    /// Topics when there is no scene (the simulator's people).
    topics: Vec<String>,
    pack: &'static Pack,
    manner: Manner,
    /// The thing in the pack the text keeps coming back to: one the scene mentions when there is one.
    focus: &'static str,
    /// Things the scene mentions.
    mentioned: Vec<&'static str>,
    used: Vec<&'static str>,
    /// What an answer may talk about: the noun phrases of what it answers first, then of the rest of
    /// the scene; the board's topics and the persona's interests when those have none.
    subjects: Vec<Subject>,
    /// The numbers with their units in what it answers.
    numbers: Vec<String>,
    /// The persona's interests.
    interests: Vec<String>,
    /// The things this writer's answers leaned on, as filled in.
    leaned_on: Vec<String>,
    /// The answer frames of what is already said in the scene: a thread does not hear one twice.
    heard: Vec<&'static str>,
    /// This text told its dated story, got its lead-in, got its tail: once each is enough.
    dated: bool,
    softened: bool,
    tailed: bool,
}

/// The pack for what `texts` say on a board about `topics`: a pack the board is about starts three
/// words ahead, so a book thread that mentions lunch stays a book thread, and a sourdough post on the
/// cooking board still talks about bread.
fn pack_for(texts: &[&str], topics: &str) -> Option<&'static Pack> {
    let text = texts.join(" ").to_lowercase();
    let topics = topics.to_lowercase();
    let hits = |p: &Pack, within: &str| p.keys.iter().filter(|k| within.contains(*k)).count();
    PACKS
        .iter()
        .map(|p| (hits(p, &text) + if hits(p, &topics) > 0 { 3 } else { 0 }, p))
        .filter(|(score, _)| *score > 0)
        .max_by_key(|(score, _)| *score)
        .map(|(_, p)| p)
}

/// The pack's things the texts mention (by their last word: "a carbon steel pan" by "pan").
fn mentioned(pack: &'static Pack, texts: &[&str]) -> Vec<&'static str> {
    let words: Vec<String> = texts
        .iter()
        .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect();
    pack.things
        .iter()
        .copied()
        .filter(|t| t.split_whitespace().last().is_some_and(|w| words.iter().any(|x| *x == w.to_lowercase())))
        .collect()
}

impl<'a> Writer<'a> {
    /// A writer for `kind` by `persona` looking at `scene`; the same seed gives the same text.
    pub fn new(kind: &str, persona: &'a Persona, scene: &'a Scene, seed: u64) -> Self {
        let id_bytes = |id: Option<uuid::Uuid>| id.map(|id| id.as_bytes().to_vec()).unwrap_or_default();
        let rng = ChaCha8Rng::seed_from_u64(crate::stable::hash(&[
            &seed.to_le_bytes(),
            persona.id.as_bytes(),
            &id_bytes(scene.post().map(|p| p.id)),
            &id_bytes(scene.comment().map(|c| c.id)),
            &id_bytes(scene.board().map(|b| b.id)),
            kind.as_bytes(),
        ]));
        // What the scene is about decides the pack; the board's topics, then the persona's interests,
        // break ties and fill in.
        let mut about: Vec<&str> = Vec::new();
        if let Some(post) = scene.post() {
            about.push(&post.title);
            about.push(&post.body);
        }
        if let Some(comment) = scene.comment() {
            about.push(&comment.body);
        }
        let topics =
            scene.board().map(|b| b.topics.join(" ")).or_else(|| scene.post().map(|p| p.board_topics.join(" ")));
        let interests = persona.interests.join(" ");
        let pack = pack_for(&about, topics.as_deref().unwrap_or_default())
            .or_else(|| pack_for(&[&interests], ""))
            .unwrap_or(&GENERAL);
        let mut writer = Self::build(rng, Some(persona), Some(scene), Vec::new(), pack, &about, manner_of(persona));
        // What it answers first (the comment, else the post), then the rest of what it sees.
        let mut answered: Vec<&str> = Vec::new();
        let mut around: Vec<&str> = Vec::new();
        match scene {
            Scene::Thread(t) => {
                answered.push(&t.target.body);
                around.extend([t.post.title.as_str(), t.post.body.as_str()]);
                around.extend(t.ancestors.iter().chain(&t.siblings).map(|c| c.body.as_str()));
            }
            Scene::Post(p) => {
                answered.extend([p.post.title.as_str(), p.post.body.as_str()]);
                around.extend(p.comments.iter().chain(&p.replies).map(|c| c.body.as_str()));
            }
            _ => {}
        }
        let board_topics = scene.post().map(|p| p.board_topics.clone()).unwrap_or_default();
        writer.learn_subjects(&answered, &around, &board_topics);
        writer
    }

    /// A writer for a person (not a persona) answering `about` on a board with `topics`: the simulator's
    /// people, who write plainly.
    pub fn for_person(person: uuid::Uuid, about: &[&str], topics: &[String], seed: u64) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(crate::stable::hash(&[&seed.to_le_bytes(), person.as_bytes()]));
        let pack = pack_for(about, &topics.join(" ")).unwrap_or(&GENERAL);
        let mut writer = Self::build(rng, None, None, topics.to_vec(), pack, about, Manner::default());
        let (answered, around) = about.split_at(about.len().min(1));
        writer.learn_subjects(answered, around, topics);
        writer
    }

    fn build(
        mut rng: ChaCha8Rng,
        persona: Option<&'a Persona>,
        scene: Option<&'a Scene>,
        topics: Vec<String>,
        pack: &'static Pack,
        about: &[&str],
        manner: Manner,
    ) -> Self {
        let mentioned = mentioned(pack, about);
        let focus = match mentioned.choose(&mut rng) {
            Some(thing) if rng.random::<f64>() < 0.7 => thing,
            _ => pick(&mut rng, pack.things),
        };
        Self {
            rng,
            persona,
            scene,
            topics,
            pack,
            manner,
            focus,
            mentioned,
            used: Vec::new(),
            subjects: Vec::new(),
            numbers: Vec::new(),
            interests: persona.map(|p| p.interests.clone()).unwrap_or_default(),
            leaned_on: Vec::new(),
            heard: Vec::new(),
            dated: false,
            softened: false,
            tailed: false,
        }
    }

    /// An answer of `length` taking `stance`.
    pub fn text(&mut self, length: Length, stance: Stance) -> String {
        self.answer(length, stance)
    }

    /// The things this writer's answers leaned on, as it filled them in: each from what it answered,
    /// the rest of the scene, the board's topics or the persona's interests.
    pub fn leaned_on(&self) -> &[String] {
        &self.leaned_on
    }

    fn learn_subjects(&mut self, answered: &[&str], around: &[&str], topics: &[String]) {
        let mut subjects: Vec<Subject> = answered.iter().flat_map(|t| answer::noun_phrases(t)).collect();
        for subject in around.iter().flat_map(|t| answer::noun_phrases(t)) {
            if !subjects.iter().any(|s| s.words.eq_ignore_ascii_case(&subject.words)) {
                // Only what the one answered said is theirs.
                subjects.push(Subject { theirs: false, ..subject });
            }
        }
        if subjects.is_empty() {
            let fallback = topics.iter().chain(&self.interests).filter(|t| !t.trim().is_empty());
            subjects.extend(fallback.map(|t| Subject { words: t.trim().to_owned(), theirs: false }));
        }
        self.subjects = subjects;
        self.numbers = answered.iter().flat_map(|t| answer::number_phrases(t)).collect();
        self.heard = answered
            .iter()
            .chain(around)
            .flat_map(|t| crate::audit::sentences(t))
            .filter_map(|sentence| answer::frame_of(&sentence))
            .collect();
    }

    /// A subject for `{s}`: mostly the first thing the answered text names, sometimes another of the
    /// first few, none a third time while another is left; never `not`.
    fn subject(&mut self, not: Option<&str>) -> Option<Subject> {
        let times = |s: &Subject| self.leaned_on.iter().filter(|l| l.eq_ignore_ascii_case(&s.words)).count();
        let allowed: Vec<&Subject> =
            self.subjects.iter().take(5).filter(|s| not.is_none_or(|n| !s.words.eq_ignore_ascii_case(n))).collect();
        let fresh: Vec<&Subject> = allowed.iter().copied().filter(|s| times(s) < 2).collect();
        let candidates = if fresh.is_empty() { allowed } else { fresh };
        let first = candidates.first().copied()?;
        let chosen = if self.rng.random::<f64>() < 0.55 { first } else { candidates.choose(&mut self.rng).copied()? };
        Some(chosen.clone())
    }

    /// `frame` filled, or `None` when this answer has nothing for one of its slots.
    fn fill_answer(&mut self, frame: &str) -> Option<String> {
        let s = if frame.contains("{s}") { Some(self.subject(None)?) } else { None };
        let s2 = if frame.contains("{s2}") { Some(self.subject(s.as_ref().map(|s| s.words.as_str()))?) } else { None };
        if s2.is_some() && s2 == s {
            return None;
        }
        let n = if frame.contains("{n}") { Some(self.numbers.choose(&mut self.rng)?.clone()) } else { None };
        let i = if frame.contains("{i}") { Some(self.interests.choose(&mut self.rng)?.clone()) } else { None };
        let mut text = frame.to_owned();
        for (slot, subject) in [("{s}", &s), ("{s2}", &s2)] {
            if let Some(subject) = subject {
                if subject.theirs {
                    text = text.replace(&format!("the {slot}"), &format!("your {slot}"));
                }
                text = text.replace(slot, &subject.words);
                self.leaned_on.push(subject.words.clone());
            }
        }
        if let Some(n) = n {
            text = text.replace("{n}", &n);
            self.leaned_on.push(n);
        }
        if let Some(i) = i {
            text = text.replace("{i}", &i);
            self.leaned_on.push(i);
        }
        if text.contains("{w}") {
            self.dated = true;
            text = text.replace("{w}", pick(&mut self.rng, WHILE_AGO));
        }
        Some(collapse_doubled_words(&text))
    }

    /// A frame from `frames` this answer can fill and has not used, filled.
    fn answer_line(&mut self, frames: &'static [&'static str]) -> Option<String> {
        for _ in 0..12 {
            let frame = pick(&mut self.rng, frames);
            if self.used.contains(&frame) || self.heard.contains(&frame) || (self.dated && frame.contains("{w}")) {
                continue;
            }
            if let Some(text) = self.fill_answer(frame) {
                self.used.push(frame);
                return Some(text);
            }
        }
        None
    }

    /// A question about what it answers; a plain one when that names nothing.
    fn question(&mut self) -> String {
        self.answer_line(answer::QUESTIONS)
            .or_else(|| self.answer_line(answer::PLAIN_QUESTIONS))
            .unwrap_or_else(|| "what happened next".into())
    }

    /// An answer: the stance first (a question last, after its context), then what carries it on, now
    /// and then a short last word; the persona's own way of agreeing or pushing back in front.
    fn answer(&mut self, length: Length, stance: Stance) -> String {
        let (lo, hi) = length.sentences();
        let count = self.rng.random_range(lo..=hi);
        let mut sentences: Vec<String> = Vec::new();
        let asks_last = stance == Stance::Question && count > 1;
        if !asks_last {
            let first = match stance {
                Stance::Agree => self.answer_line(answer::AGREE).map(|t| {
                    let lead = self.lead(&self.manner.agree_leads.clone(), AGREE_LEADS);
                    if lead.is_empty() { t } else { format!("{lead} {}", decapitalise(&t)) }
                }),
                Stance::Disagree => self.answer_line(answer::DISAGREE).map(|t| {
                    let lead = self.lead(&self.manner.disagree_leads.clone(), DISAGREE_LEADS);
                    format!("{lead} {}", decapitalise(&t))
                }),
                Stance::Joke => self.answer_line(answer::JOKES),
                Stance::Tangent => self.answer_line(answer::TANGENTS),
                Stance::Story => self.answer_line(answer::STORIES),
                Stance::Question => Some(self.question()),
            };
            let first = first.or_else(|| self.answer_line(answer::FOLLOWS)).unwrap_or_else(|| "fair enough".into());
            sentences.push(self.finish(&first, stance == Stance::Question));
        }
        let mut tries = 0;
        while sentences.len() + usize::from(asks_last) < count && tries < 20 {
            tries += 1;
            let last = sentences.len() + 1 == count;
            let roll = self.rng.random::<f64>();
            let next = if last && count >= 3 && roll < 0.3 {
                self.answer_line(answer::CODAS)
            } else if roll < 0.2 && self.manner.numbers && !self.numbers.is_empty() {
                self.answer_line(answer::NUMBERS)
            } else if roll < 0.35 && !self.dated {
                self.answer_line(answer::STORIES)
            } else {
                self.answer_line(answer::FOLLOWS).map(|t| self.vary(&t))
            };
            let Some(next) = next else { continue };
            let next = self.finish(&next, false);
            if !sentences.contains(&next) {
                sentences.push(next);
            }
        }
        if asks_last {
            let question = self.question();
            sentences.push(self.finish(&question, true));
        }
        sentences.join(" ")
    }

    /// A sentence now and then given a lead-in or a tail (one of each per text at most), so the same
    /// frame reads differently from one text to the next.
    fn vary(&mut self, text: &str) -> String {
        let roll = self.rng.random::<f64>();
        if !self.softened && roll < 0.3 {
            self.softened = true;
            return format!("{} {}", pick(&mut self.rng, SOFT), decapitalise(text));
        }
        if !self.tailed && roll > 0.7 {
            self.tailed = true;
            return format!("{text}{}", pick(&mut self.rng, TAILS));
        }
        text.to_owned()
    }

    /// A thing for a `{t}` slot: mostly the text's focus, sometimes another the scene mentions or any.
    fn thing(&mut self) -> &'static str {
        let roll = self.rng.random::<f64>();
        if roll < 0.45 {
            self.focus
        } else if roll < 0.75
            && let Some(t) = self.mentioned.choose(&mut self.rng)
        {
            t
        } else {
            pick(&mut self.rng, self.pack.things)
        }
    }

    fn fill(&mut self, template: &str, lead: &str) -> String {
        let mut out = String::with_capacity(template.len() + 40);
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let Some(len) = rest[i..].find('}') else { break };
            let value = match &rest[i + 1..i + len] {
                "t" => self.thing().to_owned(),
                "a" => pick(&mut self.rng, self.pack.actions).to_owned(),
                "p" => pick(&mut self.rng, self.pack.places).to_owned(),
                "w" => {
                    self.dated = true;
                    pick(&mut self.rng, WHILE_AGO).to_owned()
                }
                "lead" => lead.to_owned(),
                "n" => self.rng.random_range(3..40).to_string(),
                _ => String::new(),
            };
            out.push_str(&value);
            rest = &rest[i + len + 1..];
        }
        out.push_str(rest);
        // An empty lead leaves a space at the start; a slot value never doubles a word, but a template
        // and its value can ("heat up properly properly").
        collapse_doubled_words(out.trim())
    }

    fn finish(&self, sentence: &str, question: bool) -> String {
        let s = sentence.trim().trim_end_matches(['.', ',', ':']);
        let s = if self.manner.lowercase { s.to_lowercase() } else { capitalise(s) };
        let end = if question {
            "?"
        } else if self.manner.exclaims && s.len() % 5 == 0 {
            "!"
        } else if self.manner.lowercase {
            ""
        } else {
            "."
        };
        format!("{s}{end}")
    }

    /// A template from `lines` or now and then the pack's `own`, never one used already in this text.
    fn line(&mut self, lines: &'static [&'static str], own: &'static [&'static str]) -> &'static str {
        for _ in 0..8 {
            let from_own = !own.is_empty() && self.rng.random::<f64>() < 0.35;
            let template = pick(&mut self.rng, if from_own { own } else { lines });
            let second_date = self.dated && template.contains("{w}");
            if !self.used.contains(&template) && !second_date {
                self.used.push(template);
                return template;
            }
        }
        pick(&mut self.rng, lines)
    }

    fn lead(&mut self, own: &[String], shared: &'static [&'static str]) -> String {
        // The persona's own way of starting, when its writing shows one, half the time.
        match own.choose(&mut self.rng) {
            Some(lead) if self.rng.random::<f64>() < 0.5 => lead.clone(),
            _ => pick(&mut self.rng, shared).to_owned(),
        }
    }

    /// A sentence from `template`. One with no slot of its own gets a varied lead-in (a text takes one
    /// at most, and one tail).
    fn say(&mut self, template: &'static str, lead: &str) -> String {
        let text = self.fill(template, lead);
        if !lead.is_empty() {
            return text;
        }
        let roll = self.rng.random::<f64>();
        if !self.softened && (!template.contains('{') || roll < 0.25) {
            self.softened = true;
            let soft = pick(&mut self.rng, SOFT);
            return format!("{soft} {}", decapitalise(&text));
        }
        if !self.tailed && (!template.contains('{') || roll > 0.6) {
            self.tailed = true;
            return format!("{text}{}", pick(&mut self.rng, TAILS));
        }
        text
    }

    /// A post's question; one with no slot of its own, or now and then any, gets a lead-in.
    fn ask(&mut self) -> String {
        let template = self.line(POST_QUESTIONS, &[]);
        let text = self.fill(template, "");
        if !template.contains('{') || self.rng.random::<f64>() < 0.25 {
            let lead = pick(&mut self.rng, ASKING);
            return format!("{lead} {}", decapitalise(&text));
        }
        text
    }

    /// The first sentence of what the persona writes on its own (a post, a caption): it answers nobody,
    /// so it states rather than agrees or pushes back.
    fn opening(&mut self, stance: Stance) -> (String, bool) {
        let pack = self.pack;
        match stance {
            Stance::Agree => {
                let template = self.line(pack.claims, FOLLOW_LINES);
                (self.say(template, ""), false)
            }
            Stance::Disagree => {
                let template = self.line(POST_OPINIONS, &[]);
                (self.fill(template, ""), false)
            }
            Stance::Tangent | Stance::Story => {
                let template = self.line(STORY_LINES, pack.stories);
                (self.fill(template, ""), false)
            }
            Stance::Joke => {
                let template = self.line(JOKE_LINES, pack.jokes);
                (self.say(template, ""), false)
            }
            Stance::Question => (self.ask(), true),
        }
    }

    /// A sentence that carries on: a reason, a detail, the persona's own words, at most one dated story.
    fn carry_on(&mut self) -> String {
        let pack = self.pack;
        let roll = self.rng.random::<f64>();
        // Rarely: said word for word too often, a persona's own line becomes a tic.
        if roll < 0.04 {
            let own = self.own_sentence();
            if let Some(own) = own {
                return own;
            }
        }
        if roll < 0.25 && self.manner.numbers {
            let template = self.line(DETAIL_LINES, &[]);
            return self.say(template, "");
        }
        if roll < 0.45 && !self.dated {
            let template = self.line(STORY_LINES, pack.stories);
            return self.fill(template, "");
        }
        let template = self.line(FOLLOW_LINES, pack.claims);
        self.say(template, "")
    }

    /// One of the persona's own sentences that is about what this text is about.
    fn own_sentence(&mut self) -> Option<String> {
        let pack = self.pack;
        let fitting: Vec<&String> = self
            .manner
            .sentences
            .iter()
            .filter(|s| {
                let s = s.to_lowercase();
                pack.keys.iter().any(|k| s.contains(k))
            })
            .collect();
        fitting.choose(&mut self.rng).map(|s| s.trim_end_matches(['.', '!']).to_owned())
    }

    /// Sentences for a post or caption of `length` that takes `stance`: the stance first (a question
    /// last), then what carries it on, now and then a short last word.
    fn body(&mut self, length: Length, stance: Stance) -> String {
        let (lo, hi) = length.sentences();
        let count = self.rng.random_range(lo..=hi);
        let mut sentences: Vec<String> = Vec::new();
        // A question with anything before it gives the context first.
        let asks_last = stance == Stance::Question && count > 1;
        if !asks_last {
            let (first, question) = self.opening(stance);
            sentences.push(self.finish(&first, question));
        }
        let mut tries = 0;
        while sentences.len() + usize::from(asks_last) < count && tries < 20 {
            tries += 1;
            let last = sentences.len() + 1 == count;
            let next = if last && count >= 3 && self.rng.random::<f64>() < 0.3 {
                let template = self.line(CODA_LINES, &[]);
                self.fill(template, "")
            } else {
                self.carry_on()
            };
            let next = self.finish(&next, false);
            if !sentences.contains(&next) {
                sentences.push(next);
            }
        }
        if asks_last {
            let question = self.ask();
            sentences.push(self.finish(&question, true));
        }
        sentences.join(" ")
    }

    /// A vote: up, down or none, by the persona's interest in what it sees.
    /// What is slight (a few words) is voted down now and then, and what the persona cares about
    /// sometimes, when it disagrees.
    pub fn vote(&mut self) -> &'static str {
        let topics = self.scene.and_then(|s| s.post()).map(|p| p.board_topics.clone()).unwrap_or_default();
        let overlap = self.persona.is_some_and(|p| p.interests.iter().any(|i| topics.contains(i)));
        let text = match self.scene {
            Some(Scene::Thread(thread)) => thread.target.body.clone(),
            Some(Scene::Post(post)) => format!("{} {}", post.post.title, post.post.body),
            _ => String::new(),
        };
        let slight = text.split_whitespace().count() < 6;
        let roll: f64 = self.rng.random();
        match (overlap, roll) {
            (_, r) if slight && r < 0.15 => "down",
            (true, r) if r < 0.72 => "up",
            (true, r) if r < 0.78 => "down",
            (true, _) => "none",
            (false, r) if r < 0.3 => "up",
            (false, r) if r < 0.42 => "down",
            _ => "none",
        }
    }

    /// Whether the persona lets a conversation rest: the deeper the thread, the likelier (a reply to a
    /// top-level comment is always written).
    pub fn lets_it_rest(&mut self) -> bool {
        let roll = self.rng.random::<f64>();
        let Some(comment) = self.scene.and_then(|s| s.comment()) else { return false };
        // A person is answered however deep the thread; exchanges between personas wind down.
        !matches!(comment.author, Author::Human { .. }) && roll < 0.12 * f64::from(comment.depth)
    }

    /// A comment's or a reply's body, as long and in the stance drawn for it.
    pub fn comment(&mut self, reply: bool, seed: u64) -> String {
        let Some(persona) = self.persona else { return self.answer(Length::Short, Stance::Agree) };
        let toward = match self.scene {
            Some(Scene::Thread(thread)) => thread.toward,
            Some(Scene::Post(post)) => post.toward,
            _ => 0,
        };
        let brief = voice::draw(persona, if reply { Form::Reply } else { Form::Comment }, toward, seed);
        let body = self.answer(brief.length, brief.stance);
        // Now and then a reply names whom it answers, when their name is known.
        let name = self
            .scene
            .and_then(|s| s.comment())
            .filter(|c| !matches!(c.author, Author::Human { name: None, .. }))
            .map(|c| c.author.display());
        match name {
            Some(name) if reply && self.rng.random::<f64>() < 0.25 => format!("{name}, {}", decapitalise(&body)),
            _ => body,
        }
    }

    fn topic(&mut self) -> String {
        let board_topics: Vec<String> =
            self.scene.and_then(|s| s.board()).map(|b| b.topics.clone()).unwrap_or_else(|| self.topics.clone());
        let interests: Vec<String> = self.persona.map(|p| p.interests.clone()).unwrap_or_default();
        let shared: Vec<&String> = board_topics.iter().filter(|t| interests.contains(t)).collect();
        shared
            .choose(&mut self.rng)
            .map(|t| t.to_string())
            .or_else(|| board_topics.first().cloned())
            .unwrap_or_else(|| interests.first().cloned().unwrap_or_else(|| "this".into()))
    }

    /// A title of the kind `stance` gives a post.
    fn title(&mut self, stance: Stance) -> String {
        let pack = self.pack;
        let topic = self.topic();
        let (template, question): (&str, bool) = match stance {
            Stance::Question => (self.line(POST_QUESTIONS, &[]), true),
            Stance::Disagree => (
                pick(
                    &mut self.rng,
                    &[
                        "Unpopular opinion: {t}, overrated",
                        "I think we overthink {t}",
                        "{t} matters less than people say",
                        "You don't need to {a}, change my mind",
                    ],
                ),
                false,
            ),
            Stance::Joke => (self.line(JOKE_LINES, pack.jokes), false),
            Stance::Story => (
                pick(
                    &mut self.rng,
                    &[
                        "Finally learned to {a}",
                        "Tried to {a} for a month",
                        "Update: I started to {a}",
                        "{t}, a short tragedy",
                    ],
                ),
                false,
            ),
            Stance::Agree => (
                pick(
                    &mut self.rng,
                    &[
                        "What finally fixed {t} for me",
                        "Small win: learned to {a}",
                        "In praise of {t}",
                        "Why I always {a}",
                    ],
                ),
                false,
            ),
            Stance::Tangent => {
                (pick(&mut self.rng, &["Bit of a tangent about {t}", "Off topic-ish: {t}", "{t}, a side note"]), false)
            }
        };
        let title = self.fill(&template.replace("{topic}", &topic), "");
        let title = capitalise(title.trim_end_matches(['.', ',']));
        let title = if question { format!("{title}?") } else { title };
        if self.manner.lowercase { title.to_lowercase() } else { title }
    }

    /// A text post's title and body, as long and of the kind drawn for it; the body says what the title
    /// promises (a question post gives its context and then asks).
    pub fn post(&mut self, seed: u64) -> (String, String) {
        let stance = match self.persona {
            Some(persona) => voice::draw(persona, Form::Post, 0, seed),
            None => voice::Brief { form: Form::Post, length: Length::Short, stance: Stance::Question },
        };
        let title = self.title(stance.stance);
        self.used.clear();
        self.dated = false;
        // A question post gives its context first, then asks.
        let body_stance = if stance.stance == Stance::Question { Stance::Story } else { stance.stance };
        let mut body = self.body(stance.length.at_least_short(), body_stance);
        if stance.stance == Stance::Question {
            let question = self.ask();
            body = format!("{body} {}", self.finish(&question, true));
        }
        (title, body)
    }

    /// 2–5 tags for a post on `board`, the way a regular tags one: what the text keeps coming back to
    /// (niche), one of the board's topics (broad), sometimes another thing it mentions or one of the
    /// persona's interests, and for a trend-aware persona, usually, a trending topic it cares about.
    pub fn tags(&mut self, board: &BoardView) -> Vec<String> {
        // "the water", "a cast iron pan" → "water", "cast iron pan": people tag the thing.
        fn thing(text: &str) -> String {
            let words: Vec<&str> = text.split_whitespace().collect();
            let start = usize::from(words.first().is_some_and(|w| matches!(*w, "the" | "a" | "an" | "my" | "your")));
            words[start.min(words.len())..].join(" ")
        }
        let mut raw: Vec<String> = Vec::new();
        if let Some(persona) = self.persona
            && let Some(angle) = trends::angles(board, persona).choose(&mut self.rng)
            && self.rng.random::<f64>() < 0.7
        {
            raw.push(angle.clone());
        }
        raw.push(thing(self.focus));
        if let Some(topic) = board.topics.choose(&mut self.rng) {
            raw.push(topic.clone());
        }
        if self.rng.random::<f64>() < 0.4
            && let Some(other) = self.mentioned.iter().chain(self.pack.things).find(|t| **t != self.focus)
        {
            raw.push(thing(other));
        }
        if let Some(persona) = self.persona
            && self.rng.random::<f64>() < 0.3
            && let Some(interest) = persona.interests.choose(&mut self.rng)
        {
            raw.push(interest.clone());
        }
        let mut tags = trends::clean(raw.iter().map(String::as_str)).tags;
        // A board with no topics and a one-word pack: still two tags, from what the board is called.
        if tags.len() < trends::MIN_TAGS {
            tags.extend(trends::normalise(&board.slug.replace('-', " ")).filter(|t| !tags.contains(t)));
        }
        tags
    }

    /// An image post's title, caption and image prompt, of what belongs on the board.
    pub fn image_post(&mut self, seed: u64) -> (String, String, String) {
        let brief = match self.persona {
            Some(persona) => voice::draw(persona, Form::Caption, 0, seed),
            None => voice::Brief { form: Form::Caption, length: Length::OneLiner, stance: Stance::Story },
        };
        let subject = pick(&mut self.rng, self.pack.photos);
        let shown = subject.split(',').next().unwrap_or(subject);
        // People title the same kind of picture in many ways; one fixed title per subject repeats.
        let title = capitalise(&pick(&mut self.rng, PHOTO_TITLES).replace("{s}", shown));
        let caption = self.body(brief.length, brief.stance);
        let prompt = format!("An ordinary photograph of {subject}, natural colours, no text or watermarks");
        (title, caption, prompt)
    }
}

/// How a photo's title is put; `{s}` is what it shows.
const PHOTO_TITLES: &[&str] = &[
    "{s}",
    "{s}",
    "{s} this morning",
    "{s}, last weekend",
    "finally got {s}",
    "{s} (phone photo)",
    "took this yesterday: {s}",
    "not much, just {s}",
    "{s} on the way home",
    "today's view: {s}",
    "{s} before everyone else showed up",
];

/// The frames of what a persona writes on its own (posts, captions), the topic packs' included.
pub fn post_frames() -> impl Iterator<Item = &'static str> {
    [STORY_LINES, JOKE_LINES, FOLLOW_LINES, DETAIL_LINES, CODA_LINES, POST_QUESTIONS, POST_OPINIONS]
        .into_iter()
        .flatten()
        .copied()
        .chain(PACKS.iter().chain([&GENERAL]).flat_map(|p| p.claims.iter().chain(p.stories).chain(p.jokes)).copied())
}

/// `text` with a word that follows itself ("properly properly") said once.
fn collapse_doubled_words(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for word in text.split(' ') {
        let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if let Some(previous) = out.last()
            && !bare(word).is_empty()
            && bare(previous) == bare(word)
            && !previous.ends_with([',', '.', ':'])
        {
            out.pop();
        }
        out.push(word);
    }
    out.join(" ")
}

impl Length {
    /// Posts say at least a little.
    fn at_least_short(self) -> Length {
        match self {
            Length::OneLiner => Length::Short,
            other => other,
        }
    }
}

/// Whether a board's topics are ones people post pictures of.
pub fn takes_pictures(topics: &[String]) -> bool {
    const VISUAL: &[&str] = &[
        "photography",
        "nature",
        "cities",
        "light",
        "hiking",
        "houseplants",
        "gardening",
        "propagation",
        "cooking",
        "baking",
        "recipes",
        "cycling",
        "bike repair",
    ];
    topics.iter().any(|t| VISUAL.contains(&t.to_lowercase().as_str()))
}

/// How the offline writer says it is an AI when sincerely asked.
const ADMISSIONS: &[&str] = &[
    "Fair question. Yes, I'm an AI, one of the personas this site runs.",
    "Yes, I'm an AI persona. The site runs a few of us.",
    "I am, yeah. AI, run by the site. Didn't mean to be cagey about it.",
    "Yep, AI. This account is one of the site's personas.",
    "Honestly? Yes, I'm an AI, one of a handful the forum runs.",
    "Good instinct, I'm an AI. The site runs this account.",
    "Yes, this is an AI persona, run by the people who run the forum.",
    "Ha, yes, AI. The site set up a few accounts like mine.",
    "Straight answer: I'm an AI persona that the site operates.",
    "You caught it, I'm an AI. One of the site's persona accounts.",
    "Yes. I'm an AI, and this account belongs to the site.",
    "Correct, AI. I should have said so earlier.",
];

/// An offline answer turned into the honest one a sincere "are you a bot?" gets: it says so, in a line or
/// two, then keeps what the persona was going to say when that is short. Only answers with a `body` (a
/// reply's) change; a decision not to answer becomes an answer.
pub fn admit(mut answer: serde_json::Value, persona: &Persona, seed: u64) -> serde_json::Value {
    let Some(fields) = answer.as_object_mut() else { return answer };
    let mut rng = ChaCha8Rng::seed_from_u64(crate::stable::hash(&[&seed.to_le_bytes(), persona.id.as_bytes()]));
    let admission = pick(&mut rng, ADMISSIONS);
    let before = fields.get("body").and_then(|b| b.as_str()).unwrap_or_default().trim().to_owned();
    let lowercase = before.chars().next().is_some_and(char::is_lowercase);
    let first_sentence = before.split_inclusive(['.', '!', '?']).next().unwrap_or_default().trim();
    let mut body = admission.to_owned();
    if !first_sentence.is_empty() && first_sentence.chars().count() <= 160 {
        body.push(' ');
        body.push_str(first_sentence);
    }
    let body = if lowercase { body.to_lowercase() } else { body };
    fields.insert("body".into(), body.into());
    if fields.contains_key("decision") {
        fields.insert("decision".into(), "reply".into());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doubled_word_is_said_once() {
        assert_eq!(collapse_doubled_words("heat up properly properly."), "heat up properly.");
        assert_eq!(collapse_doubled_words("Two batches. Two batches."), "Two batches. Two batches.");
        assert_eq!(collapse_doubled_words("had had enough"), "had enough");
    }

    #[test]
    fn every_template_slot_is_one_the_writer_fills() {
        let check = |frames: Vec<&str>, known: &[&str]| {
            for frame in frames {
                let mut rest = frame;
                while let Some(i) = rest.find('{') {
                    let end = rest[i..].find('}').expect("a closed slot") + i;
                    assert!(known.contains(&&rest[i..=end]), "{frame}: unknown slot {}", &rest[i..=end]);
                    rest = &rest[end + 1..];
                }
            }
        };
        check(
            post_frames().chain(TAILS.iter().copied()).collect(),
            &["{t}", "{a}", "{p}", "{w}", "{n}", "{lead}", "{topic}"],
        );
        check(answer::all_frames().collect(), &["{s}", "{s2}", "{n}", "{i}", "{w}"]);
    }

    /// A Monstera thread: every thing an answer leans on (each slot it filled, and every noun phrase a
    /// reader finds in it that is not the frame's own wording) is in the post, the thread, the board's
    /// topics or the persona's interests; nothing from a topic pack ("the fern") is slipped in.
    #[test]
    fn every_thing_an_answer_leans_on_comes_from_what_it_answers_or_who_writes_it() {
        use crate::context::{CommentView, PostView, ThreadContext};
        let at = chrono::DateTime::UNIX_EPOCH;
        let person = |n: u128, name: &str| Author::Human { id: uuid::Uuid::from_u128(n), name: Some(name.into()) };
        let comment = |n: u128, body: &str, author: Author| CommentView {
            id: uuid::Uuid::from_u128(n),
            parent_id: None,
            depth: 0,
            body: body.into(),
            author,
            created_at: at,
        };
        let post = PostView {
            id: uuid::Uuid::from_u128(1),
            board_id: uuid::Uuid::from_u128(2),
            board_name: "Plant Parents".into(),
            board_topics: vec!["houseplants".into(), "propagation".into()],
            title: "Monstera leaves turning yellow from the edges".into(),
            body: "It's by an east window, I water when the top inch is dry. Two lower leaves went yellow \
                   this week, and the pot is 25 cm wide. Should I worry?"
                .into(),
            author: person(9, "samira"),
            created_at: at,
        };
        let thread = ThreadContext {
            post: post.clone(),
            ancestors: Vec::new(),
            target: comment(
                3,
                "Mine did that in autumn with my old terracotta pot. Is the new growth okay?",
                person(8, "alex_k"),
            ),
            siblings: vec![comment(4, "Could be the cold draught from the window.", person(7, "tom_h"))],
            replies: Vec::new(),
            toward: 0,
        };
        let persona = Persona {
            interests: vec!["photography".into(), "sourdough".into()],
            voice_bank: vec!["Honestly, I measure everything: 21 degrees, 3 weeks.".into()],
            ..crate::persona::tests_support::persona()
        };
        let sources: Vec<String> =
            [post.title.clone(), post.body.clone(), thread.target.body.clone(), thread.siblings[0].body.clone()]
                .into_iter()
                .chain(post.board_topics.iter().cloned())
                .chain(persona.interests.iter().cloned())
                .map(|t| t.to_lowercase())
                .collect();
        let found_in_sources = |phrase: &str| sources.iter().any(|s| s.contains(&phrase.to_lowercase()));
        for scene in [
            Scene::Thread(thread.clone()),
            Scene::Post(crate::context::PostContext {
                post: post.clone(),
                comments: vec![thread.target.clone()],
                replies: Vec::new(),
                comment_count: 1,
                toward: 0,
            }),
        ] {
            for seed in 0..300u64 {
                let mut writer = Writer::new("reply", &persona, &scene, seed);
                let stance =
                    [Stance::Agree, Stance::Disagree, Stance::Joke, Stance::Tangent, Stance::Question, Stance::Story]
                        [(seed % 6) as usize];
                let length = [Length::OneLiner, Length::Short, Length::Medium, Length::Long][(seed / 6 % 4) as usize];
                let text = writer.text(length, stance);
                assert!(!text.to_lowercase().contains("fern"), "{text}");
                for leaned in writer.leaned_on() {
                    assert!(found_in_sources(leaned), "{leaned:?} is not in the scene: {text}");
                }
                for phrase in answer::noun_phrases(&text) {
                    let own_words = phrase.words.split_whitespace().all(|w| {
                        answer::all_frames()
                            .chain(SOFT.iter().copied())
                            .chain(TAILS.iter().copied())
                            .chain(WHILE_AGO.iter().copied())
                            .any(|f| f.to_lowercase().contains(&w.to_lowercase()))
                    });
                    assert!(
                        found_in_sources(&phrase.words) || own_words,
                        "{:?} leaned on from nowhere: {text}",
                        phrase.words
                    );
                }
            }
        }
    }

    #[test]
    fn every_admission_says_it_is_an_ai_without_a_machine_mark() {
        for admission in ADMISSIONS {
            assert!(crate::disclosure::admits(admission), "{admission}");
            assert!(crate::style::marks(admission).is_empty(), "{admission}");
        }
    }
}
