//! Machine-readable marks on generated media: an XMP packet saying the picture or clip was made by a
//! generative model (IPTC's `DigitalSourceType` = trained algorithmic media), which model, by what and
//! when. Written into the file the engine stores, after its own resizing and encoding (which would strip
//! whatever the model's output carried): a JPEG's APP1 segment, a WebP's `XMP ` chunk, an MP4's XMP
//! `uuid` box. Readers that know XMP (exiftool, Adobe's tools, the IPTC's own checker) read it back.
//!
//! With an operator's certificate (`C2PA_SIGNING_CERT`, `C2PA_SIGNING_KEY`) the file also gets signed
//! Content Credentials (`credentials`), after the XMP, so the signature covers it.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

use super::MediaError;
use crate::signing::Signer;

/// IPTC's term for media a trained model generated.
pub const TRAINED_ALGORITHMIC_MEDIA: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

/// What made a picture or clip, and who signs for it.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The model that generated it.
    pub model: String,
    /// When.
    pub created: DateTime<Utc>,
    /// The operator's signing identity, when one is configured.
    pub signer: Option<Arc<Signer>>,
}

/// The JPEG APP1 segment's namespace header for XMP.
const JPEG_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The `uuid` box type XMP lives in inside an ISO base media file (MP4).
const MP4_XMP_UUID: [u8; 16] =
    [0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC];

impl Provenance {
    /// Made by `model` at `created`, unsigned.
    pub fn new(model: impl Into<String>, created: DateTime<Utc>) -> Self {
        Self { model: model.into(), created, signer: None }
    }

    /// Signed by `signer` too, when there is one.
    pub fn signed_by(self, signer: Option<Arc<Signer>>) -> Self {
        Self { signer, ..self }
    }

    /// The XMP packet.
    pub fn xmp(&self) -> String {
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
             <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
             <rdf:Description rdf:about=\"\"\n \
             xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n \
             xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n \
             Iptc4xmpExt:DigitalSourceType=\"{TRAINED_ALGORITHMIC_MEDIA}\"\n \
             Iptc4xmpExt:AISystemUsed=\"{}\"\n \
             xmp:CreatorTool=\"persona-engine {}\"\n \
             xmp:CreateDate=\"{}\"/>\n\
             </rdf:RDF>\n\
             </x:xmpmeta>\n\
             <?xpacket end=\"r\"?>",
            xml_attribute(&self.model),
            env!("CARGO_PKG_VERSION"),
            self.created.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }

    /// `bytes` (a `mime_type` file the engine encoded or downloaded) with this provenance written in:
    /// the XMP packet, then the signed manifest when there is a signer.
    pub fn mark(&self, bytes: Vec<u8>, mime_type: &str) -> Result<Vec<u8>, MediaError> {
        let xmp = self.xmp();
        let marked = match mime_type {
            "image/jpeg" => mark_jpeg(bytes, xmp.as_bytes())?,
            "image/webp" => mark_webp(bytes, xmp.as_bytes())?,
            "video/mp4" => mark_mp4(bytes, xmp.as_bytes()),
            other => return Err(MediaError::Encode(format!("no provenance mark for {other}"))),
        };
        match &self.signer {
            Some(signer) => super::credentials::sign(signer, marked, mime_type, self),
            None => Ok(marked),
        }
    }
}

/// A model name as an XML attribute value: it comes from configuration, so it is escaped.
fn xml_attribute(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The APP1 XMP segment after SOI and a JFIF APP0 segment, where readers look for it.
fn mark_jpeg(bytes: Vec<u8>, xmp: &[u8]) -> Result<Vec<u8>, MediaError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(MediaError::Encode("not a JPEG: no start-of-image marker".into()));
    }
    let length = 2 + JPEG_XMP_HEADER.len() + xmp.len();
    let length = u16::try_from(length).map_err(|_| MediaError::Encode("the XMP packet is too long".into()))?;
    let mut at = 2;
    if bytes.get(2..4) == Some(&[0xFF, 0xE0]) {
        let app0 = bytes.get(4..6).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).unwrap_or(0);
        if app0 < 2 || 4 + app0 > bytes.len() {
            return Err(MediaError::Encode("a JPEG with a broken APP0 segment".into()));
        }
        at = 4 + app0;
    }
    let mut out = Vec::with_capacity(bytes.len() + usize::from(length) + 2);
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(JPEG_XMP_HEADER);
    out.extend_from_slice(xmp);
    out.extend_from_slice(&bytes[at..]);
    Ok(out)
}

/// A simple (lossy `VP8 ` or lossless `VP8L`) WebP turned into the extended form: a `VP8X` header chunk
/// with the XMP flag, the image, and an `XMP ` chunk at the end (where the container's spec puts it).
fn mark_webp(bytes: Vec<u8>, xmp: &[u8]) -> Result<Vec<u8>, MediaError> {
    if bytes.len() < 20 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(MediaError::Encode("not a WebP file".into()));
    }
    if &bytes[12..16] == b"VP8X" {
        return Err(MediaError::Encode("an extended WebP is not what the engine's encoder writes".into()));
    }
    let (width, height) = imagesize::blob_size(&bytes)
        .map(|s| (s.width as u32, s.height as u32))
        .map_err(|e| MediaError::Encode(format!("WebP size: {e}")))?;
    if width == 0 || height == 0 {
        return Err(MediaError::Encode("a WebP without a size".into()));
    }
    let mut out = Vec::with_capacity(bytes.len() + xmp.len() + 32);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBPVP8X");
    out.extend_from_slice(&10u32.to_le_bytes());
    // Flags: XMP (bit 2); no alpha, no animation, no ICC, no EXIF.
    out.extend_from_slice(&[0b0000_0100, 0, 0, 0]);
    out.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    out.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    out.extend_from_slice(&bytes[12..]);
    out.extend_from_slice(b"XMP ");
    out.extend_from_slice(&(xmp.len() as u32).to_le_bytes());
    out.extend_from_slice(xmp);
    if xmp.len() % 2 == 1 {
        out.push(0);
    }
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| MediaError::Encode("the WebP is too large".into()))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(out)
}

/// An XMP `uuid` box appended at the top level: nothing before it moves, so every offset in the file's
/// own boxes (the sample table's chunk offsets) stays right.
fn mark_mp4(mut bytes: Vec<u8>, xmp: &[u8]) -> Vec<u8> {
    let size = (8 + 16 + xmp.len()) as u32;
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(b"uuid");
    bytes.extend_from_slice(&MP4_XMP_UUID);
    bytes.extend_from_slice(xmp);
    bytes
}

/// The XMP packet a marked file carries, if any (as written above; for tests and `doctor`).
pub fn read_xmp(bytes: &[u8]) -> Option<String> {
    let start = find(bytes, b"<?xpacket begin=")?;
    let end = start + find(&bytes[start..], b"<?xpacket end=")?;
    let close = end + find(&bytes[end..], b"?>")? + 2;
    String::from_utf8(bytes[start..close].to_vec()).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance::new(
            "gemini-3.1-flash-image <\"test\">",
            DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z").unwrap().with_timezone(&Utc),
        )
    }

    #[test]
    fn the_packet_names_the_source_type_the_model_and_the_time_with_the_model_escaped() {
        let xmp = provenance().xmp();
        assert!(xmp.contains(TRAINED_ALGORITHMIC_MEDIA));
        assert!(xmp.contains("AISystemUsed=\"gemini-3.1-flash-image &lt;&quot;test&quot;&gt;\""), "{xmp}");
        assert!(xmp.contains("xmp:CreateDate=\"2026-12-06T10:00:00Z\""));
    }

    #[test]
    fn a_jpeg_keeps_its_jfif_header_first_and_a_webp_becomes_extended_with_its_size() {
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0, 0, 4, b'J', b'F'][..], &[0xFF, 0xD9]].concat();
        let marked = provenance().mark(jpeg.clone(), "image/jpeg").unwrap();
        assert_eq!(&marked[..8], &jpeg[..8]);
        assert_eq!(&marked[8..10], &[0xFF, 0xE1]);
        assert!(read_xmp(&marked).unwrap().contains(TRAINED_ALGORITHMIC_MEDIA));
        assert!(provenance().mark(b"GIF89a".to_vec(), "image/jpeg").is_err());
        assert!(provenance().mark(vec![1, 2, 3], "image/webp").is_err());
        assert!(provenance().mark(vec![1, 2, 3], "image/gif").is_err());
        let jpeg_broken_app0 = vec![0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF];
        assert!(provenance().mark(jpeg_broken_app0, "image/jpeg").is_err(), "never a panic on a bad length");
    }
}
