//! Images: decode (PNG, JPEG, WebP, with limits so a hostile image cannot exhaust memory) → downscale to
//! `IMAGE_MAX_WIDTH` keeping the aspect ratio, never upscaling (fast_image_resize, Lanczos3) → encode at
//! `IMAGE_QUALITY` (mozjpeg with libjpeg-turbo's settings, as Sharp does, or libwebp) — then storage.
//!
//! Memory is bounded whatever the image model sends: its answer is read only up to
//! [`MAX_RESPONSE_BYTES`], the header's size is checked before a pixel is decoded, and the heavy part
//! (reading the answer, decoding, resizing, encoding) runs for one image at a time per process, under
//! an [`ImageSlot`].

pub mod clip;
pub mod credentials;
pub mod provenance;
pub mod storage;

use std::io::Cursor;

use fast_image_resize as fr;
use image::{ImageFormat as Decoded, ImageReader, Limits};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::ImageFormat;

/// The largest image we accept from the model, in bytes (a 4096-pixel PNG photograph fits).
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;
/// The largest model answer carrying an image: the image in base64 (4 bytes for 3) and the JSON around it.
pub const MAX_RESPONSE_BYTES: usize = MAX_INPUT_BYTES / 3 * 4 + 1024 * 1024;
pub use crate::config::MAX_IMAGE_DIMENSION as MAX_DIMENSION;
pub use provenance::Provenance;
/// The most memory the decoder may allocate: a 4096 × 4096 RGBA image, with room for its metadata.
pub const MAX_DECODE_ALLOC: u64 = 80 * 1024 * 1024;

/// One image in memory at a time, per process.
static HEAVY_IMAGE_WORK: Semaphore = Semaphore::const_new(1);

/// The right to hold a full-size image in memory (its download, its pixels): one per process, so a
/// worker running several image posts at once still peaks near one image's worth.
#[derive(Debug)]
pub struct ImageSlot(#[allow(dead_code)] SemaphorePermit<'static>);

impl ImageSlot {
    /// Waits for the slot.
    pub async fn acquire() -> Self {
        // The semaphore is never closed, so acquiring cannot fail.
        Self(HEAVY_IMAGE_WORK.acquire().await.expect("the image semaphore is never closed"))
    }

    /// Waits for the slot outside an async runtime (benchmarks, tools).
    pub fn acquire_blocking() -> Self {
        futures::executor::block_on(Self::acquire())
    }
}

/// Why an image could not be processed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    /// Too many bytes to even look at.
    #[error("image is {0} bytes; at most {MAX_INPUT_BYTES} are accepted")]
    TooManyBytes(usize),
    /// Not a PNG, JPEG or WebP.
    #[error("not a supported image (PNG, JPEG or WebP): {0}")]
    UnsupportedFormat(String),
    /// Larger than the decode limits.
    #[error("image of {width}×{height} exceeds the {MAX_DIMENSION}-pixel decode limit")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// Decoding it (its pixels, or metadata that inflates) would take more memory than allowed.
    #[error("image needs more than {} MiB to decode", MAX_DECODE_ALLOC / (1024 * 1024))]
    OverMemoryLimit,
    /// The data is damaged.
    #[error("image could not be decoded: {0}")]
    Corrupt(String),
    /// The encoder failed.
    #[error("image could not be encoded: {0}")]
    Encode(String),
    /// A downloaded clip is not one we publish (its type, container or size); fetching it again would
    /// give the same.
    #[error("{0}")]
    NotAClip(String),
}

impl MediaError {
    /// Whether asking the model again may help. An image over the limits would be over them again
    /// (and each attempt is billed); a damaged one may come out whole next time.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Corrupt(_) | Self::Encode(_))
    }
}

/// A processed image, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedImage {
    /// Encoded bytes.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `image/jpeg` or `image/webp`.
    pub mime_type: &'static str,
    /// `jpg` or `webp`.
    pub extension: &'static str,
}

/// How to process images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSettings {
    /// Widest output; narrower inputs keep their size.
    pub max_width: u32,
    /// Encoder quality, 1–100.
    pub quality: u8,
    /// Output format.
    pub format: ImageFormat,
}

/// The output size for an input of `width`×`height`: at most `max_width` wide, aspect kept, never larger.
pub fn target_size(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    if width <= max_width {
        return (width, height);
    }
    let scaled = (f64::from(height) * f64::from(max_width) / f64::from(width)).round() as u32;
    (max_width, scaled.max(1))
}

/// Decodes, downscales and encodes `input`, holding the process's [`ImageSlot`]; the output carries
/// `provenance`.
pub fn process(
    input: &[u8],
    settings: &ImageSettings,
    provenance: &Provenance,
    _slot: &ImageSlot,
) -> Result<ProcessedImage, MediaError> {
    let (pixels, width, height) = decode_rgb(input)?;
    let (target_w, target_h) = target_size(width, height, settings.max_width);
    let (pixels, width, height) = if (target_w, target_h) == (width, height) {
        (pixels, width, height)
    } else {
        (resize_rgb(&pixels, width, height, target_w, target_h)?, target_w, target_h)
    };
    encode(&pixels, width, height, settings, provenance)
}

/// RGB8 pixels encoded as `settings` say, carrying `provenance`.
fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    settings: &ImageSettings,
    provenance: &Provenance,
) -> Result<ProcessedImage, MediaError> {
    let quality = settings.quality.clamp(1, 100);
    let (bytes, mime_type, extension) = match settings.format {
        ImageFormat::Jpeg => (encode_jpeg(pixels, width, height, quality)?, "image/jpeg", "jpg"),
        ImageFormat::Webp => (encode_webp(pixels, width, height, quality)?, "image/webp", "webp"),
    };
    let bytes = provenance.mark(bytes, mime_type)?;
    Ok(ProcessedImage { bytes, width, height, mime_type, extension })
}

/// An avatar: `input` cropped to its centred square and resized to `side`×`side` (up or down: every
/// avatar is the same size), encoded as `settings` say, carrying `provenance`. Holds the process's
/// [`ImageSlot`].
pub fn square(
    input: &[u8],
    side: u32,
    settings: &ImageSettings,
    provenance: &Provenance,
    _slot: &ImageSlot,
) -> Result<ProcessedImage, MediaError> {
    let (pixels, width, height) = decode_rgb(input)?;
    let edge = width.min(height);
    let (left, top) = ((width - edge) / 2, (height - edge) / 2);
    let mut cropped = Vec::with_capacity(edge as usize * edge as usize * 3);
    for row in top..top + edge {
        let start = (row as usize * width as usize + left as usize) * 3;
        cropped.extend_from_slice(&pixels[start..start + edge as usize * 3]);
    }
    drop(pixels);
    let pixels = if edge == side { cropped } else { resize_rgb(&cropped, edge, edge, side, side)? };
    encode(&pixels, side, side, settings, provenance)
}

/// A reader for `input` with the decode limits set, refusing formats other than PNG, JPEG and WebP.
fn reader(input: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    let mut reader =
        ImageReader::new(Cursor::new(input)).with_guessed_format().map_err(|e| MediaError::Corrupt(e.to_string()))?;
    match reader.format() {
        Some(Decoded::Png | Decoded::Jpeg | Decoded::WebP) => {}
        Some(other) => return Err(MediaError::UnsupportedFormat(format!("{other:?}"))),
        None => return Err(MediaError::UnsupportedFormat("unrecognised data".into())),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    Ok(reader)
}

/// Decodes a PNG, JPEG or WebP into RGB8, refusing oversized or damaged input before allocating for it.
fn decode_rgb(input: &[u8]) -> Result<(Vec<u8>, u32, u32), MediaError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(MediaError::TooManyBytes(input.len()));
    }
    let reader = reader(input)?;
    // The header alone says how big the image claims to be: read with no decompression and no
    // allocation (a decoder's own header pass may inflate metadata chunks), and refuse before a pixel.
    let size = imagesize::blob_size(input).map_err(|e| MediaError::Corrupt(format!("unreadable header: {e}")))?;
    let (width, height) =
        (u32::try_from(size.width).unwrap_or(u32::MAX), u32::try_from(size.height).unwrap_or(u32::MAX));
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(MediaError::TooLarge { width, height });
    }
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => MediaError::OverMemoryLimit,
        other => MediaError::Corrupt(other.to_string()),
    })?;
    let rgb = image.into_rgb8();
    let (w, h) = rgb.dimensions();
    Ok((rgb.into_raw(), w, h))
}

/// Typed to RGB8 end to end: resizing through the crate's dynamic image type instantiates its code for
/// every pixel type and CPU extension (about a megabyte of binary) whether or not it is used.
fn resize_rgb(pixels: &[u8], width: u32, height: u32, target_w: u32, target_h: u32) -> Result<Vec<u8>, MediaError> {
    use fr::images::{TypedImage, TypedImageRef};
    use fr::pixels::U8x3;
    let src = TypedImageRef::<U8x3>::from_buffer(width, height, pixels)
        .map_err(|e| MediaError::Corrupt(format!("pixel buffer: {e}")))?;
    let mut out = vec![0u8; target_w as usize * target_h as usize * 3];
    let mut dst = TypedImage::<U8x3>::from_buffer(target_w, target_h, &mut out)
        .map_err(|e| MediaError::Encode(format!("resize buffer: {e}")))?;
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .map_err(|e| MediaError::Encode(format!("resize: {e}")))?;
    Ok(out)
}

/// JPEG with libjpeg-turbo's settings (what Sharp's libvips uses with mozjpeg's extras off): 4:2:0,
/// optimised Huffman tables.
fn encode_jpeg(pixels: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, MediaError> {
    // mozjpeg reports libjpeg errors by unwinding.
    std::panic::catch_unwind(|| -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        c.set_size(width as usize, height as usize);
        c.set_quality(f32::from(quality));
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        c.set_optimize_coding(true);
        let mut started = c.start_compress(Vec::with_capacity(pixels.len() / 8))?;
        started.write_scanlines(pixels)?;
        started.finish()
    })
    .map_err(|_| MediaError::Encode("the JPEG encoder failed".into()))?
    .map_err(|e| MediaError::Encode(e.to_string()))
}

/// Lossy WebP through libwebp's simple encoding API. The one safe wrapper (`webp` 0.3) binds an older
/// libwebp-sys (0.9, which cannot be linked beside this one) and, measured under callgrind on the same
/// eight 1600 × 1200 encodes at q82, took 6 % more instructions (15.52 G against 14.64 G) for identical
/// output; so the single `unsafe` call below stays, its invariants checked just before it.
fn encode_webp(pixels: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, MediaError> {
    let expected = width as usize * height as usize * 3;
    if pixels.len() != expected || width > 16383 || height > 16383 {
        return Err(MediaError::Encode(format!("{width}×{height} cannot be encoded as WebP")));
    }
    let mut output: *mut u8 = std::ptr::null_mut();
    // SAFETY: `pixels` holds width*height*3 bytes (checked above) with a stride of width*3; libwebp
    // allocates `output`, which is copied and then freed with WebPFree exactly once.
    unsafe {
        let len = libwebp_sys::WebPEncodeRGB(
            pixels.as_ptr(),
            width as i32,
            height as i32,
            (width * 3) as i32,
            f32::from(quality),
            &mut output,
        );
        if len == 0 || output.is_null() {
            return Err(MediaError::Encode("libwebp refused the image".into()));
        }
        let bytes = std::slice::from_raw_parts(output, len).to_vec();
        libwebp_sys::WebPFree(output.cast());
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance::new("test", chrono::DateTime::UNIX_EPOCH)
    }

    fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb(pixel(x, y)));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, Decoded::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_avatar_is_the_centred_square_at_the_asked_size() {
        let settings = ImageSettings { max_width: 1600, quality: 90, format: ImageFormat::Jpeg };
        let slot = ImageSlot::acquire_blocking();
        // A wide picture: red bands at the sides, blue in the middle square.
        let wide = png(900, 600, |x, _| if (150..750).contains(&x) { [0, 0, 255] } else { [255, 0, 0] });
        let avatar = square(&wide, 512, &settings, &provenance(), &slot).unwrap();
        assert_eq!((avatar.width, avatar.height, avatar.mime_type), (512, 512, "image/jpeg"));
        let decoded = image::load_from_memory(&avatar.bytes).unwrap().into_rgb8();
        assert_eq!(decoded.dimensions(), (512, 512));
        for (x, y) in [(2, 2), (509, 256), (256, 509)] {
            let [r, _, b] = decoded.get_pixel(x, y).0;
            assert!(b > 200 && r < 60, "the side bands were cropped away ({x},{y}: {r},{b})");
        }
        // A small one is scaled up: every avatar is the same size.
        let small = square(&png(100, 140, |_, _| [10, 200, 10]), 512, &settings, &provenance(), &slot).unwrap();
        assert_eq!((small.width, small.height), (512, 512));
    }

    #[test]
    fn target_size_keeps_aspect_and_never_upscales() {
        assert_eq!(target_size(2048, 1536, 1600), (1600, 1200));
        assert_eq!(target_size(2048, 2048, 1600), (1600, 1600));
        assert_eq!(target_size(4000, 1000, 1600), (1600, 400));
        assert_eq!(target_size(1024, 768, 1600), (1024, 768));
        assert_eq!(target_size(1600, 900, 1600), (1600, 900));
        assert_eq!(target_size(10_000, 1, 1600), (1600, 1));
    }
}
