//! Signed Content Credentials (C2PA 2.x) for the pictures and clips the engine stores, with an operator's
//! certificate: a manifest saying the file was created by a trained model (`c2pa.actions.v2`,
//! `c2pa.created` with IPTC's `trainedAlgorithmicMedia`, the model as the software agent), bound to the
//! file's bytes (`c2pa.hash.data`; `c2pa.hash.bmff.v3` for MP4), signed with ES256 (COSE_Sign1, the
//! certificate chain in `x5chain`).
//!
//! Written by hand rather than with the `c2pa` crate, which alone is larger than the worker's whole size
//! budget (BENCHMARKS.md §11). What is written is checked by that crate in the tests: it reads the
//! manifest back and validates the signature and the hash.
//!
//! The manifest store is a JUMBF superbox (ISO 19566-5) of boxes whose payloads are CBOR:
//! `c2pa` → `urn:c2pa:<uuid>` → { `c2pa.assertions` → { actions, hard binding }, `c2pa.claim.v2`,
//! `c2pa.signature` }. It goes in a JPEG's APP11 segment (JPEG XT framing), a WebP's `C2PA` chunk or an
//! MP4's C2PA `uuid` box; the hash covers the whole file except that segment, chunk or box.

use super::MediaError;
use super::provenance::{Provenance, TRAINED_ALGORITHMIC_MEDIA};
use crate::signing::{Cbor, Signer, sha256};

/// `bytes` (a `mime_type` picture or clip, already marked and encoded) with a signed manifest in it.
pub fn sign(signer: &Signer, bytes: Vec<u8>, mime_type: &str, provenance: &Provenance) -> Result<Vec<u8>, MediaError> {
    let container: &dyn Container = match mime_type {
        "image/jpeg" => &Jpeg,
        "image/webp" => &Webp,
        "video/mp4" => &Mp4,
        other => return Err(MediaError::Encode(format!("no Content Credentials for {other}"))),
    };
    let at = container.insertion_point(&bytes)?;
    let manifest_label = format!("urn:c2pa:{}", uuid::Uuid::new_v4());
    let instance_id = format!("xmp:iid:{}", uuid::Uuid::new_v4());
    // A data hash names the manifest's own place and length: build until the length stops moving.
    let mut length = 0;
    for _ in 0..4 {
        let binding = container.binding(&bytes, at, length)?;
        let store = store(signer, &manifest_label, &instance_id, provenance, binding)?;
        let wrapped = container.wrap(&store)?;
        if wrapped.len() == length {
            return container.insert(bytes, at, &wrapped);
        }
        length = wrapped.len();
    }
    Err(MediaError::Encode("the manifest's size did not settle".into()))
}

/// The manifest store: the `binding` assertion (its label and content) and the actions.
fn store(
    signer: &Signer,
    manifest_label: &str,
    instance_id: &str,
    provenance: &Provenance,
    binding: (&'static str, Cbor),
) -> Result<Vec<u8>, MediaError> {
    let actions = Cbor::map(vec![(
        "actions",
        Cbor::Array(vec![Cbor::map(vec![
            ("action", Cbor::text("c2pa.created")),
            ("digitalSourceType", Cbor::text(TRAINED_ALGORITHMIC_MEDIA)),
            ("softwareAgent", Cbor::map(vec![("name", Cbor::text(&provenance.model))])),
            ("when", Cbor::text(&provenance.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
        ])]),
    )]);
    let assertions = [("c2pa.actions.v2", actions.encode()), (binding.0, binding.1.encode())];
    let mut assertion_boxes = Vec::new();
    let mut created = Vec::new();
    for (label, content) in &assertions {
        let payload = [description(CBOR_UUID, label), boxed(b"cbor", content)].concat();
        created.push(Cbor::map(vec![
            ("url", Cbor::text(&format!("self#jumbf=/c2pa/{manifest_label}/c2pa.assertions/{label}"))),
            ("hash", Cbor::Bytes(sha256(&payload))),
        ]));
        assertion_boxes.push(boxed(b"jumb", &payload));
    }
    let claim = Cbor::map(vec![
        ("instanceID", Cbor::text(instance_id)),
        (
            "claim_generator_info",
            Cbor::map(vec![("name", Cbor::text("persona-engine")), ("version", Cbor::text(env!("CARGO_PKG_VERSION")))]),
        ),
        ("signature", Cbor::text(&format!("self#jumbf=/c2pa/{manifest_label}/c2pa.signature"))),
        ("created_assertions", Cbor::Array(created)),
        ("alg", Cbor::text("sha256")),
    ])
    .encode();
    let signature = signer.cose_sign1(&claim).map_err(|e| MediaError::Encode(e.to_string()))?;
    let manifest = superbox(
        MANIFEST_UUID,
        manifest_label,
        &[
            superbox(ASSERTION_STORE_UUID, "c2pa.assertions", &assertion_boxes),
            superbox(CLAIM_UUID, "c2pa.claim.v2", &[boxed(b"cbor", &claim)]),
            superbox(SIGNATURE_UUID, "c2pa.signature", &[boxed(b"cbor", &signature)]),
        ],
    );
    Ok(superbox(STORE_UUID, "c2pa", &[manifest]))
}

/// Where a format keeps the manifest store, and how the manifest is bound to the rest of the file.
trait Container {
    /// Where the manifest goes.
    fn insertion_point(&self, bytes: &[u8]) -> Result<usize, MediaError>;
    /// The store framed as the format keeps it.
    fn wrap(&self, store: &[u8]) -> Result<Vec<u8>, MediaError>;
    /// `bytes` with the framed store `wrapped` at `at`.
    fn insert(&self, bytes: Vec<u8>, at: usize, wrapped: &[u8]) -> Result<Vec<u8>, MediaError> {
        let mut out = Vec::with_capacity(bytes.len() + wrapped.len());
        out.extend_from_slice(&bytes[..at]);
        out.extend_from_slice(wrapped);
        out.extend_from_slice(&bytes[at..]);
        Ok(out)
    }
    /// The hard-binding assertion for `bytes` once a framed manifest of `length` bytes is at `at`: by
    /// default a data hash of everything but the manifest.
    fn binding(&self, bytes: &[u8], at: usize, length: usize) -> Result<(&'static str, Cbor), MediaError> {
        Ok(("c2pa.hash.data", data_hash(&sha256(bytes), at, length)))
    }
}

/// `c2pa.hash.data`: `hash` of the file without the manifest at (`start`, `length`).
fn data_hash(hash: &[u8], start: usize, length: usize) -> Cbor {
    Cbor::map(vec![
        (
            "exclusions",
            Cbor::Array(vec![Cbor::map(vec![
                ("start", Cbor::Unsigned(start as u64)),
                ("length", Cbor::Unsigned(length as u64)),
            ])]),
        ),
        ("name", Cbor::text("jumbf manifest")),
        ("alg", Cbor::text("sha256")),
        ("hash", Cbor::Bytes(hash.to_vec())),
        ("pad", Cbor::Bytes(Vec::new())),
    ])
}

/// JPEG: an APP11 segment after the other APPn segments at the start.
struct Jpeg;

impl Container for Jpeg {
    fn insertion_point(&self, bytes: &[u8]) -> Result<usize, MediaError> {
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(MediaError::Encode("not a JPEG".into()));
        }
        let mut at = 2;
        // After the APP0 (JFIF) and APP1 (XMP) segments the engine's encoder and mark write.
        while let Some(&[0xFF, marker]) = bytes.get(at..at + 2) {
            if !(0xE0..=0xE1).contains(&marker) {
                break;
            }
            let len = bytes.get(at + 2..at + 4).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).unwrap_or(0);
            if len < 2 || at + 2 + len > bytes.len() {
                return Err(MediaError::Encode("a JPEG with a broken segment".into()));
            }
            at += 2 + len;
        }
        Ok(at)
    }

    fn wrap(&self, store: &[u8]) -> Result<Vec<u8>, MediaError> {
        // Le (2) + CI "JP" (2) + En (2) + Z (4) + the box.
        let length = u16::try_from(2 + 2 + 2 + 4 + store.len())
            .map_err(|_| MediaError::Encode("the manifest does not fit one APP11 segment".into()))?;
        let mut out = vec![0xFF, 0xEB];
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(b"JP");
        out.extend_from_slice(&[0x02, 0x11]);
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(store);
        Ok(out)
    }
}

/// WebP (extended, as the mark leaves it): a `C2PA` chunk at the end; the RIFF size counts it.
struct Webp;

impl Container for Webp {
    fn insertion_point(&self, bytes: &[u8]) -> Result<usize, MediaError> {
        if bytes.len() < 30 || &bytes[0..4] != b"RIFF" || &bytes[8..16] != b"WEBPVP8X" {
            return Err(MediaError::Encode("not an extended WebP".into()));
        }
        Ok(bytes.len())
    }

    fn wrap(&self, store: &[u8]) -> Result<Vec<u8>, MediaError> {
        let len = u32::try_from(store.len()).map_err(|_| MediaError::Encode("the manifest is too large".into()))?;
        let mut out = b"C2PA".to_vec();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(store);
        if store.len() % 2 == 1 {
            out.push(0);
        }
        Ok(out)
    }

    fn binding(&self, bytes: &[u8], at: usize, length: usize) -> Result<(&'static str, Cbor), MediaError> {
        // The hash covers the RIFF size as it will be, counting the chunk.
        let mut hashed = bytes.to_vec();
        let riff =
            u32::try_from(bytes.len() + length - 8).map_err(|_| MediaError::Encode("the WebP is too large".into()))?;
        hashed[4..8].copy_from_slice(&riff.to_le_bytes());
        Ok(("c2pa.hash.data", data_hash(&sha256(&hashed), at, length)))
    }

    fn insert(&self, mut bytes: Vec<u8>, at: usize, wrapped: &[u8]) -> Result<Vec<u8>, MediaError> {
        bytes.truncate(at);
        bytes.extend_from_slice(wrapped);
        let riff = u32::try_from(bytes.len() - 8).map_err(|_| MediaError::Encode("the WebP is too large".into()))?;
        bytes[4..8].copy_from_slice(&riff.to_le_bytes());
        Ok(bytes)
    }
}

/// MP4: a C2PA `uuid` box appended at the top level (nothing before it moves, so no offset in the
/// sample tables changes), bound by a BMFF hash (`c2pa.hash.bmff.v3`): each top-level box but `ftyp`,
/// `free`, `skip`, `mfra` and the manifest's own, each after its 8-byte big-endian offset.
struct Mp4;

/// The extended type of the `uuid` box that holds a C2PA manifest store.
const C2PA_BOX_UUID: [u8; 16] =
    [0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81];

impl Container for Mp4 {
    fn insertion_point(&self, bytes: &[u8]) -> Result<usize, MediaError> {
        top_level_boxes(bytes)?;
        Ok(bytes.len())
    }

    fn wrap(&self, store: &[u8]) -> Result<Vec<u8>, MediaError> {
        let mut payload = C2PA_BOX_UUID.to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0]); // version and flags
        payload.extend_from_slice(b"manifest\0");
        payload.extend_from_slice(&0u64.to_be_bytes()); // no Merkle tree
        payload.extend_from_slice(store);
        Ok(boxed(b"uuid", &payload))
    }

    fn binding(&self, bytes: &[u8], _at: usize, _length: usize) -> Result<(&'static str, Cbor), MediaError> {
        let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
        for (offset, kind, range) in top_level_boxes(bytes)? {
            let c2pa = &kind == b"uuid" && bytes.get(range.start + 8..range.start + 24) == Some(&C2PA_BOX_UUID[..]);
            if c2pa || [b"ftyp", b"free", b"skip", b"mfra"].contains(&&kind) {
                continue;
            }
            hasher.update(&(offset as u64).to_be_bytes());
            hasher.update(&bytes[range]);
        }
        let exclusion = |xpath: &str| Cbor::map(vec![("xpath", Cbor::text(xpath))]);
        let c2pa_box = Cbor::map(vec![
            ("xpath", Cbor::text("/uuid")),
            (
                "data",
                Cbor::Array(vec![Cbor::map(vec![
                    ("offset", Cbor::Unsigned(8)),
                    ("value", Cbor::Bytes(C2PA_BOX_UUID.to_vec())),
                ])]),
            ),
        ]);
        Ok((
            "c2pa.hash.bmff.v3",
            Cbor::map(vec![
                (
                    "exclusions",
                    Cbor::Array(vec![
                        c2pa_box,
                        exclusion("/ftyp"),
                        exclusion("/mfra"),
                        exclusion("/free"),
                        exclusion("/skip"),
                    ]),
                ),
                ("alg", Cbor::text("sha256")),
                ("hash", Cbor::Bytes(hasher.finish().as_ref().to_vec())),
                ("name", Cbor::text("jumbf manifest")),
            ]),
        ))
    }
}

/// The top-level boxes of an ISO BMFF file: offset, type and byte range of each.
type TopLevelBox = (usize, [u8; 4], std::ops::Range<usize>);

fn top_level_boxes(bytes: &[u8]) -> Result<Vec<TopLevelBox>, MediaError> {
    let broken = || MediaError::NotAClip("a box runs past the end of the file".into());
    let mut boxes = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes.get(at..at + 8).ok_or_else(broken)?;
        let kind = [header[4], header[5], header[6], header[7]];
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => bytes.len() - at,
            1 => {
                let large = bytes.get(at + 8..at + 16).ok_or_else(broken)?;
                let large = u64::from_be_bytes(large.try_into().map_err(|_| broken())?);
                usize::try_from(large).map_err(|_| broken())?
            }
            n => n as usize,
        };
        if size < 8 || at.checked_add(size).is_none_or(|end| end > bytes.len()) {
            return Err(broken());
        }
        boxes.push((at, kind, at..at + size));
        at += size;
    }
    Ok(boxes)
}

const STORE_UUID: [u8; 16] = c2pa_uuid(*b"c2pa");
const MANIFEST_UUID: [u8; 16] = c2pa_uuid(*b"c2ma");
const ASSERTION_STORE_UUID: [u8; 16] = c2pa_uuid(*b"c2as");
const CLAIM_UUID: [u8; 16] = c2pa_uuid(*b"c2cl");
const SIGNATURE_UUID: [u8; 16] = c2pa_uuid(*b"c2cs");
const CBOR_UUID: [u8; 16] = c2pa_uuid(*b"cbor");

/// The JUMBF type UUIDs C2PA uses: four characters, then `0011-0010-8000-00AA00389B71`.
const fn c2pa_uuid(fourcc: [u8; 4]) -> [u8; 16] {
    [fourcc[0], fourcc[1], fourcc[2], fourcc[3], 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
}

/// An ISO BMFF box.
fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A JUMBF description box: the type, "requestable, label present", the label.
fn description(kind: [u8; 16], label: &str) -> Vec<u8> {
    let mut payload = kind.to_vec();
    payload.push(0x03);
    payload.extend_from_slice(label.as_bytes());
    payload.push(0);
    boxed(b"jumd", &payload)
}

/// A JUMBF superbox of `children`.
fn superbox(kind: [u8; 16], label: &str, children: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = description(kind, label);
    for child in children {
        payload.extend_from_slice(child);
    }
    boxed(b"jumb", &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_container_is_an_error_never_a_panic() {
        // A box that claims more bytes than the file has, a zero-sized box, a truncated header.
        for clip in
            [&[0, 0, 0, 64, b'f', b't', b'y', b'p', 0, 0][..], &[0, 0, 0, 4, b'm', b'o', b'o', b'v'], &[0, 0, 1]]
        {
            assert!(Mp4.insertion_point(clip).is_err(), "{clip:?}");
        }
        assert!(Jpeg.insertion_point(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]).is_err());
        assert!(Jpeg.insertion_point(b"GIF89a").is_err());
        assert!(Webp.insertion_point(b"RIFF\0\0\0\0WEBPVP8 ").is_err(), "a simple WebP is marked (extended) first");
    }
}
