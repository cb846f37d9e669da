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

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use super::MediaError;
use super::provenance::{Provenance, TRAINED_ALGORITHMIC_MEDIA};

/// Why a signing certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The certificate chain is not PEM certificates.
    #[error("C2PA_SIGNING_CERT: {0}")]
    Certificate(String),
    /// The key is not a PKCS#8 P-256 key (the error never repeats the key).
    #[error("C2PA_SIGNING_KEY: {0}")]
    Key(String),
}

/// An operator's signing identity: an ES256 (P-256) key and its certificate chain, leaf first.
pub struct Signer {
    key: EcdsaKeyPair,
    chain: Vec<Vec<u8>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("certificates", &self.chain.len()).finish_non_exhaustive()
    }
}

impl Signer {
    /// From PEM text: `certificates` (the chain, leaf first; the root may be left out) and `key` (a
    /// PKCS#8 `PRIVATE KEY`; `openssl pkcs8 -topk8 -nocrypt` converts an `EC PRIVATE KEY`).
    pub fn from_pem(certificates: &str, key: &str) -> Result<Self, CredentialsError> {
        let chain = pem_blocks(certificates, "CERTIFICATE").map_err(CredentialsError::Certificate)?;
        if chain.is_empty() {
            return Err(CredentialsError::Certificate("no -----BEGIN CERTIFICATE----- block".into()));
        }
        let keys = pem_blocks(key, "PRIVATE KEY").map_err(CredentialsError::Key)?;
        let [pkcs8] = keys.as_slice() else {
            return Err(CredentialsError::Key(
                "expected one -----BEGIN PRIVATE KEY----- block (PKCS#8; convert an EC PRIVATE KEY with \
                 `openssl pkcs8 -topk8 -nocrypt`)"
                    .into(),
            ));
        };
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
            .map_err(|_| CredentialsError::Key("not a P-256 (ES256) key in PKCS#8".into()))?;
        Ok(Self { key, chain })
    }

    /// How many certificates the chain holds.
    pub fn chain_len(&self) -> usize {
        self.chain.len()
    }

    /// `bytes` (a `mime_type` picture or clip, already marked and encoded) with a signed manifest in it.
    pub fn sign(&self, bytes: Vec<u8>, mime_type: &str, provenance: &Provenance) -> Result<Vec<u8>, MediaError> {
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
            let store = self.store(&manifest_label, &instance_id, provenance, binding)?;
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
        &self,
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
                Cbor::map(vec![
                    ("name", Cbor::text("persona-engine")),
                    ("version", Cbor::text(env!("CARGO_PKG_VERSION"))),
                ]),
            ),
            ("signature", Cbor::text(&format!("self#jumbf=/c2pa/{manifest_label}/c2pa.signature"))),
            ("created_assertions", Cbor::Array(created)),
            ("alg", Cbor::text("sha256")),
        ])
        .encode();
        let signature = self.cose_sign1(&claim)?;
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

    /// A COSE_Sign1 (tagged, detached payload) over `claim`: ES256, the chain in the protected header.
    fn cose_sign1(&self, claim: &[u8]) -> Result<Vec<u8>, MediaError> {
        let chain = match self.chain.as_slice() {
            [leaf] => Cbor::Bytes(leaf.clone()),
            chain => Cbor::Array(chain.iter().cloned().map(Cbor::Bytes).collect()),
        };
        // 1: alg = ES256 (-7); 33: x5chain.
        let protected = Cbor::Map(vec![(Cbor::Unsigned(1), Cbor::Negative(7)), (Cbor::Unsigned(33), chain)]).encode();
        let to_be_signed = Cbor::Array(vec![
            Cbor::text("Signature1"),
            Cbor::Bytes(protected.clone()),
            Cbor::Bytes(Vec::new()),
            Cbor::Bytes(claim.to_vec()),
        ])
        .encode();
        let signature = self
            .key
            .sign(&SystemRandom::new(), &to_be_signed)
            .map_err(|_| MediaError::Encode("signing the manifest failed".into()))?;
        Ok(Cbor::Tag(
            18,
            Box::new(Cbor::Array(vec![
                Cbor::Bytes(protected),
                Cbor::Map(Vec::new()),
                Cbor::Null,
                Cbor::Bytes(signature.as_ref().to_vec()),
            ])),
        )
        .encode())
    }
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

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().to_vec()
}

/// The DER of each `-----BEGIN {label}-----` block of `pem`, in order.
fn pem_blocks(pem: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine as _;
    let (begin, end) = (format!("-----BEGIN {label}-----"), format!("-----END {label}-----"));
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after.find(&end).ok_or_else(|| format!("a {begin} block has no {end}"))?;
        let body: String = after[..stop].chars().filter(|c| !c.is_whitespace()).collect();
        blocks.push(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| format!("a {label} block is not valid base64"))?,
        );
        rest = &after[stop + end.len()..];
    }
    Ok(blocks)
}

/// The CBOR the manifest needs (RFC 8949, definite lengths).
enum Cbor {
    Unsigned(u64),
    /// -1 - n is written as n; this holds the magnitude (7 is -7).
    Negative(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
    Null,
}

impl Cbor {
    fn text(s: &str) -> Self {
        Self::Text(s.to_owned())
    }

    fn map(entries: Vec<(&str, Cbor)>) -> Self {
        Self::Map(entries.into_iter().map(|(k, v)| (Self::text(k), v)).collect())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, major: u8, n: u64) {
            let m = major << 5;
            match n {
                0..=23 => out.push(m | n as u8),
                24..=0xFF => out.extend_from_slice(&[m | 24, n as u8]),
                0x100..=0xFFFF => {
                    out.push(m | 25);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
                0x1_0000..=0xFFFF_FFFF => {
                    out.push(m | 26);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
                _ => {
                    out.push(m | 27);
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
        match self {
            Self::Unsigned(n) => head(out, 0, *n),
            Self::Negative(n) => head(out, 1, n - 1),
            Self::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Self::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Self::Array(items) => {
                head(out, 4, items.len() as u64);
                items.iter().for_each(|i| i.write(out));
            }
            Self::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    k.write(out);
                    v.write(out);
                }
            }
            Self::Tag(tag, inner) => {
                head(out, 6, *tag);
                inner.write(out);
            }
            Self::Null => out.push(0xF6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_is_written_as_rfc_8949_says() {
        // RFC 8949 appendix A.
        assert_eq!(Cbor::Unsigned(23).encode(), [0x17]);
        assert_eq!(Cbor::Unsigned(1000).encode(), [0x19, 0x03, 0xe8]);
        assert_eq!(Cbor::Negative(7).encode(), [0x26]);
        assert_eq!(Cbor::text("a").encode(), [0x61, 0x61]);
        assert_eq!(Cbor::map(vec![("a", Cbor::Unsigned(1))]).encode(), [0xa1, 0x61, 0x61, 0x01]);
        assert_eq!(Cbor::Tag(18, Box::new(Cbor::Null)).encode(), [0xd2, 0xf6]);
    }

    #[test]
    fn a_bad_certificate_or_key_is_named_and_the_key_never_repeated() {
        let err = Signer::from_pem("nothing", "nothing").unwrap_err().to_string();
        assert!(err.starts_with("C2PA_SIGNING_CERT"), "{err}");
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n";
        let err = Signer::from_pem(cert, key).unwrap_err().to_string();
        assert!(err.starts_with("C2PA_SIGNING_KEY") && !err.contains("c2VjcmV0"), "{err}");
    }
}
