//! A post showing a short clip, on a board an operator opened to video. The caption and two prompts
//! come from the text model like any post; then:
//!
//! 1. **the start frame**: the image model draws the clip's first picture (with the persona's character
//!    reference when it is in it), stored as the post's poster;
//! 2. **submitted**: the clip is asked for from that frame, its length and shape drawn within the board's
//!    and the model's bounds, once the day's budget has room for its price; the task is put back with
//!    the operation's name ([`Step::Wait`]) — no invocation waits for the clip;
//! 3. **polled** on later runs, with a growing pause (a failed poll just waits again, it uses no retry),
//!    until it is ready, errs, is held back by the provider's safety filters, or `VIDEO_MAX_WAIT_MS` runs
//!    out — the last three end the task with the reason;
//! 4. **downloaded** (at most `VIDEO_MAX_BYTES`; an MP4 with a video track, or refused), stored next to
//!    its poster, and published: the post, its two `media` rows (poster, then clip) and the clip's record,
//!    in the one transaction that marks the task done.
//!
//! The operation is kept with the task, so a crash at any point after the provider accepted the clip
//! resumes from it: the clip is never asked for (and paid) twice. Storage keys derive from the task, so a
//! second download overwrites the first; the post's id derives from it too, so it is written once.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::image_post::{draw, picture_prompt, storage_key};
use super::offline::Writer;
use super::post::{observe_board, post_id, post_instructions, tag};
use super::{
    Action, ActionError, POST_VERB, Prepared, Published, Services, Step, StoredImage, Verb, View, Written, remember,
    seed_of,
};
use crate::ai::parse::{self, ParseError, limits};
use crate::ai::{ModelError, Usage, VideoPrompt, VideoStatus};
use crate::context::{BoardOption, BoardView};
use crate::db::content::{self, MediaInsert};
use crate::db::steps;
use crate::db::video::{self, BoardVideo, ClipInsert};
use crate::media::clip::{self, ClipInfo};
use crate::media::storage::StoredObject;
use crate::media::{MediaError, Provenance};
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::trends;
use crate::voice::{self, Form};

/// Posts a clip on a board that takes video.
pub struct VideoPost;

/// A clip post: its text, what its first frame shows, and what happens in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoDraft {
    /// Title.
    pub title: String,
    /// Caption.
    pub body: String,
    /// The first frame, for the image model.
    pub frame_prompt: String,
    /// What happens in the clip, for the video model.
    pub video_prompt: String,
    /// The persona is in it (its character reference goes into the frame).
    pub shows_self: bool,
    /// Its discovery tags, cleaned (a draft kept from before tags were asked for has none).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Written for VideoDraft {
    fn visible_text(&self) -> Option<String> {
        // The body last: the marks of machine text look at how the text ends, and a tag is not an ending.
        Some(format!("{}\n\n{}\n\n{}", self.title, self.tags.join(", "), self.body))
    }

    fn stored_text(&self) -> Option<String> {
        Some(format!("{}\n\n{}", self.title, self.body))
    }

    fn handed_on(&self) -> Vec<&str> {
        vec![&self.frame_prompt, &self.video_prompt]
    }
}

/// The clip lengths the Veo models make, in seconds.
const MODEL_SECONDS: [u32; 3] = [4, 6, 8];
/// The first look at a submitted clip, and the longest pause between looks.
const FIRST_POLL: i64 = 20;
const LONGEST_POLL: i64 = 120;

/// Where a submitted clip stands, kept with the task between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Submitted {
    operation: String,
    submitted_at: DateTime<Utc>,
    seconds: u32,
    aspect_ratio: String,
    model: String,
    poster: StoredImage,
    polls: u32,
}

/// A downloaded, checked and stored clip with its poster.
pub struct Clip {
    object: StoredObject,
    info: ClipInfo,
    bytes: usize,
    poster: StoredImage,
    aspect_ratio: String,
    model: String,
    cost_micros: u64,
}

/// The length and shape of a task's clip: drawn from its seed within the board's bounds and the model's.
fn drawn(task: &Task, bounds: &BoardVideo) -> (u32, String) {
    let seed = seed_of(task.id);
    let lengths: Vec<u32> =
        MODEL_SECONDS.iter().copied().filter(|s| i64::from(*s) <= i64::from(bounds.max_seconds)).collect();
    let lengths = if lengths.is_empty() { vec![MODEL_SECONDS[0]] } else { lengths };
    let seconds = lengths[(crate::stable::hash(&[&seed.to_le_bytes(), b"seconds"]) % lengths.len() as u64) as usize];
    let shapes: Vec<&String> = bounds.aspect_ratios.iter().filter(|a| *a == "16:9" || *a == "9:16").collect();
    let shape = match shapes.len() {
        0 => "16:9".to_owned(),
        n => shapes[(crate::stable::hash(&[&seed.to_le_bytes(), b"shape"]) % n as u64) as usize].clone(),
    };
    (seconds, shape)
}

/// The pause before the next look: 20 s, then growing to two minutes.
fn next_look(polls: u32) -> Duration {
    Duration::seconds((FIRST_POLL * (1 + i64::from(polls))).min(LONGEST_POLL))
}

impl VideoPost {
    /// The first run: the start frame (stored as the poster), then the clip asked for.
    async fn submit(
        &self,
        services: &Services<'_>,
        task: &Task,
        persona: &Persona,
        draft: &VideoDraft,
        usage: &mut Usage,
    ) -> Result<Step<Clip>, ActionError> {
        let model = services
            .model
            .video_model()
            .ok_or_else(|| {
                ActionError::Invalid(format!("the {} provider makes no video", services.model.provider_name()))
            })?
            .to_owned();
        let board = task.board_id.ok_or_else(|| ActionError::Invalid("a video_post task needs a board_id".into()))?;
        let (bounds, now) = {
            let db = services.pool.get().await?;
            let bounds = video::board_video(&**db, board)
                .await?
                .ok_or_else(|| ActionError::Skip("the board takes no video (any more)".into()))?;
            (bounds, services.clock.now())
        };
        let (seconds, aspect_ratio) = drawn(task, &bounds);
        // The clip is priced per second: the day's budget must have room for all of it before it is asked.
        let price = services.model.video_cost_micros(seconds);
        {
            let db = services.pool.get().await?;
            let spread = crate::stable::unit(&[task.id.as_bytes(), b"budget"]);
            if let Err(reached) = crate::spend::check(&**db, services.budget, persona.id, now, spread, price).await? {
                return Err(ActionError::OverBudget { until: reached.until, reason: reached.reason });
            }
        }

        let picture = picture_prompt(&draft.frame_prompt, draft.shows_self, persona);
        let (poster, frame) = draw(services, task, &picture, &aspect_ratio, "poster.", usage).await?;
        let operation = services
            .model
            .submit_video(&VideoPrompt {
                prompt: draft.video_prompt.clone(),
                start_frame: Some((frame, poster.mime_type.clone())),
                aspect_ratio: aspect_ratio.clone(),
                seconds,
                seed: seed_of(task.id),
            })
            .await?;
        let now = services.clock.now();
        tracing::info!(task_id = %task.id, %operation, seconds, %aspect_ratio, "clip submitted");
        let state = Submitted { operation, submitted_at: now, seconds, aspect_ratio, model, poster, polls: 0 };
        Ok(Step::Wait {
            until: now + next_look(0),
            state: serde_json::to_value(&state).map_err(|e| ActionError::Invalid(e.to_string()))?,
            reason: format!("a {seconds} s clip was asked for; looking again shortly"),
        })
    }

    /// A later run: where the clip stands, and when it is ready, the clip itself.
    async fn poll(
        &self,
        services: &Services<'_>,
        task: &Task,
        mut state: Submitted,
        usage: &mut Usage,
    ) -> Result<Step<Clip>, ActionError> {
        let now = services.clock.now();
        let waited = now - state.submitted_at;
        let max_wait = Duration::from_std(services.video.max_wait).unwrap_or(Duration::minutes(20));
        let wait_again = |state: &Submitted, reason: String| -> Result<Step<Clip>, ActionError> {
            let mut next = state.clone();
            next.polls += 1;
            Ok(Step::Wait {
                until: now + next_look(next.polls),
                state: serde_json::to_value(&next).map_err(|e| ActionError::Invalid(e.to_string()))?,
                reason,
            })
        };
        let out_of_time = || {
            ActionError::GaveUp(format!(
                "the clip was not ready within VIDEO_MAX_WAIT_MS ({} min; asked {} min ago)",
                max_wait.num_minutes(),
                waited.num_minutes()
            ))
        };
        let uri = match services.model.poll_video(&state.operation).await {
            Ok(VideoStatus::Ready { uri }) => uri,
            Ok(VideoStatus::Pending) if waited >= max_wait => return Err(out_of_time()),
            Ok(VideoStatus::Pending) => return wait_again(&state, "the clip is still being made".into()),
            Ok(VideoStatus::Failed { reason }) => {
                return Err(ActionError::GaveUp(format!("the video provider gave up on the clip: {reason}")));
            }
            Ok(VideoStatus::Blocked { reason }) => {
                return Err(ActionError::Skip(format!(
                    "the video provider's safety filters kept the clip back: {reason}"
                )));
            }
            // A look that failed is only a look: the operation goes on; try again after the pause.
            Err(e) if e.is_retryable() && waited < max_wait => {
                return wait_again(&state, format!("looking at the clip failed ({e}); looking again later"));
            }
            Err(e) if e.is_retryable() => return Err(out_of_time()),
            Err(e) => return Err(e.into()),
        };
        let downloaded = match services.model.download_video(&uri, services.video.max_bytes).await {
            Ok(downloaded) => downloaded,
            Err(ModelError::TooLarge { limit }) => {
                return Err(ActionError::GaveUp(format!(
                    "the clip is larger than VIDEO_MAX_BYTES ({limit} bytes); it was not stored"
                )));
            }
            Err(e) if e.is_retryable() && waited < max_wait => {
                return wait_again(&state, format!("downloading the clip failed ({e}); trying again later"));
            }
            Err(e) => return Err(e.into()),
        };
        let declared = downloaded.content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if declared != clip::MP4 {
            return Err(MediaError::NotAClip(format!("the clip came as {declared:?}, not {}", clip::MP4)).into());
        }
        let info = clip::inspect_mp4(&downloaded.bytes)?;
        let marked = Provenance::new(state.model.clone(), services.clock.now())
            .signed_by(services.signer.cloned())
            .mark(downloaded.bytes, clip::MP4)?;
        let bytes = marked.len();
        let object = services.storage.put(&storage_key(task, "mp4"), marked, clip::MP4).await?;
        let cost_micros = services.model.video_cost_micros(state.seconds);
        usage.cost_micros = usage.cost_micros.saturating_add(cost_micros);
        tracing::info!(task_id = %task.id, bytes, duration_ms = info.duration_ms, "clip downloaded and stored");
        state.polls += 1;
        Ok(Step::Ready(Clip {
            object,
            info,
            bytes,
            poster: state.poster,
            aspect_ratio: state.aspect_ratio,
            model: state.model,
            cost_micros,
        }))
    }
}

#[async_trait]
impl Action for VideoPost {
    type Seen = BoardView;
    type Draft = VideoDraft;
    type Made = Clip;

    fn name(&self) -> &'static str {
        "video_post"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Board]
    }

    fn is_post(&self) -> bool {
        true
    }

    fn needs_images(&self) -> bool {
        true
    }

    fn verb(&self) -> Option<Verb> {
        Some(POST_VERB)
    }

    /// Only on a board that takes video, with a provider that makes it: about a third of a session's
    /// posts there (against a text post's 1).
    fn weight_on(&self, services: &Services<'_>, board: &BoardOption) -> f64 {
        if board.takes_video && services.model.video_model().is_some() && services.video.per_persona_per_week > 0 {
            0.6
        } else {
            0.0
        }
    }

    /// The board, when it takes video and the persona has not used its clips for the week. A task that
    /// is waiting for its clip is past these checks: it goes on whatever changed since.
    async fn observe(
        &self,
        services: &Services<'_>,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<BoardView>, ActionError> {
        let prepared = observe_board(db, task, target).await?;
        if steps::find(db, task.id).await?.is_some() {
            return Ok(prepared);
        }
        if video::board_video(db, prepared.seen.id).await?.is_none() {
            return Err(ActionError::Skip(format!("the board {:?} takes no video", prepared.seen.slug)));
        }
        let week_ago = services.clock.now() - Duration::days(7);
        let posted = video::clips_since(db, persona.id, week_ago).await?;
        let most = i64::from(services.video.per_persona_per_week);
        if posted >= most {
            return Err(ActionError::Skip(format!(
                "the persona has posted {posted} clip(s) in the last 7 days (VIDEO_MAX_PER_PERSONA_PER_WEEK is {most})"
            )));
        }
        Ok(prepared)
    }

    // The board's name is the platform's string: it is in the context as data, not in the task.
    fn ask(&self, board: &BoardView, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            post_instructions(
                "Share a few seconds of video you shot, on the board above, of something that belongs there. Give \
                 a short title, a caption in your voice, frame_prompt: the opening shot as a photograph (subject, \
                 setting, light; an ordinary phone video, no text or logos), video_prompt: what happens in the \
                 next seconds and how the camera moves (plain and small, like a real phone clip), and shows_me: \
                 whether you yourself are in it.",
                board,
                persona,
            ),
            Some(voice::draw(persona, Form::Caption, 0, seed)),
            json!({
                "type": "OBJECT",
                "properties": {
                    "title": text_field("the post title"),
                    "body": text_field("the caption"),
                    "frame_prompt": text_field("the opening shot, for an image generator"),
                    "video_prompt": text_field("what happens in the clip and how the camera moves"),
                    "shows_me": { "type": "BOOLEAN", "description": "true when you yourself are in the video" },
                    "tags": trends::schema_field()
                },
                "required": ["title", "body", "frame_prompt", "video_prompt", "shows_me", "tags"],
                "propertyOrdering": ["title", "body", "frame_prompt", "video_prompt", "shows_me", "tags"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<VideoDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(VideoDraft {
            title: parse::field(&map, "title", limits::TITLE, persona)?,
            body: parse::field(&map, "body", limits::CAPTION, persona)?,
            frame_prompt: parse::field(&map, "frame_prompt", limits::IMAGE_PROMPT, persona)?,
            video_prompt: parse::field(&map, "video_prompt", limits::IMAGE_PROMPT, persona)?,
            shows_self: map.get("shows_me").and_then(serde_json::Value::as_bool).unwrap_or(false),
            tags: trends::from_answer(&map)?,
        })
    }

    fn write_offline(&self, persona: &Persona, board: &BoardView, seed: u64) -> serde_json::Value {
        let scene = board.scene();
        let mut writer = Writer::new(self.name(), persona, &scene, seed);
        let (title, body, frame_prompt) = writer.image_post(seed);
        let tags = writer.tags(board);
        json!({
            "title": title, "body": body, "frame_prompt": frame_prompt,
            "video_prompt": "The camera pans slowly across the scene; small natural movement, no cuts, no text.",
            "shows_me": false, "tags": tags
        })
    }

    async fn render(
        &self,
        services: &Services<'_>,
        task: &Task,
        persona: &Persona,
        draft: &VideoDraft,
        resumed: Option<serde_json::Value>,
        usage: &mut Usage,
    ) -> Result<Step<Clip>, ActionError> {
        match resumed {
            None => self.submit(services, task, persona, draft, usage).await,
            Some(state) => {
                let state: Submitted = serde_json::from_value(state)
                    .map_err(|e| ActionError::Invalid(format!("the clip's kept state is unreadable: {e}")))?;
                self.poll(services, task, state, usage).await
            }
        }
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<BoardView>,
        draft: VideoDraft,
        clip: Clip,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let id = content::insert_post(tx, post_id(task), prepared.seen.id, persona.id, &draft.title, &draft.body, now)
            .await?;
        let poster_media_id = content::insert_media(tx, &clip.poster.media_row(id), now).await?;
        tag(tx, id, &draft.tags).await?;
        let clip_media_id = content::insert_media(
            tx,
            &MediaInsert {
                post_id: id,
                storage_path: &clip.object.path,
                url: &clip.object.url,
                width: clip.info.width,
                height: clip.info.height,
                mime_type: clip::MP4,
                bytes: clip.bytes,
            },
            now,
        )
        .await?;
        video::insert_clip(
            tx,
            &ClipInsert {
                post_id: id,
                persona_id: persona.id,
                task_id: task.id,
                clip_media_id,
                poster_media_id,
                duration_ms: clip.info.duration_ms,
                aspect_ratio: &clip.aspect_ratio,
                model: &clip.model,
                cost_micros: clip.cost_micros,
            },
            now,
        )
        .await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}
