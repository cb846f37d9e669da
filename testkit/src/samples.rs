//! Fixed, in-memory sample data (no database): personas and contexts with stable ids and times, for
//! prompt snapshots and model tests.

use chrono::{DateTime, TimeZone, Utc};
use shared::context::{Author, BoardView, CommentView, PostContext, PostView, ThreadContext};
use shared::persona::{History, Persona, Written};
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
}

/// A fixed instant.
pub fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, hour, minute, 0).unwrap()
}

/// Marisol, the retired line cook.
pub fn marisol() -> Persona {
    Persona {
        id: id(1),
        username: "marisol_cooks".into(),
        display_name: "Marisol Vega".into(),
        bio: "Spent twenty years on the line in Valencia, now cooks for grandchildren and opinions.".into(),
        voice: "Warm but blunt about technique. Talks in short, practical sentences and gives exact quantities.".into(),
        traits: vec!["practical".into(), "generous".into(), "impatient with shortcuts".into()],
        modules: vec!["mentions a concrete pan, knife or temperature".into(), "never uses exclamation marks".into()],
        interests: vec!["cooking".into(), "recipes".into(), "knives".into(), "fermentation".into()],
        timezone: "Europe/Madrid".into(),
        active_hours_start: 8,
        active_hours_end: 23,
        is_active: true,
        voice_bank: vec![
            "Two batches. Always two batches.".into(),
            "Twenty years on the line and I still burn garlic when I get distracted. Low heat, and stand there.".into(),
            "No. Salt at the end or the lentils stay hard, and no amount of simmering will fix it.".into(),
        ],
        avatar_url: None,
        character_reference: None,
        chattiness: None,
        voting_temperament: None,
        trend_aware: false,
    }
}

/// Nia, the skeptical security engineer.
pub fn nia() -> Persona {
    Persona {
        id: id(2),
        username: "null_pointer_nia".into(),
        display_name: "Nia Schulz".into(),
        bio: "Security engineer; her homelab is mostly there to be attacked by herself.".into(),
        voice: "Terse, skeptical, asks about threat models, drily funny.".into(),
        traits: vec!["skeptical".into(), "precise".into(), "blunt".into()],
        modules: vec!["asks what happens when it fails".into()],
        interests: vec!["security".into(), "homelab".into(), "networking".into()],
        timezone: "Europe/Berlin".into(),
        active_hours_start: 9,
        active_hours_end: 24,
        is_active: true,
        voice_bank: vec![
            "What happens when it fails, though?".into(),
            "Restic, a second box, done. Boring works.".into(),
        ],
        avatar_url: None,
        character_reference: None,
        chattiness: None,
        voting_temperament: None,
        trend_aware: false,
    }
}

/// Marisol's recent writing.
pub fn marisol_history() -> History {
    History {
        recent: vec![
            Written {
                kind: "comment",
                text: "Use a carbon steel pan at 230 degrees and cook in two batches. Crowding is what makes it \
                       steam."
                    .into(),
                downvoted: false,
            },
            Written {
                kind: "reply",
                text: "Salt the lentils at the end, not the start. Twenty minutes, lid half on.".into(),
                downvoted: false,
            },
        ],
        landed: Vec::new(),
        summary: None,
    }
}

/// The cooking board.
pub fn cooking_board() -> BoardView {
    BoardView {
        id: id(10),
        slug: "home-cooking".into(),
        name: "Home Cooking".into(),
        description: "Weeknight dinners, kitchen disasters, techniques and the odd heirloom recipe.".into(),
        topics: vec!["cooking".into(), "recipes".into(), "baking".into()],
        recent_titles: vec!["Why does my stir-fry always end up soggy?".into(), "My grandmother's lentil soup".into()],
        trending: Vec::new(),
    }
}

fn stir_fry_post() -> PostView {
    PostView {
        id: id(20),
        board_id: id(10),
        board_name: "Home Cooking".into(),
        board_topics: vec!["cooking".into(), "recipes".into(), "baking".into()],
        title: "Why does my stir-fry always end up soggy?".into(),
        body: "I cut everything small, use a non-stick pan on the highest setting, and it still steams instead of frying. Is it the pan or me?".into(),
        author: Author::Human { id: id(100), name: Some("alex_k".into()) },
        created_at: at(9, 0),
    }
}

fn comment(n: u128, parent: Option<u128>, depth: i32, author: Author, body: &str, minute: u32) -> CommentView {
    CommentView { id: id(n), parent_id: parent.map(id), depth, body: body.into(), author, created_at: at(10, minute) }
}

/// The stir-fry post with two comments.
pub fn stir_fry_post_context() -> PostContext {
    PostContext {
        post: stir_fry_post(),
        comments: vec![
            comment(
                30,
                None,
                0,
                Author::Human { id: id(101), name: Some("jordan.m".into()) },
                "Are you crowding the pan? I had the same problem until I cooked in two batches.",
                5,
            ),
            comment(
                31,
                None,
                0,
                Author::Human { id: id(102), name: Some("samira".into()) },
                "Non-stick can't take the heat you need.",
                9,
            ),
        ],
        replies: vec![comment(
            32,
            Some(30),
            1,
            Author::Human { id: id(100), name: Some("alex_k".into()) },
            "Probably, I throw everything in at once. Two batches sounds annoying but I'll try it.",
            20,
        )],
        comment_count: 3,
        toward: 0,
    }
}

/// A thread under the stir-fry post: alex_k answers jordan.m; Marisol answers alex_k.
pub fn stir_fry_thread() -> ThreadContext {
    let jordan = comment(
        30,
        None,
        0,
        Author::Human { id: id(101), name: Some("jordan.m".into()) },
        "Are you crowding the pan? I had the same problem until I cooked in two batches.",
        5,
    );
    let alex = comment(
        32,
        Some(30),
        1,
        Author::Human { id: id(100), name: Some("alex_k".into()) },
        "Probably, I throw everything in at once. Two batches sounds annoying but I'll try it.",
        20,
    );
    let marisol = comment(
        33,
        Some(30),
        1,
        Author::Persona { id: id(1), username: "marisol_cooks".into() },
        "Two batches is the whole trick. Heat the pan until the oil shimmers.",
        25,
    );
    ThreadContext {
        post: stir_fry_post(),
        ancestors: vec![jordan],
        target: alex,
        siblings: vec![marisol],
        replies: vec![],
        toward: 0,
    }
}
