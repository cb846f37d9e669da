//! A signing identity for Content Credentials tests, made with the `openssl` command the way an operator
//! would: a root CA and a leaf certificate for document signing (P-256, `digitalSignature`,
//! `emailProtection`), the leaf's key in PKCS#8. Nothing here is a real credential.

use std::path::Path;
use std::process::Command;

/// The chain (leaf first, then the root) and the leaf's key, as PEM text.
pub struct Identity {
    /// `C2PA_SIGNING_CERT`.
    pub certificates: String,
    /// `C2PA_SIGNING_KEY`.
    pub key: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("the openssl command runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fresh identity, in a scratch directory removed afterwards.
pub fn identity() -> Identity {
    let dir = std::env::temp_dir().join(format!("pe-c2pa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[req]\ndistinguished_name=dn\n[dn]\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\n\
         keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl(&dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Test Operator Root/O=persona-engine tests",
            "-days",
            "3650",
            "-config",
            "ca.cnf",
            "-extensions",
            "v3_ca",
            "-out",
            "ca.pem",
        ],
    );
    openssl(&dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.sec1"]);
    openssl(&dir, &["pkcs8", "-topk8", "-nocrypt", "-in", "leaf.sec1", "-out", "leaf.key"]);
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-key",
            "leaf.sec1",
            "-subj",
            "/CN=persona-engine test signer/O=persona-engine tests",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let identity = Identity { certificates: format!("{}{}", read("leaf.pem"), read("ca.pem")), key: read("leaf.key") };
    let _ = std::fs::remove_dir_all(&dir);
    identity
}

/// What the `c2pa` SDK (the Content Authenticity Initiative's reader) finds in `bytes`: its report as
/// JSON, with the validation state under `"validation_state"`.
pub fn read_credentials(bytes: &[u8], mime_type: &str) -> serde_json::Value {
    let reader = c2pa::Reader::from_context(c2pa::Context::new())
        .with_stream(mime_type, std::io::Cursor::new(bytes.to_vec()))
        .unwrap_or_else(|e| panic!("the c2pa SDK reads no manifest: {e}"));
    serde_json::from_str(&reader.json()).expect("the reader's report is JSON")
}

/// Asserts `bytes` carry a manifest the `c2pa` SDK validates (its one failure being that the test CA is
/// in no trust list), saying a trained model (`model`) created them.
pub fn assert_credentials(bytes: &[u8], mime_type: &str, model: &str) {
    let report = read_credentials(bytes, mime_type);
    assert_eq!(report["validation_state"], "Valid", "{report:#}");
    let results = &report["validation_results"]["activeManifest"];
    let codes = |kind: &str| -> Vec<String> {
        results[kind]
            .as_array()
            .map(|a| a.iter().map(|r| r["code"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(codes("failure"), vec!["signingCredential.untrusted".to_owned()], "{report:#}");
    let passed = codes("success");
    assert!(passed.iter().any(|c| c == "claimSignature.validated"), "{passed:?}");
    assert!(passed.iter().any(|c| c == "assertion.dataHash.match" || c == "assertion.bmffHash.match"), "{passed:?}");
    let active = report["active_manifest"].as_str().expect("an active manifest");
    let actions = report["manifests"][active]["assertions"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["label"] == "c2pa.actions.v2"))
        .unwrap_or_else(|| panic!("no actions assertion: {report:#}"));
    let created = &actions["data"]["actions"][0];
    assert_eq!(created["action"], "c2pa.created");
    assert_eq!(created["digitalSourceType"], "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia");
    assert_eq!(created["softwareAgent"]["name"], model, "{created}");
}
