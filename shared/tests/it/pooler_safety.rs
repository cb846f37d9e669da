//! Production reaches Supabase through a transaction-mode pooler: no named prepared statements, no
//! session state. Every runtime statement must use `query_typed*` (one unnamed statement); this test
//! reads the engine's source and refuses the calls that prepare named statements or hold session state.
//! (The queue tests also run through PgBouncer in transaction mode in `scripts/test`.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn runtime_sql_uses_only_unnamed_typed_statements() {
    let forbidden = [
        ".query(",
        ".query_one(",
        ".query_opt(",
        ".query_raw(",
        ".execute(",
        ".execute_raw(",
        ".prepare(",
        ".prepare_cached(",
        ".prepare_typed(",
        "LISTEN ",
        "NOTIFY ",
        "pg_advisory_lock(",
        "SET SESSION",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "found the sources under {}", src.display());
    let mut offences = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for pattern in forbidden {
                if code.contains(pattern) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "pooler-unsafe calls:\n{}", offences.join("\n"));
}
