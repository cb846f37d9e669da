//! The persona studio: a cast made from an operator's one-line brief, and edits to it.
//!
//! Making a persona is one structured model call for its profile (regenerated once with the reasons
//! when an answer fails a check), one image call for its avatar, cropped to a 512-pixel square, and one
//! vision call that writes its character reference from that avatar. Everything is generated first;
//! then the avatars are stored and the personas written in one transaction. When anything fails, what
//! was stored is removed again: nothing is half-created.

pub mod avatar;
pub mod profile;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::ai::{Attachment, ModelError, OfflineAnswer, Prompt, Usage};
use crate::db::personas::{self, Chattiness, Temperament};
use crate::db::{self as database, DbError};
use crate::engine::Engine;
use crate::media::storage::{StorageError, StoredObject};
use crate::media::{self, ImageSlot, MediaError, Provenance};
use crate::operator::check_text;
use crate::persona::Persona;
use crate::stable;
use profile::{Profile, Surroundings};

/// The longest brief, in characters.
pub const MAX_BRIEF_CHARS: usize = 500;
/// The most personas one request makes.
pub const MAX_COUNT: usize = 12;
/// How many of the newest personas a new one is compared with (and the prompt names the first few).
const COMPARED_WITH: i64 = 300;

/// What to make.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Who to make, in a line or two: "retired engineers who restore old radios".
    #[schema(min_length = 1, max_length = 500)]
    pub brief: String,
    /// How many (default 1): a diverse set, each with interests of its own and none writing like another.
    /// 1–3 through the admin API (each persona takes three model calls), up to 10 from the CLI.
    #[schema(minimum = 1, maximum = 3)]
    pub count: Option<usize>,
    /// Slugs of the boards they are for: their interests and examples fit these.
    pub boards: Option<Vec<String>>,
    /// Start active (true) or paused for review (false, the default).
    pub active: Option<bool>,
}

/// Why no persona was made.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    /// The request is malformed (an empty brief, an unknown board, a bad count or field).
    #[error("{0}")]
    BadRequest(String),
    /// No usable profile or description came out, even with the reasons fed back once.
    #[error("{0}")]
    Unusable(String),
    /// The handle is taken (an edit; creation picks a free one).
    #[error("{0}")]
    Conflict(String),
    /// A public profile field holds a control or invisible character (the web app would show it).
    #[error("{0}")]
    Unshowable(String),
    /// The persona named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The avatar could not be processed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The avatar could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl StudioError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::BadRequest(_) | Self::Conflict(_) | Self::NotFound(_) | Self::Unshowable(_) => false,
            // Another sample may well pass.
            Self::Unusable(_) => true,
            Self::Model(e) => e.is_retryable(),
            Self::Media(e) => e.is_retryable(),
            Self::Storage(e) => e.is_retryable(),
            Self::Db(e) => e.is_retryable(),
        }
    }
}

/// A handle taken between our check and our write (another studio call, the web app) is a conflict the
/// caller can act on, not a database failure.
fn handle_race(e: DbError) -> StudioError {
    if e.is_unique_violation_on("personas") {
        StudioError::Conflict("that handle was just taken by another persona; try again".into())
    } else {
        StudioError::Db(e)
    }
}

impl From<deadpool_postgres::PoolError> for StudioError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Db(e.into())
    }
}

impl From<tokio_postgres::Error> for StudioError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e.into())
    }
}

/// What a creation made, and what it cost.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    /// The new personas, as stored.
    pub personas: Vec<Persona>,
    /// Tokens over every call.
    pub usage: Usage,
}

struct Made {
    persona: Persona,
    avatar: media::ProcessedImage,
    /// What making it cost (its profile, avatar and reference).
    usage: Usage,
}

/// Makes `request.count` personas from the brief, stores their avatars and writes them, or makes none.
#[tracing::instrument(name = "studio", skip_all, fields(count = request.count.unwrap_or(1)))]
pub async fn create(engine: &Engine, request: &CreateRequest) -> Result<Created, StudioError> {
    let brief = request.brief.trim();
    check_text("brief", brief).map_err(StudioError::BadRequest)?;
    if brief.is_empty() {
        return Err(StudioError::BadRequest("brief is empty: say in a line who to make".into()));
    }
    if brief.chars().count() > MAX_BRIEF_CHARS {
        return Err(StudioError::BadRequest(format!("brief must be at most {MAX_BRIEF_CHARS} characters")));
    }
    if !brief.chars().any(char::is_alphabetic) {
        return Err(StudioError::Unusable("the brief has no words to make a persona from".into()));
    }
    let count = request.count.unwrap_or(1);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(StudioError::BadRequest(format!("count must be between 1 and {MAX_COUNT}, not {count}")));
    }
    let now = engine.clock.now();
    let (mut around, topics) = {
        let db = engine.pool.get().await?;
        let mut boards = Vec::new();
        let mut topics = Vec::new();
        for slug in request.boards.iter().flatten() {
            check_text("boards", slug).map_err(StudioError::BadRequest)?;
            let board = database::content::board_by_slug(&**db, slug.trim())
                .await?
                .ok_or_else(|| StudioError::BadRequest(format!("board {slug:?} not found")))?;
            topics.extend(board.topics.iter().cloned());
            boards.push(format!("{} ({})", board.name, board.topics.join(", ")));
        }
        (Surroundings { boards, existing: personas::newest(&**db, COMPARED_WITH).await?, batch: Vec::new() }, topics)
    };

    let mut profile_usage = Vec::with_capacity(count);
    let mut made = Vec::with_capacity(count);
    let base_seed = stable::hash(&[brief.as_bytes(), &now.timestamp_micros().to_le_bytes()]);
    for index in 0..count {
        let seed = base_seed.wrapping_add(index as u64 * 0x9e37_79b9);
        let mut usage = Usage::default();
        let profile = make_profile(engine, brief, &topics, &around, seed, &mut usage).await?;
        around.batch.push(profile);
        profile_usage.push(usage);
    }
    for (profile, usage) in around.batch.iter().zip(profile_usage) {
        let seed = stable::hash(&[profile.username.as_bytes(), &base_seed.to_le_bytes()]);
        let mut usage = usage;
        let (persona, avatar) = make_face(engine, profile, request.active.unwrap_or(false), seed, &mut usage).await?;
        made.push(Made { persona, avatar, usage });
    }
    let usage = made.iter().fold(Usage::default(), |sum, m| sum.plus(m.usage));
    let mut personas = store(engine, made, now).await?;
    personas.sort_by(|a, b| a.username.cmp(&b.username));
    tracing::info!(made = personas.len(), "personas created");
    Ok(Created { personas, usage })
}

/// A profile from the model, asked once more with the reasons when the first answer fails a check.
async fn make_profile(
    engine: &Engine,
    brief: &str,
    topics: &[String],
    around: &Surroundings,
    seed: u64,
    usage: &mut Usage,
) -> Result<Profile, StudioError> {
    let writer = {
        let (brief, topics, around) = (brief.to_owned(), topics.to_vec(), around.clone());
        OfflineAnswer::new(move |seed| profile::write_offline(&brief, &topics, &around, seed))
    };
    let prompt = profile::prompt(brief, around, seed, writer);
    ask_twice(engine, prompt, usage, |answer| profile::parse(answer, around).map_err(|p| p.join("; "))).await.map_err(
        |e| match e {
            StudioError::Unusable(why) => StudioError::Unusable(format!("no usable profile from the model: {why}")),
            other => other,
        },
    )
}

/// Asks `prompt`; when `accept` refuses the answer, asks once more with its reasons, then gives up.
async fn ask_twice<T>(
    engine: &Engine,
    prompt: Prompt,
    usage: &mut Usage,
    accept: impl Fn(&str) -> Result<T, String>,
) -> Result<T, StudioError> {
    let mut current = prompt;
    let mut last = String::new();
    for attempt in 0..2 {
        let answer = engine.model.generate(&current).await?;
        *usage = usage.plus(answer.usage);
        match accept(&answer.text) {
            Ok(value) => return Ok(value),
            Err(why) => {
                tracing::info!(attempt, reason = %why, "studio answer refused; asking again");
                current = current.with_feedback(&why);
                last = why;
            }
        }
    }
    Err(StudioError::Unusable(last))
}

/// The avatar and the character reference for `profile`, and the persona they make.
async fn make_face(
    engine: &Engine,
    profile: &Profile,
    active: bool,
    seed: u64,
    usage: &mut Usage,
) -> Result<(Persona, media::ProcessedImage), StudioError> {
    let generated = engine.model.generate_image(&avatar::image_prompt(profile, seed)).await?;
    *usage = usage.plus(generated.usage);
    let slot = match generated.slot {
        Some(slot) => slot,
        None => ImageSlot::acquire().await,
    };
    let settings = engine.settings.image;
    let bytes = generated.bytes;
    let provenance =
        Provenance::new(engine.model.image_model(), engine.clock.now()).signed_by(engine.config.media_signer.clone());
    let processed =
        tokio::task::spawn_blocking(move || media::square(&bytes, avatar::AVATAR_SIDE, &settings, &provenance, &slot))
            .await
            .map_err(|e| MediaError::Encode(format!("image worker: {e}")))??;
    let shown = Attachment { mime_type: processed.mime_type, bytes: processed.bytes.clone() };
    let reference = ask_twice(engine, avatar::reference_prompt(shown, profile, seed), usage, avatar::parse_reference)
        .await
        .map_err(|e| match e {
            StudioError::Unusable(why) => {
                StudioError::Unusable(format!("no usable character reference from the model: {why}"))
            }
            other => other,
        })?;
    let persona = Persona {
        id: Uuid::new_v4(),
        username: profile.username.clone(),
        display_name: profile.display_name.clone(),
        bio: profile.bio.clone(),
        voice: profile.voice.clone(),
        traits: profile.traits.clone(),
        modules: Vec::new(),
        interests: profile.interests.clone(),
        timezone: profile.timezone.clone(),
        active_hours_start: profile.active_hours_start,
        active_hours_end: profile.active_hours_end,
        is_active: active,
        voice_bank: profile.voice_bank.clone(),
        avatar_url: None,
        character_reference: Some(reference),
        chattiness: Some(profile.chattiness),
        voting_temperament: Some(profile.voting_temperament),
        trend_aware: false,
    };
    Ok((persona, processed))
}

/// Where a persona's avatar is stored.
pub fn avatar_key(persona: Uuid, extension: &str) -> String {
    format!("personas/{persona}/avatar.{extension}")
}

/// Stores every avatar, then writes every persona in one transaction, with free handles. On any
/// failure the stored avatars are removed again.
async fn store(engine: &Engine, made: Vec<Made>, now: DateTime<Utc>) -> Result<Vec<Persona>, StudioError> {
    let mut stored: Vec<StoredObject> = Vec::new();
    let mut personas = Vec::with_capacity(made.len());
    let result = async {
        let mut costs = Vec::with_capacity(made.len());
        for Made { mut persona, avatar, usage } in made {
            let key = avatar_key(persona.id, avatar.extension);
            let object = engine.storage.put(&key, avatar.bytes, avatar.mime_type).await?;
            persona.avatar_url = Some(object.url.clone());
            stored.push(object);
            costs.push(usage.cost_micros);
            personas.push(persona);
        }
        let mut client = engine.pool.get().await?;
        let tx = database::begin(&mut client).await?;
        let mut taken: Vec<String> = Vec::new();
        for persona in &mut personas {
            persona.username = free_username(&tx, &persona.username, &taken).await?;
            taken.push(persona.username.clone());
            personas::insert(&tx, persona, now).await.map_err(handle_race)?;
        }
        // What making them cost goes on the day's ledger with them (counted, never held back).
        for (persona, micros) in personas.iter().zip(costs) {
            let micros = i64::try_from(micros).unwrap_or(i64::MAX);
            database::spend::record(&tx, crate::spend::day_of(now), persona.id, "studio", micros, 3).await?;
        }
        tx.commit().await?;
        Ok::<_, StudioError>(())
    }
    .await;
    if let Err(e) = result {
        for object in &stored {
            if let Err(cleanup) = engine.storage.delete(&object.path).await {
                tracing::warn!(key = %object.path, error = %cleanup, "could not remove an avatar of a persona not made");
            }
        }
        return Err(e);
    }
    Ok(personas)
}

/// `wanted`, or `wanted_2`, `wanted_3`… — the first handle no persona has and `taken` does not hold.
async fn free_username(
    c: &impl database::GenericClient,
    wanted: &str,
    taken: &[String],
) -> Result<String, StudioError> {
    for n in 1..100 {
        let candidate = if n == 1 {
            wanted.to_owned()
        } else {
            let suffix = format!("_{n}");
            let stem: String = wanted.chars().take(profile::USERNAME_CHARS.1 - suffix.len()).collect();
            format!("{stem}{suffix}")
        };
        if !taken.contains(&candidate) && personas::find_by_username(c, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(StudioError::Conflict(format!("no free handle near {wanted:?}")))
}

/// What an edit may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonaPatch {
    /// Handle (lowercase letters, digits, single underscores; 3–20).
    #[schema(min_length = 3, max_length = 20, pattern = "^[a-z0-9]+(_[a-z0-9]+)*$")]
    pub username: Option<String>,
    /// Shown name (2–40 characters).
    #[schema(min_length = 2, max_length = 40)]
    pub display_name: Option<String>,
    /// Who they are (at most 2,000 characters).
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    /// How they write (at most 1,000 characters).
    #[schema(max_length = 1000)]
    pub voice: Option<String>,
    /// Character traits (at most 12, each 1–80 characters).
    #[schema(max_items = 12)]
    pub traits: Option<Vec<String>>,
    /// Extra writing rules (at most 12, each 1–300 characters).
    #[schema(max_items = 12)]
    pub modules: Option<Vec<String>>,
    /// Topics (at most 12, each 1–80 characters).
    #[schema(max_items = 12)]
    pub interests: Option<Vec<String>>,
    /// IANA time zone, e.g. `Europe/Lisbon`.
    pub timezone: Option<String>,
    /// Local hour they wake, 0–23.
    #[schema(minimum = 0, maximum = 23)]
    pub active_hours_start: Option<i16>,
    /// Local hour they stop, 1–24.
    #[schema(minimum = 1, maximum = 24)]
    pub active_hours_end: Option<i16>,
    /// Active (true) or paused (false).
    pub is_active: Option<bool>,
    /// 3–8 texts in its voice (each at most 800 characters), of clearly different lengths (one of at most
    /// 12 words, one of at least 25 and three times the shortest), without the marks of machine text.
    #[schema(min_items = 3, max_items = 8)]
    pub voice_bank: Option<Vec<String>>,
    /// How often it comes by.
    pub chattiness: Option<Chattiness>,
    /// How it votes.
    pub voting_temperament: Option<Temperament>,
    /// Whether it notices what is trending (its post prompts offer the trending topics that fit the
    /// board and its interests; its sessions see which feed items are trending).
    pub trend_aware: Option<bool>,
    /// How it looks (100–200 words).
    #[schema(min_length = 100, max_length = 4000)]
    pub character_reference: Option<String>,
}

/// Why `text` cannot go into the public profile field `field`: a control character (a bio may have line
/// breaks) or an invisible one such as a bidirectional override, named with its code point.
pub fn unshowable(field: &str, text: &str) -> Option<String> {
    let bad = text.chars().find(|&c| {
        (c.is_control() && !(field == "bio" && matches!(c, '\n' | '\r' | '\t'))) || crate::ai::parse::is_invisible(c)
    })?;
    let what = if bad.is_control() { "a control character" } else { "an invisible or text-direction character" };
    Some(format!("{field} contains {what} (U+{:04X}), which a profile page would not show as written", bad as u32))
}

fn bounded(field: &str, text: &str, chars: (usize, usize)) -> Result<String, StudioError> {
    check_text(field, text).map_err(StudioError::BadRequest)?;
    let text = text.trim().to_owned();
    let len = text.chars().count();
    if len < chars.0 || len > chars.1 {
        return Err(StudioError::BadRequest(format!("{field} must be {} to {} characters", chars.0, chars.1)));
    }
    Ok(text)
}

fn bounded_list(field: &str, items: &[String], most: usize, chars: usize) -> Result<Vec<String>, StudioError> {
    if items.len() > most {
        return Err(StudioError::BadRequest(format!("{field} takes at most {most} items")));
    }
    items.iter().map(|i| bounded(field, i, (1, chars))).collect()
}

/// Applies `patch` to persona `id` and stores it (one transaction; concurrent edits wait).
pub async fn edit(engine: &Engine, id: Uuid, patch: &PersonaPatch) -> Result<Persona, StudioError> {
    Ok(edit_from(engine, id, patch).await?.1)
}

/// [`edit`], returning the persona as it was before the edit (read in the same transaction) and after.
pub async fn edit_from(engine: &Engine, id: Uuid, patch: &PersonaPatch) -> Result<(Persona, Persona), StudioError> {
    let mut client = engine.pool.get().await?;
    let tx = database::begin(&mut client).await?;
    let before = personas::find_for_update(&tx, id)
        .await?
        .ok_or_else(|| StudioError::NotFound(format!("persona {id} not found")))?;
    let mut p = before.clone();
    for (field, value) in [("username", &patch.username), ("display_name", &patch.display_name), ("bio", &patch.bio)] {
        if let Some(problem) = value.as_deref().and_then(|v| unshowable(field, v)) {
            return Err(StudioError::Unshowable(problem));
        }
    }
    if let Some(username) = &patch.username {
        check_text("username", username).map_err(StudioError::BadRequest)?;
        // An operator's handle is taken as given or refused, not rewritten as a model's is.
        let normal = profile::normalise_username(username);
        if let Some(problem) = profile::username_problem(&normal) {
            return Err(StudioError::BadRequest(problem));
        }
        if normal != username.trim() {
            return Err(StudioError::BadRequest(format!(
                "username must be lowercase letters, digits or single underscores (like {normal:?})"
            )));
        }
        if let Some(other) = personas::find_by_username(&tx, &normal).await?
            && other.id != id
        {
            return Err(StudioError::Conflict(format!("username {normal:?} is taken by persona {}", other.id)));
        }
        p.username = normal;
    }
    if let Some(v) = &patch.display_name {
        p.display_name = bounded("display_name", v, (2, 40))?;
    }
    if let Some(v) = &patch.bio {
        p.bio = bounded("bio", v, (0, 2000))?;
    }
    if let Some(v) = &patch.voice {
        p.voice = bounded("voice", v, (0, 1000))?;
    }
    if let Some(v) = &patch.traits {
        p.traits = bounded_list("traits", v, 12, 80)?;
    }
    if let Some(v) = &patch.modules {
        p.modules = bounded_list("modules", v, 12, 300)?;
    }
    if let Some(v) = &patch.interests {
        p.interests = bounded_list("interests", v, 12, 80)?.into_iter().map(|i| i.to_lowercase()).collect();
    }
    if let Some(v) = &patch.timezone {
        if let Some(problem) = profile::timezone_problem(v.trim()) {
            return Err(StudioError::BadRequest(problem));
        }
        p.timezone = v.trim().to_owned();
    }
    for (name, given, bounds, hour) in [
        ("active_hours_start", patch.active_hours_start, profile::START_HOURS, &mut p.active_hours_start),
        ("active_hours_end", patch.active_hours_end, profile::END_HOURS, &mut p.active_hours_end),
    ] {
        if let Some(h) = given {
            if let Some(problem) = profile::hour_problem(name, i64::from(h), &bounds) {
                return Err(StudioError::BadRequest(problem));
            }
            *hour = h;
        }
    }
    if let Some(problem) = profile::same_hours_problem(p.active_hours_start, p.active_hours_end) {
        return Err(StudioError::BadRequest(problem));
    }
    if let Some(v) = patch.is_active {
        p.is_active = v;
    }
    if let Some(bank) = &patch.voice_bank {
        let bank = bounded_list("voice_bank", bank, profile::BANK_TEXTS.1, 800)?;
        let problems = profile::bank_problems(&bank, &[]);
        if !problems.is_empty() {
            return Err(StudioError::BadRequest(format!("voice_bank: {}", problems.join("; "))));
        }
        p.voice_bank = bank;
    }
    if let Some(v) = patch.chattiness {
        p.chattiness = Some(v);
    }
    if let Some(v) = patch.voting_temperament {
        p.voting_temperament = Some(v);
    }
    if let Some(v) = patch.trend_aware {
        p.trend_aware = v;
    }
    if let Some(v) = &patch.character_reference {
        check_text("character_reference", v).map_err(StudioError::BadRequest)?;
        p.character_reference = Some(
            avatar::parse_reference(&serde_json::json!({ "description": v }).to_string())
                .map_err(|why| StudioError::BadRequest(format!("character_reference: {why}")))?,
        );
    }
    personas::update(&tx, &p).await.map_err(handle_race)?;
    tx.commit().await?;
    Ok((before, p))
}
