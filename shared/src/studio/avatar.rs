//! A persona's face: the avatar the image model makes from its profile (a photograph of a person, an
//! illustration of a character), cropped to a 512-pixel square, and the character reference — one
//! look at that avatar, written down in 100–200 words, so its later pictures show the same one.

use serde_json::json;

use super::profile::{Picture, Profile};
use crate::ai::parse;
use crate::ai::{Attachment, ImagePrompt, OfflineAnswer, Prompt};

/// The side of an avatar, in pixels.
pub const AVATAR_SIDE: u32 = 512;
/// A character reference's length, in words.
pub const REFERENCE_WORDS: (usize, usize) = (100, 200);

/// What the image model is asked to draw.
pub fn image_prompt(profile: &Profile, seed: u64) -> ImagePrompt {
    let prompt = match profile.picture {
        Picture::Photo => format!(
            "A casual profile photo for a forum account: {}. Head and shoulders, looking at the camera, natural \
             light, taken on a phone, an ordinary background, realistic. No text, logos or watermarks.",
            profile.looks
        ),
        Picture::Illustration => format!(
            "A profile picture for a forum account, an illustration of this character: {}. Head and shoulders, \
             centred, a simple background, one consistent drawing style. No text, logos or watermarks.",
            profile.looks
        ),
    };
    ImagePrompt { prompt, aspect_ratio: "1:1".into(), seed, portrait: true }
}

const SYSTEM: &str = "You describe pictures precisely and plainly, for an illustrator who must draw the same \
person or character again.";

/// The vision call: the avatar shown with a request for its description.
pub fn reference_prompt(avatar: Attachment, profile: &Profile, seed: u64) -> Prompt {
    let offline = offline_reference(profile);
    Prompt {
        system: SYSTEM.into(),
        user: format!(
            "Describe the person or character in this picture in {} to {} words, so that another picture of \
             them would look the same: apparent age, face, skin, hair, build, clothes and their colours, \
             anything distinctive, and the style of the picture (photograph or which kind of illustration). \
             Describe only what you see. Plain prose, no lists.",
            REFERENCE_WORDS.0, REFERENCE_WORDS.1
        ),
        schema: json!({
            "type": "OBJECT",
            "properties": { "description": { "type": "STRING", "description": "the description" } },
            "required": ["description"],
            "propertyOrdering": ["description"]
        }),
        class: crate::ai::ModelClass::Vision,
        temperature: 0.4,
        max_output_tokens: 1024,
        seed,
        offline: Some(OfflineAnswer::new(move |_| json!({ "description": offline }))),
        image: Some(avatar),
    }
}

/// The description in `answer`, or why it cannot be used.
pub fn parse_reference(answer: &str) -> Result<String, String> {
    let map = parse::json_object(answer).map_err(|e| e.to_string())?;
    let text = map
        .get("description")
        .and_then(|v| v.as_str())
        .map(parse::printable)
        .ok_or_else(|| "description is missing".to_owned())?;
    let words = text.split_whitespace().count();
    if words < REFERENCE_WORDS.0 || words > REFERENCE_WORDS.1 {
        return Err(format!(
            "the description must be {} to {} words (it has {words})",
            REFERENCE_WORDS.0, REFERENCE_WORDS.1
        ));
    }
    Ok(text)
}

/// What the offline provider "sees": it paints the avatar itself, so it describes what it was asked to
/// paint, from the profile, in the reference's length.
fn offline_reference(profile: &Profile) -> String {
    let style = match profile.picture {
        Picture::Photo => "a casual phone photograph, natural light, slightly soft focus",
        Picture::Illustration => "a flat illustration with clean outlines and simple shading",
    };
    let mut text = format!(
        "The picture is {style}, framed head and shoulders and centred, facing the viewer. It shows {}. The \
         face is calm and open, with a small, unforced smile and eyes looking straight ahead. The hair sits \
         close to the head and is the darkest part of the picture, framing the face on both sides. The \
         shoulders fill the lower third of the frame in a plain top with no print or writing on it. The \
         background is a single soft colour that darkens slightly towards the bottom, with nothing else in \
         it. The light comes evenly from the front, so there are no strong shadows on the face. The overall \
         impression is of {}, someone ordinary and approachable, photographed on a normal day rather than \
         posed for a portrait.",
        profile.looks, profile.display_name
    );
    let words = text.split_whitespace().count();
    if words > REFERENCE_WORDS.1 {
        text = text.split_whitespace().take(REFERENCE_WORDS.1).collect::<Vec<_>>().join(" ");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::personas::{Chattiness, Temperament};

    fn profile(looks: &str) -> Profile {
        Profile {
            username: "ines_sourdough".into(),
            display_name: "Ines Moreau".into(),
            bio: "A nurse in Lisbon who bakes.".into(),
            voice: "Short, dry.".into(),
            traits: vec!["patient".into(), "dry".into()],
            interests: vec!["baking".into(), "cycling".into()],
            timezone: "Europe/Lisbon".into(),
            active_hours_start: 7,
            active_hours_end: 22,
            chattiness: Chattiness::Regular,
            voting_temperament: Temperament::Balanced,
            voice_bank: vec![],
            looks: looks.into(),
            picture: Picture::Photo,
        }
    }

    #[test]
    fn the_offline_reference_has_the_reference_length_whatever_the_looks() {
        for looks in ["a woman in her forties", &"a very long description of a face ".repeat(20)] {
            let text = offline_reference(&profile(looks));
            let answer = json!({ "description": text }).to_string();
            assert!(parse_reference(&answer).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_description_outside_the_bounds_is_refused_with_its_length() {
        let short = json!({ "description": "A man with a beard." }).to_string();
        assert!(parse_reference(&short).unwrap_err().contains("it has 5"));
        assert!(parse_reference("{}").unwrap_err().contains("missing"));
    }
}
