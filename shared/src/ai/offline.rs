//! The offline provider: no network, no key. It is **not a language model**: a text answer is what the
//! kind that asks writes for itself from templates (`kinds::offline`), handed over with the prompt, and
//! an image is a procedurally painted landscape. It exists so the demo, the simulator and the tests run
//! anywhere, and says so in the log.

use async_trait::async_trait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    DownloadedClip, Generated, GeneratedImage, ImagePrompt, ModelError, Prompt, Provider, Usage, VideoPrompt,
    VideoStatus,
};
use crate::media::clip::{self, Frame};

/// `answer` without the fields `schema` does not have: a kind writes its offline answer once, and a
/// prompt that leaves an offered field out (a session with no room to write) gets an answer without it,
/// as a model would give.
fn within_schema(answer: serde_json::Value, schema: &serde_json::Value) -> serde_json::Value {
    match answer {
        serde_json::Value::Object(map) => match schema.get("properties").and_then(|p| p.as_object()) {
            Some(properties) => map
                .into_iter()
                .filter_map(|(key, value)| properties.get(&key).map(|field| (key, within_schema(value, field))))
                .collect(),
            None => serde_json::Value::Object(map),
        },
        serde_json::Value::Array(items) => match schema.get("items") {
            Some(item) => items.into_iter().map(|value| within_schema(value, item)).collect(),
            None => serde_json::Value::Array(items),
        },
        other => other,
    }
}

/// The offline provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineWriter;

#[async_trait]
impl Provider for OfflineWriter {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn makes_images(&self) -> bool {
        true
    }

    fn is_remote(&self) -> bool {
        false
    }

    async fn generate(&self, prompt: &Prompt) -> Result<Generated, ModelError> {
        let answer = prompt
            .offline
            .as_ref()
            .ok_or_else(|| ModelError::Unsupported("this request has no offline answer".into()))?
            .answer(prompt.seed);
        Ok(Generated { text: within_schema(answer, &prompt.schema).to_string(), usage: Usage::default() })
    }

    async fn generate_image(&self, prompt: &ImagePrompt) -> Result<GeneratedImage, ModelError> {
        let (width, height) = match prompt.aspect_ratio.as_str() {
            "1:1" => (1536, 1536),
            "3:4" => (1536, 2048),
            "16:9" => (2048, 1152),
            _ => (2048, 1536),
        };
        let seed = crate::stable::hash(&[&prompt.seed.to_le_bytes(), prompt.prompt.as_bytes()]);
        let bytes =
            if prompt.portrait { paint_portrait(width, height, seed) } else { png(&paint(width, height, seed)) };
        Ok(GeneratedImage { bytes, mime_type: "image/png".into(), usage: Usage::default(), slot: None })
    }

    fn video_model(&self) -> Option<&str> {
        Some("offline")
    }

    /// The clip is made when it is downloaded: the operation's name says which.
    async fn submit_video(&self, prompt: &VideoPrompt) -> Result<String, ModelError> {
        let seed = crate::stable::hash(&[&prompt.seed.to_le_bytes(), prompt.prompt.as_bytes()]);
        let portrait = prompt.aspect_ratio == "9:16";
        Ok(format!(
            "offline/operations/{seed:016x}-{}-{}",
            if portrait { "portrait" } else { "landscape" },
            prompt.seconds
        ))
    }

    async fn poll_video(&self, operation: &str) -> Result<VideoStatus, ModelError> {
        let name = operation.strip_prefix("offline/operations/").ok_or_else(|| {
            ModelError::InvalidResponse(format!(
                "not an offline operation: {:?}",
                operation.chars().take(80).collect::<String>()
            ))
        })?;
        Ok(VideoStatus::Ready { uri: format!("offline:{name}") })
    }

    async fn download_video(&self, uri: &str, limit: usize) -> Result<DownloadedClip, ModelError> {
        let unreadable = || {
            ModelError::InvalidResponse(format!("not an offline clip: {:?}", uri.chars().take(80).collect::<String>()))
        };
        let mut parts = uri.strip_prefix("offline:").ok_or_else(unreadable)?.split('-');
        let seed = parts.next().and_then(|s| u64::from_str_radix(s, 16).ok()).ok_or_else(unreadable)?;
        let portrait = parts.next().ok_or_else(unreadable)? == "portrait";
        let seconds: u32 =
            parts.next().and_then(|s| s.parse().ok()).filter(|s| (1..=60).contains(s)).ok_or_else(unreadable)?;
        let bytes = tokio::task::spawn_blocking(move || offline_clip(seed, portrait, seconds))
            .await
            .map_err(|e| ModelError::InvalidResponse(format!("the offline clip painter failed: {e}")))??;
        if bytes.len() > limit {
            return Err(ModelError::TooLarge { limit });
        }
        Ok(DownloadedClip { bytes, content_type: clip::MP4.into() })
    }
}

/// Frames a second of the offline clip (they are stored uncompressed, so few).
const CLIP_FPS: u32 = 4;

/// The offline clip: a painted landscape the camera pans across, 256×144 (or 144×256 upright).
fn offline_clip(seed: u64, portrait: bool, seconds: u32) -> Result<Vec<u8>, ModelError> {
    let (width, height) = if portrait { (144u32, 256u32) } else { (256u32, 144u32) };
    let scene = paint(width * 3 / 2, height, seed);
    let count = seconds * CLIP_FPS;
    let travel = scene.width() - width;
    let frames: Vec<Frame> = (0..count)
        .map(|i| {
            let offset = travel * i / count.max(2).saturating_sub(1).max(1);
            let view = image::imageops::crop_imm(&scene, offset.min(travel), 0, width, height).to_image();
            Frame { width, height, rgb: view.into_raw() }
        })
        .collect();
    clip::mp4(&frames, 1000 / CLIP_FPS).map_err(|e| ModelError::InvalidResponse(e.to_string()))
}

/// A procedural head-and-shoulders portrait: a coloured backdrop, shoulders, a face, hair — deterministic
/// for a seed, different enough between seeds to tell personas apart at a glance.
fn paint_portrait(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let backdrop = [rng.random_range(60..230u8), rng.random_range(60..230u8), rng.random_range(60..230u8)];
    let skin: [u8; 3] =
        [[241, 204, 178], [224, 172, 138], [198, 134, 98], [141, 85, 56], [95, 58, 38]][rng.random_range(0..5)];
    let hair: [u8; 3] =
        [[30, 24, 20], [92, 58, 30], [176, 128, 70], [205, 190, 160], [140, 40, 30]][rng.random_range(0..5)];
    let shirt = [rng.random_range(20..200u8), rng.random_range(20..200u8), rng.random_range(20..200u8)];
    let (w, h) = (width as f32, height as f32);
    let (cx, cy) = (w * rng.random_range(0.45..0.55), h * rng.random_range(0.38..0.44));
    let (rx, ry) = (w * rng.random_range(0.14..0.18), h * rng.random_range(0.18..0.22));
    let hair_top = rng.random_range(0.35..0.75f32);
    let mut img = image::RgbImage::new(width, height);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let shade = 1.0 - 0.25 * fy / h;
        let mut c = backdrop.map(|v| v as f32 * shade);
        // Shoulders: a wide ellipse rising from the bottom edge.
        if ((fx - cx) / (w * 0.36)).powi(2) + ((fy - h * 1.02) / (h * 0.36)).powi(2) < 1.0 {
            c = shirt.map(f32::from);
        }
        let face = ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2);
        if face < 1.0 {
            c = skin.map(f32::from);
        }
        // Hair: the top of the head, a little wider than the face.
        let crown = ((fx - cx) / (rx * 1.12)).powi(2) + ((fy - cy + ry * 0.08) / (ry * 1.1)).powi(2);
        if crown < 1.0 && fy < cy - ry * (1.0 - hair_top) * 0.9 {
            c = hair.map(f32::from);
        }
        // Eyes.
        for side in [-1.0f32, 1.0] {
            if ((fx - (cx + side * rx * 0.38)).powi(2) + (fy - (cy - ry * 0.05)).powi(2)).sqrt() < rx * 0.07 {
                c = [35.0, 30.0, 30.0];
            }
        }
        *px = image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8));
    }
    png(&img)
}

/// A procedural picture: sky gradient, sun, rolling hills and grain — deterministic for a seed.
fn paint(width: u32, height: u32, seed: u64) -> image::RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sky_top = [rng.random_range(40..120u8), rng.random_range(80..160u8), rng.random_range(160..240u8)];
    let sky_bottom = [rng.random_range(200..255u8), rng.random_range(150..220u8), rng.random_range(120..200u8)];
    let ground = [rng.random_range(30..90u8), rng.random_range(70..140u8), rng.random_range(30..80u8)];
    let (sun_x, sun_y) = (rng.random_range(0.2..0.8) * width as f32, rng.random_range(0.15..0.45) * height as f32);
    let sun_r = height as f32 * rng.random_range(0.05..0.1);
    let (freq, phase) = (rng.random_range(2.0..6.0f32), rng.random_range(0.0..std::f32::consts::TAU));
    let mut img = image::RgbImage::new(width, height);
    let mut noise = rng.random::<u32>() | 1;
    for (x, y, px) in img.enumerate_pixels_mut() {
        let fy = y as f32 / height as f32;
        let horizon = 0.62 + 0.06 * ((x as f32 / width as f32) * freq + phase).sin();
        let mut c = if fy < horizon {
            let t = fy / horizon;
            [0, 1, 2].map(|i| sky_top[i] as f32 * (1.0 - t) + sky_bottom[i] as f32 * t)
        } else {
            let t = (fy - horizon) / (1.0 - horizon);
            [0, 1, 2].map(|i| ground[i] as f32 * (1.0 - 0.5 * t))
        };
        let d = ((x as f32 - sun_x).powi(2) + (y as f32 - sun_y).powi(2)).sqrt();
        if d < sun_r && fy < horizon {
            c = [255.0, 236.0, 180.0];
        }
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let grain = (noise % 9) as f32 - 4.0;
        *px = image::Rgb(c.map(|v| (v + grain).clamp(0.0, 255.0) as u8));
    }
    img
}

fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encoding a PNG into memory cannot fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_answer_keeps_only_what_the_schema_asks_for_at_every_level() {
        let schema = serde_json::json!({
            "type": "OBJECT",
            "properties": { "actions": { "type": "ARRAY", "items": {
                "type": "OBJECT", "properties": { "action": { "type": "STRING" } } } } }
        });
        let answer = serde_json::json!({ "actions": [{ "action": "comment", "text": "hi" }], "extra": 1 });
        assert_eq!(super::within_schema(answer, &schema), serde_json::json!({ "actions": [{ "action": "comment" }] }));
    }
}
