//! The image pipeline on real PNGs of several sizes and aspect ratios.

use shared::config::ImageFormat;
use shared::media::{self, ImageSettings, ImageSlot, MediaError, Provenance};

fn png(width: u32, height: u32) -> Vec<u8> {
    // A gradient with detail, so quality settings make a difference.
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The process's image slot (tests run in parallel threads; each call takes it in turn).
fn slot() -> ImageSlot {
    ImageSlot::acquire_blocking()
}

fn provenance() -> Provenance {
    Provenance::new("gemini-3.1-flash-image", crate::helpers::t0())
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
        let out = media::process(&png(w, h), &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap();
        assert_eq!((out.width, out.height), expected, "{w}×{h}");
        let decoded = image::load_from_memory_with_format(&out.bytes, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), expected, "{w}×{h} as stored");
        assert_eq!((out.mime_type, out.extension), ("image/jpeg", "jpg"));
    }
}

#[test]
fn webp_is_written_when_configured() {
    let out = media::process(&png(2048, 1536), &settings(ImageFormat::Webp, 82), &provenance(), &slot()).unwrap();
    assert_eq!((out.mime_type, out.extension), ("image/webp", "webp"));
    assert_eq!(image::guess_format(&out.bytes).unwrap(), image::ImageFormat::WebP);
    let decoded = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1600, 1200));
}

#[test]
fn quality_is_honoured() {
    let input = png(1200, 900);
    for format in [ImageFormat::Jpeg, ImageFormat::Webp] {
        let low = media::process(&input, &settings(format, 30), &provenance(), &slot()).unwrap().bytes.len();
        let high = media::process(&input, &settings(format, 95), &provenance(), &slot()).unwrap().bytes.len();
        assert!(low * 2 < high, "{format}: q30 {low} bytes vs q95 {high} bytes");
    }
}

#[test]
fn jpeg_and_webp_inputs_are_accepted_too() {
    let jpeg = media::process(&png(500, 400), &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap().bytes;
    let webp = media::process(&png(500, 400), &settings(ImageFormat::Webp, 82), &provenance(), &slot()).unwrap().bytes;
    for input in [jpeg, webp] {
        let out = media::process(&input, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap();
        assert_eq!((out.width, out.height), (500, 400));
    }
}

#[test]
fn corrupt_unsupported_and_oversized_images_are_refused_clearly() {
    let mut truncated = png(300, 300);
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        media::process(&truncated, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()),
        Err(MediaError::Corrupt(_))
    ));
    assert!(matches!(
        media::process(b"GIF89a not really", &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()),
        Err(MediaError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        media::process(b"hello", &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()),
        Err(MediaError::UnsupportedFormat(_))
    ));

    // A PNG whose header claims 20,000 × 20,000 pixels (1.2 GB of RGB): refused before decoding.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = media::process(&bomb, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap_err();
    assert_eq!(err, MediaError::TooLarge { width: 20_000, height: 20_000 });
    assert_eq!(err.to_string(), "image of 20000×20000 exceeds the 4096-pixel decode limit");
    assert!(!err.is_retryable(), "an image over the limits would be over them again");

    let huge = vec![0u8; media::MAX_INPUT_BYTES + 1];
    assert_eq!(
        media::process(&huge, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()),
        Err(MediaError::TooManyBytes(media::MAX_INPUT_BYTES + 1))
    );
}

/// A chunk: length, type, data, CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    out.extend_from_slice(&crc32(&covered).to_be_bytes());
    out
}

#[test]
fn images_beyond_what_image_models_emit_are_refused_for_good() {
    // A real image, 4097 pixels wide: one more than the limit.
    let err = media::process(&png(4097, 8), &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap_err();
    assert_eq!(err, MediaError::TooLarge { width: 4097, height: 8 });
    assert!(!err.is_retryable());
    // 4096 a side is what image models make at most, and is accepted.
    let out = media::process(&png(4096, 8), &settings(ImageFormat::Jpeg, 82), &provenance(), &slot()).unwrap();
    assert_eq!((out.width, out.height), (1600, 3));
    for refused in
        [MediaError::TooManyBytes(1), MediaError::UnsupportedFormat("GIF".into()), MediaError::OverMemoryLimit]
    {
        assert!(!refused.is_retryable(), "{refused}");
    }
    assert!(MediaError::Corrupt("cut short".into()).is_retryable());
}

/// A 1×1 PNG whose colour profile inflates to 200 MB: the header check reads only the header, and the
/// decoder's memory limit covers metadata, so at most that much is ever inflated (the profile is then
/// dropped and the pixel kept).
#[test]
fn metadata_that_inflates_is_bounded_by_the_decode_limit() {
    use std::io::Write;
    let one = png(1, 1);
    let idat_at = one.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        z.write_all(&zeros).unwrap();
    }
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend_from_slice(&z.finish().unwrap());
    assert!(iccp.len() < 1 << 20, "the bomb is small on the wire ({} bytes)", iccp.len());
    let mut bomb = one[..idat_at].to_vec();
    bomb.extend_from_slice(&chunk(b"iCCP", &iccp));
    bomb.extend_from_slice(&one[idat_at..]);

    let slot = slot();
    let (result, peak) =
        crate::alloc_meter::peak_of(|| media::process(&bomb, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot));
    let image = result.unwrap();
    assert_eq!((image.width, image.height), (1, 1));
    // Inflating stops at the decoder's limit; the buffer it inflates into may have doubled up to twice
    // that on the way, and never reaches the 200 MB the profile would need.
    let limit = media::MAX_DECODE_ALLOC as usize;
    assert!(peak <= 2 * limit + (4 << 20), "peak {} MiB, limit {} MiB", peak >> 20, limit >> 20);
    assert!(peak < 200 << 20, "peak {} MiB", peak >> 20);
}

#[test]
fn a_full_size_image_stays_well_under_two_hundred_megabytes() {
    let input = png(4096, 4096);
    let slot = slot();
    let (result, peak) =
        crate::alloc_meter::peak_of(|| media::process(&input, &settings(ImageFormat::Jpeg, 82), &provenance(), &slot));
    assert_eq!((result.unwrap().width, 1600), (1600, 1600));
    assert!(peak < 160 << 20, "peak {} MiB", peak >> 20);
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

/// What exiftool (an independent XMP reader) finds in `bytes`, as its JSON object.
pub(crate) fn exiftool(bytes: &[u8], extension: &str) -> serde_json::Value {
    let dir = tempfile_dir();
    let path = dir.join(format!("marked.{extension}"));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("exiftool")
        .args(["-json", "-XMP:all", "-G1"])
        .arg(&path)
        .output()
        .expect("exiftool runs (scripts/system-deps installs libimage-exiftool-perl)");
    assert!(out.status.success(), "exiftool: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    parsed[0].clone()
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("persona-engine-xmp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts exiftool reads the engine's provenance mark off `bytes`: generated by a trained model, which
/// one, and by what.
pub(crate) fn assert_marked(bytes: &[u8], extension: &str, model: &str) {
    let found = exiftool(bytes, extension);
    let field = |name: &str| {
        found
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with(name))
            .map(|(_, v)| v.as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        field(":DigitalSourceType").as_deref(),
        Some("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"),
        "{found}"
    );
    assert_eq!(field(":AISystemUsed").as_deref(), Some(model), "{found}");
    assert!(field(":CreatorTool").is_some_and(|t| t.starts_with("persona-engine")), "{found}");
}

#[test]
fn every_encoded_image_carries_a_provenance_mark_an_independent_reader_finds() {
    for (format, extension) in [(ImageFormat::Jpeg, "jpg"), (ImageFormat::Webp, "webp")] {
        let out = media::process(&png(900, 600), &settings(format, 82), &provenance(), &slot()).unwrap();
        assert_marked(&out.bytes, extension, "gemini-3.1-flash-image");
        // Still an image any decoder reads, at its size.
        let decoded = image::load_from_memory(&out.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (900, 600));
    }
}

#[test]
fn with_a_signing_certificate_images_carry_content_credentials_the_c2pa_sdk_validates() {
    let identity = testkit::signing::identity();
    let signer = std::sync::Arc::new(shared::signing::Signer::from_pem(&identity.certificates, &identity.key).unwrap());
    for (format, mime, extension) in
        [(ImageFormat::Jpeg, "image/jpeg", "jpg"), (ImageFormat::Webp, "image/webp", "webp")]
    {
        let signed = provenance().signed_by(Some(signer.clone()));
        let out = media::process(&png(900, 600), &settings(format, 82), &signed, &slot()).unwrap();
        testkit::signing::assert_credentials(&out.bytes, mime, "gemini-3.1-flash-image");
        // The XMP mark is still there, under the signature, and the picture still decodes.
        assert_marked(&out.bytes, extension, "gemini-3.1-flash-image");
        assert_eq!(image::load_from_memory(&out.bytes).unwrap().width(), 900);
        // One byte of the picture changed: the hash no longer matches.
        let mut tampered = out.bytes.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x55;
        let report = testkit::signing::read_credentials(&tampered, mime);
        assert_eq!(report["validation_state"], "Invalid", "{extension}: {report:#}");
        let failures = report["validation_results"]["activeManifest"]["failure"].to_string();
        assert!(failures.contains("assertion.dataHash.mismatch"), "{extension}: {failures}");
    }
}
