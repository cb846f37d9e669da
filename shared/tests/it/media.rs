//! The image pipeline on real PNGs of several sizes and aspect ratios.

use shared::config::ImageFormat;
use shared::media::{self, ImageSettings, MediaError};

fn png(width: u32, height: u32) -> Vec<u8> {
    // A gradient with detail, so quality settings make a difference.
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn settings(format: ImageFormat, quality: u8) -> ImageSettings {
    ImageSettings { max_width: 1600, quality, format }
}

#[test]
fn images_are_downscaled_to_the_max_width_keeping_aspect_and_never_upscaled() {
    for ((w, h), expected) in [
        ((1024, 1024), (1024, 1024)),
        ((2048, 1536), (1600, 1200)),
        ((2048, 2048), (1600, 1600)),
        ((3000, 500), (1600, 267)),
        ((800, 1200), (800, 1200)),
        ((1601, 10), (1600, 10)),
    ] {
        let out = media::process(&png(w, h), &settings(ImageFormat::Jpeg, 82)).unwrap();
        assert_eq!((out.width, out.height), expected, "{w}×{h}");
        let decoded = image::load_from_memory_with_format(&out.bytes, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), expected, "{w}×{h} as stored");
        assert_eq!((out.mime_type, out.extension), ("image/jpeg", "jpg"));
    }
}

#[test]
fn webp_is_written_when_configured() {
    let out = media::process(&png(2048, 1536), &settings(ImageFormat::Webp, 82)).unwrap();
    assert_eq!((out.mime_type, out.extension), ("image/webp", "webp"));
    assert_eq!(image::guess_format(&out.bytes).unwrap(), image::ImageFormat::WebP);
    let decoded = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1600, 1200));
}

#[test]
fn quality_is_honoured() {
    let input = png(1200, 900);
    for format in [ImageFormat::Jpeg, ImageFormat::Webp] {
        let low = media::process(&input, &settings(format, 30)).unwrap().bytes.len();
        let high = media::process(&input, &settings(format, 95)).unwrap().bytes.len();
        assert!(low * 2 < high, "{format}: q30 {low} bytes vs q95 {high} bytes");
    }
}

#[test]
fn jpeg_and_webp_inputs_are_accepted_too() {
    let jpeg = media::process(&png(500, 400), &settings(ImageFormat::Jpeg, 82)).unwrap().bytes;
    let webp = media::process(&png(500, 400), &settings(ImageFormat::Webp, 82)).unwrap().bytes;
    for input in [jpeg, webp] {
        let out = media::process(&input, &settings(ImageFormat::Jpeg, 82)).unwrap();
        assert_eq!((out.width, out.height), (500, 400));
    }
}

#[test]
fn corrupt_unsupported_and_oversized_images_are_refused_clearly() {
    let mut truncated = png(300, 300);
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(media::process(&truncated, &settings(ImageFormat::Jpeg, 82)), Err(MediaError::Corrupt(_))));
    assert!(matches!(
        media::process(b"GIF89a not really", &settings(ImageFormat::Jpeg, 82)),
        Err(MediaError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        media::process(b"hello", &settings(ImageFormat::Jpeg, 82)),
        Err(MediaError::UnsupportedFormat(_))
    ));

    // A PNG whose header claims 20,000 × 20,000 pixels (1.2 GB of RGB): refused before decoding.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = media::process(&bomb, &settings(ImageFormat::Jpeg, 82)).unwrap_err();
    assert_eq!(err, MediaError::TooLarge { width: 20_000, height: 20_000 });
    assert_eq!(err.to_string(), "image of 20000×20000 exceeds the 8192-pixel decode limit");

    let huge = vec![0u8; media::MAX_INPUT_BYTES + 1];
    assert_eq!(
        media::process(&huge, &settings(ImageFormat::Jpeg, 82)),
        Err(MediaError::TooManyBytes(media::MAX_INPUT_BYTES + 1))
    );
}

/// PNG chunks carry a CRC-32 over type and data.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
