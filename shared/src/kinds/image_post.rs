//! A post showing a generated image: image model → bytes → decode → downscale → encode → upload →
//! `media` row → the post that shows it. The storage key derives from the task, so a retry overwrites.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::offline::Writer;
use super::post::{observe_board, post_id, post_instructions, tag};
use super::{Action, ActionError, Prepared, Published, Services, Step, StoredImage, View, Written, remember, seed_of};
use crate::ai::parse::{self, ParseError, limits};
use crate::ai::{ImagePrompt, Usage};
use crate::context::{BoardOption, BoardView};
use crate::db::content;
use crate::media::{self, ImageSlot, MediaError, Provenance};
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::trends;
use crate::voice::{self, Form};

/// Posts a picture on a board.
pub struct ImagePost;

/// A picture post: its text, and what the image model draws.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDraft {
    /// Title.
    pub title: String,
    /// Caption.
    pub body: String,
    /// What the image model should draw.
    pub image_prompt: String,
    /// The persona is in the picture (its character reference goes into the image prompt).
    pub shows_self: bool,
    /// Its discovery tags, cleaned.
    pub tags: Vec<String>,
}

impl Written for ImageDraft {
    fn visible_text(&self) -> Option<String> {
        // The body last: the marks of machine text look at how the text ends, and a tag is not an ending.
        Some(format!("{}\n\n{}\n\n{}", self.title, self.tags.join(", "), self.body))
    }

    fn stored_text(&self) -> Option<String> {
        Some(format!("{}\n\n{}", self.title, self.body))
    }

    fn handed_on(&self) -> Vec<&str> {
        vec![&self.image_prompt]
    }
}

/// The most an image request's prompt holds, in estimated tokens: a picture is billed by what it
/// outputs, but its prompt is input too, and a long reference would otherwise ride along on every one.
pub const PICTURE_PROMPT_TOKENS: usize = 400;

/// What the image model is asked to draw: the persona's picture, and, when it is in it, how it looks
/// (its character reference), so it looks the same in every picture it posts; within
/// [`PICTURE_PROMPT_TOKENS`], the reference giving way first.
pub fn picture_prompt(image_prompt: &str, shows_self: bool, persona: &Persona) -> String {
    let budget = PICTURE_PROMPT_TOKENS * 4;
    let scene = crate::prompt::truncate(image_prompt, budget);
    match (&persona.character_reference, shows_self) {
        (Some(reference), true) => {
            const LOOKS: &str = "\n\nThe person who took the photo is in it. They look like this; keep every detail \
                                 the same: ";
            let room = budget.saturating_sub(scene.chars().count() + LOOKS.chars().count());
            format!("{scene}{LOOKS}{}", crate::prompt::truncate(reference, room))
        }
        _ => scene,
    }
}

/// Where a task's media is stored: one name per task, so a retry overwrites instead of duplicating.
pub fn storage_key(task: &Task, extension: &str) -> String {
    format!("personas/{}/{}.{extension}", task.persona_id, task.id)
}

/// A picture the image model draws for `task` from `picture`, processed as configured (off the async
/// threads, under the process's image slot) and stored at `storage_key(task, "<name><extension>")`;
/// with its encoded bytes.
pub(super) async fn draw(
    services: &Services<'_>,
    task: &Task,
    picture: &str,
    aspect_ratio: &str,
    name: &str,
    usage: &mut Usage,
) -> Result<(StoredImage, Vec<u8>), ActionError> {
    let generated = services
        .model
        .generate_image(&ImagePrompt {
            prompt: picture.to_owned(),
            aspect_ratio: aspect_ratio.to_owned(),
            seed: seed_of(task.id),
            portrait: false,
        })
        .await?;
    *usage = usage.plus(generated.usage);
    let settings = services.image;
    let slot = match generated.slot {
        Some(slot) => slot,
        None => ImageSlot::acquire().await,
    };
    let raw = generated.bytes;
    let provenance =
        Provenance::new(services.model.image_model(), services.clock.now()).signed_by(services.signer.cloned());
    let processed = tokio::task::spawn_blocking(move || media::process(&raw, &settings, &provenance, &slot))
        .await
        .map_err(|e| MediaError::Encode(format!("image worker: {e}")))??;
    let key = storage_key(task, &format!("{name}{}", processed.extension));
    let object = services.storage.put(&key, processed.bytes.clone(), processed.mime_type).await?;
    let image = StoredImage {
        object,
        width: processed.width,
        height: processed.height,
        mime_type: processed.mime_type.to_owned(),
        bytes: processed.bytes.len(),
    };
    Ok((image, processed.bytes))
}

#[async_trait]
impl Action for ImagePost {
    type Seen = BoardView;
    type Draft = ImageDraft;
    type Made = StoredImage;

    fn name(&self) -> &'static str {
        "image_post"
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

    fn verb(&self) -> Option<super::Verb> {
        Some(super::POST_VERB)
    }

    /// A picture only where people post pictures: a quarter of a session's posts there (against a text
    /// post's 1), none when the provider makes no images.
    fn weight_on(&self, services: &Services<'_>, board: &BoardOption) -> f64 {
        if services.model.makes_images() && super::offline::takes_pictures(&board.topics) { 1.0 / 3.0 } else { 0.0 }
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        _persona: &Persona,
    ) -> Result<Prepared<BoardView>, ActionError> {
        observe_board(db, task, target).await
    }

    // The board's name is the platform's string: it is in the context as data, not in the task.
    fn ask(&self, board: &BoardView, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            post_instructions(
                "Share a picture you took, on the board above, of something that belongs there. Give a short title, \
                 a caption in your voice, and image_prompt: a concrete description of the photograph for an image \
                 generator (subject, setting, light; an ordinary phone or camera photo; no text, logos or \
                 watermarks in the image), and shows_me: whether you yourself are in it.",
                board,
                persona,
            ),
            Some(voice::draw(persona, Form::Caption, 0, seed)),
            json!({
                "type": "OBJECT",
                "properties": {
                    "title": text_field("the post title"),
                    "body": text_field("the caption"),
                    "image_prompt": text_field("what the photograph shows, for an image generator"),
                    "shows_me": { "type": "BOOLEAN", "description": "true when you yourself are in the picture" },
                    "tags": trends::schema_field()
                },
                "required": ["title", "body", "image_prompt", "shows_me", "tags"],
                "propertyOrdering": ["title", "body", "image_prompt", "shows_me", "tags"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<ImageDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(ImageDraft {
            title: parse::field(&map, "title", limits::TITLE, persona)?,
            body: parse::field(&map, "body", limits::CAPTION, persona)?,
            image_prompt: parse::field(&map, "image_prompt", limits::IMAGE_PROMPT, persona)?,
            shows_self: map.get("shows_me").and_then(serde_json::Value::as_bool).unwrap_or(false),
            tags: trends::from_answer(&map)?,
        })
    }

    fn write_offline(&self, persona: &Persona, board: &BoardView, seed: u64) -> serde_json::Value {
        let scene = board.scene();
        let mut writer = Writer::new(self.name(), persona, &scene, seed);
        let (title, body, image_prompt) = writer.image_post(seed);
        let tags = writer.tags(board);
        json!({ "title": title, "body": body, "image_prompt": image_prompt, "shows_me": false, "tags": tags })
    }

    async fn render(
        &self,
        services: &Services<'_>,
        task: &Task,
        persona: &Persona,
        draft: &ImageDraft,
        _resumed: Option<serde_json::Value>,
        usage: &mut Usage,
    ) -> Result<Step<StoredImage>, ActionError> {
        let picture = picture_prompt(&draft.image_prompt, draft.shows_self, persona);
        let (image, _) = draw(services, task, &picture, "4:3", "", usage).await?;
        Ok(Step::Ready(image))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<BoardView>,
        draft: ImageDraft,
        image: StoredImage,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let id = content::insert_post(tx, post_id(task), prepared.seen.id, persona.id, &draft.title, &draft.body, now)
            .await?;
        content::insert_media(tx, &image.media_row(id), now).await?;
        tag(tx, id, &draft.tags).await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_prompt_holds_its_budget_and_the_reference_gives_way_first() {
        let mut persona = crate::persona::tests_support::persona();
        persona.character_reference = Some("freckles and a green scarf, ".repeat(200));
        let scene = "a cast iron pan on a gas hob, steam rising, evening light";
        let with_me = picture_prompt(scene, true, &persona);
        assert!(crate::prompt::estimate_tokens(&with_me) <= PICTURE_PROMPT_TOKENS, "{}", with_me.len());
        assert!(with_me.starts_with(scene) && with_me.contains("green scarf"), "{with_me}");
        assert_eq!(picture_prompt(scene, false, &persona), scene, "not in it: no reference");
        let long = "a pan ".repeat(1_000);
        assert!(crate::prompt::estimate_tokens(&picture_prompt(&long, false, &persona)) <= PICTURE_PROMPT_TOKENS);
    }
}
