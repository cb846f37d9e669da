//! The operator's signing identity for Content Credentials: an ES256 (P-256) key and its certificate
//! chain from PEM text (`C2PA_SIGNING_CERT`, `C2PA_SIGNING_KEY`), and the COSE_Sign1 signature the C2PA
//! claim carries (`media::credentials` builds the rest). A base module: configuration checks the pair
//! at start, and nothing here knows about media.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

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

    /// A COSE_Sign1 (tagged, detached payload) over `claim`: ES256, the chain in the protected header.
    pub(crate) fn cose_sign1(&self, claim: &[u8]) -> Result<Vec<u8>, SigningFailed> {
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
        let signature = self.key.sign(&SystemRandom::new(), &to_be_signed).map_err(|_| SigningFailed)?;
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

/// The key refused to sign (ring reports no more than that).
#[derive(Debug, thiserror::Error)]
#[error("signing the manifest failed")]
pub struct SigningFailed;

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
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
pub(crate) enum Cbor {
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
    pub(crate) fn text(s: &str) -> Self {
        Self::Text(s.to_owned())
    }

    pub(crate) fn map(entries: Vec<(&str, Cbor)>) -> Self {
        Self::Map(entries.into_iter().map(|(k, v)| (Self::text(k), v)).collect())
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
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
