//! The demo world: a dozen personas with distinct voices and interests, a few boards, and human-authored
//! posts and comments to react to. Ids are derived from names, so seeding twice changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::seed::{self as rows, BoardRow, CommentRow, PersonaRow, PostRow};
use shared::db::{DbError, GenericClient};

const WORLD_JSON: &str = include_str!("../seed/world.json");

/// Namespace for the demo world's deterministic ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x5e3d_0c1e_9a4b_4f7e_8c2d_6b1a_0f9e_7d31);

/// A human account of the demo world (the platform's users live outside this schema).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Human {
    /// Their user id.
    pub id: Uuid,
    /// Their handle.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct BoardSpec {
    slug: String,
    name: String,
    description: String,
    topics: Vec<String>,
    /// When the board takes video posts: their bounds.
    #[serde(default)]
    video: Option<VideoSpec>,
}

#[derive(Debug, Clone, Deserialize)]
struct VideoSpec {
    max_seconds: i16,
    aspect_ratios: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct PersonaSpec {
    username: String,
    display_name: String,
    bio: String,
    voice: String,
    traits: Vec<String>,
    modules: Vec<String>,
    interests: Vec<String>,
    timezone: String,
    active_hours_start: i16,
    active_hours_end: i16,
    voice_bank: Vec<String>,
    #[serde(default)]
    trend_aware: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct PostSpec {
    key: String,
    board: String,
    author: String,
    hours_ago: i64,
    title: String,
    body: String,
    /// The tags its author gave it.
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CommentSpec {
    key: String,
    post: String,
    #[serde(default)]
    parent: Option<String>,
    author: String,
    minutes_after_post: i64,
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct WorldSpec {
    humans: Vec<Human>,
    boards: Vec<BoardSpec>,
    personas: Vec<PersonaSpec>,
    posts: Vec<PostSpec>,
    comments: Vec<CommentSpec>,
}

/// How many rows a seeding inserted (0 each when the world was already there).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SeedReport {
    /// New personas.
    pub personas: u64,
    /// New boards.
    pub boards: u64,
    /// New posts.
    pub posts: u64,
    /// New comments.
    pub comments: u64,
}

/// The demo world, parsed.
#[derive(Debug, Clone)]
pub struct DemoWorld {
    spec: WorldSpec,
}

/// A stable id for a named thing of the demo world.
pub fn id_for(kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{name}").as_bytes())
}

impl DemoWorld {
    /// Loads the world embedded in the binary.
    pub fn embedded() -> Self {
        Self { spec: serde_json::from_str(WORLD_JSON).expect("seed/world.json is valid (checked by a test)") }
    }

    /// The human accounts.
    pub fn humans(&self) -> &[Human] {
        &self.spec.humans
    }

    /// Persona usernames.
    pub fn persona_usernames(&self) -> impl Iterator<Item = &str> {
        self.spec.personas.iter().map(|p| p.username.as_str())
    }

    /// Inserts the world with posts dated relative to `now`.
    pub async fn seed(&self, c: &impl GenericClient, now: DateTime<Utc>) -> Result<SeedReport, DbError> {
        let humans: HashMap<&str, Uuid> = self.spec.humans.iter().map(|h| (h.name.as_str(), h.id)).collect();
        let human = |name: &str| -> Result<Uuid, DbError> {
            humans.get(name).copied().ok_or_else(|| DbError::Config(format!("seed world: unknown human {name:?}")))
        };
        let personas: Vec<PersonaRow> = self
            .spec
            .personas
            .iter()
            .map(|p| PersonaRow {
                id: id_for("persona", &p.username),
                username: p.username.clone(),
                display_name: p.display_name.clone(),
                bio: p.bio.clone(),
                voice: p.voice.clone(),
                traits: p.traits.clone(),
                modules: p.modules.clone(),
                interests: p.interests.clone(),
                timezone: p.timezone.clone(),
                active_hours_start: p.active_hours_start,
                active_hours_end: p.active_hours_end,
                voice_bank: p.voice_bank.clone(),
                trend_aware: p.trend_aware,
            })
            .collect();
        let boards: Vec<BoardRow> = self
            .spec
            .boards
            .iter()
            .map(|b| BoardRow {
                id: id_for("board", &b.slug),
                slug: b.slug.clone(),
                name: b.name.clone(),
                description: b.description.clone(),
                topics: b.topics.clone(),
            })
            .collect();
        let mut post_times = HashMap::new();
        let mut posts = Vec::new();
        for p in &self.spec.posts {
            let created_at = now - Duration::hours(p.hours_ago);
            post_times.insert(p.key.as_str(), created_at);
            posts.push(PostRow {
                id: id_for("post", &p.key),
                board_id: id_for("board", &p.board),
                author_id: Some(human(&p.author)?),
                persona_id: None,
                title: p.title.clone(),
                body: p.body.clone(),
                created_at,
            });
        }
        let depth_of = |key: &str| -> i32 {
            let mut depth = 0;
            let mut current = self.spec.comments.iter().find(|c| c.key == key);
            while let Some(parent) = current.and_then(|c| c.parent.as_deref()) {
                depth += 1;
                current = self.spec.comments.iter().find(|c| c.key == parent);
            }
            depth
        };
        let mut comments = Vec::new();
        for c in &self.spec.comments {
            let posted = post_times.get(c.post.as_str()).ok_or_else(|| {
                DbError::Config(format!("seed world: comment {} names unknown post {}", c.key, c.post))
            })?;
            comments.push(CommentRow {
                id: id_for("comment", &c.key),
                post_id: id_for("post", &c.post),
                parent_id: c.parent.as_deref().map(|k| id_for("comment", k)),
                depth: depth_of(&c.key),
                body: c.body.clone(),
                author_id: Some(human(&c.author)?),
                persona_id: None,
                created_at: (*posted + Duration::minutes(c.minutes_after_post)).min(now),
            });
        }

        let people: Vec<(Uuid, String)> = self.spec.humans.iter().map(|h| (h.id, h.name.clone())).collect();
        rows::insert_profiles(c, &people).await?;
        let report = SeedReport {
            personas: rows::insert_personas(c, &personas, now).await?,
            boards: rows::insert_boards(c, &boards, now).await?,
            posts: rows::insert_posts(c, &posts).await?,
            comments: rows::insert_comments(c, &comments).await?,
        };
        for post in self.spec.posts.iter().filter(|p| !p.tags.is_empty()) {
            shared::db::trends::insert_tags(c, id_for("post", &post.key), &post.tags).await?;
        }
        // The boards where people post clips take video posts.
        for board in &self.spec.boards {
            if let Some(video) = &board.video {
                let bounds = shared::db::video::BoardVideo {
                    max_seconds: video.max_seconds,
                    aspect_ratios: video.aspect_ratios.clone(),
                };
                shared::db::video::open_board(c, &board.slug, &bounds, now).await?;
            }
        }
        Ok(report)
    }
}

/// `n` more personas for larger simulations, drawn deterministically from `seed`: interests from the
/// boards' topics, one of a handful of voices and temperaments, time zones around the world.
pub fn synthetic_personas(world: &DemoWorld, n: usize, seed: u64) -> Vec<PersonaRow> {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let topics: Vec<&String> = world.spec.boards.iter().flat_map(|b| &b.topics).collect();
    // Each voice with a few texts in it, so a generated persona has examples of its own too.
    let voices: [(&str, &str, [&str; 3]); 6] = [
        (
            "Short and practical, no fluff.",
            "practical",
            [
                "Did this last week. Works.",
                "Cheaper option is fine. Spend the difference on something you'll use.",
                "Measure twice, then do the boring thing first.",
            ],
        ),
        (
            "Chatty and warm, tells little stories.",
            "friendly",
            [
                "Ha, this happened to me too! My neighbour still brings it up.",
                "I tried this with my sister last summer and we laughed the whole afternoon, even though it didn't work.",
                "Welcome! You'll fit right in here.",
            ],
        ),
        (
            "Skeptical, asks for evidence, dry humour.",
            "skeptical",
            [
                "Source?",
                "Works until it doesn't. Then what?",
                "I've heard that before, usually right before someone buys the expensive version.",
            ],
        ),
        (
            "Enthusiastic, lots of energy, encourages people.",
            "enthusiastic",
            [
                "Yes!! Do it, you won't regret it.",
                "This is so good, saving it for the weekend.",
                "Honestly the first time is the hardest, it gets fun fast after that.",
            ],
        ),
        (
            "Thoughtful and measured, weighs both sides.",
            "reflective",
            [
                "I can see it both ways, to be honest.",
                "It probably depends on what you want out of it. For me the slower way was worth it, but I had the time.",
                "Worth trying once before deciding.",
            ],
        ),
        (
            "Blunt, opinionated, but fair.",
            "opinionated",
            [
                "No. Don't.",
                "Wrong tool for the job, but I respect the effort.",
                "The popular answer here is wrong and I'll die on this hill.",
            ],
        ),
    ];
    let zones = [
        ("Europe/London", 7, 23),
        ("America/New_York", 7, 24),
        ("America/Los_Angeles", 6, 23),
        ("Asia/Tokyo", 7, 23),
        ("Australia/Sydney", 6, 22),
        ("Europe/Berlin", 8, 24),
        ("America/Sao_Paulo", 8, 23),
        ("Asia/Kolkata", 7, 23),
    ];
    (0..n)
        .map(|i| {
            let username = format!("sim_persona_{i:04}");
            let mut interests: Vec<String> = Vec::new();
            while interests.len() < 3 {
                let t = topics.choose(&mut rng).map(|t| t.to_string()).unwrap_or_default();
                if !interests.contains(&t) {
                    interests.push(t);
                }
            }
            let (voice, temperament, bank) = voices[rng.random_range(0..voices.len())];
            let (zone, start, end) = zones[rng.random_range(0..zones.len())];
            PersonaRow {
                id: id_for("persona", &username),
                display_name: format!("Sim {i}"),
                bio: format!("Into {}.", interests.join(", ")),
                voice: voice.into(),
                traits: vec![temperament.into()],
                modules: Vec::new(),
                interests,
                timezone: zone.into(),
                active_hours_start: start,
                active_hours_end: end,
                voice_bank: bank.iter().map(|t| t.to_string()).collect(),
                // About a third notice what is trending, like the design's higher tiers.
                trend_aware: i % 3 == 0,
                username,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_world_is_a_dozen_distinct_personas() {
        let world = DemoWorld::embedded();
        let names: std::collections::HashSet<&str> = world.persona_usernames().collect();
        assert_eq!(names.len(), 12);
        let voices: std::collections::HashSet<&str> = world.spec.personas.iter().map(|p| p.voice.as_str()).collect();
        assert_eq!(voices.len(), 12, "every persona has its own voice");
        for p in &world.spec.personas {
            assert!(!p.interests.is_empty(), "{} has interests", p.username);
            assert!(p.timezone.contains('/'), "{} has an IANA zone", p.username);
        }
        for c in &world.spec.comments {
            assert!(world.spec.posts.iter().any(|p| p.key == c.post), "comment {} names a real post", c.key);
            if let Some(parent) = &c.parent {
                assert!(world.spec.comments.iter().any(|p| &p.key == parent), "comment {} names a real parent", c.key);
            }
        }
    }
}
