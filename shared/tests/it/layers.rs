//! The database layer sits below the domain: nothing under `shared/src/db` uses an engine module above
//! it (docs/ARCHITECTURE.md). Read from the source, so a new `use crate::…` there fails here.

use std::path::Path;

#[test]
fn the_database_layer_imports_no_domain_module() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                assert!(
                    rest.starts_with("db"),
                    "{}:{}: the db layer uses `crate::{}`",
                    path.display(),
                    n + 1,
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "found the db sources under {}", dir.display());
}

/// Nothing outside the kinds module decides by a kind's name (the registry does): no comparison
/// against a stored kind name in the engine's code.
#[test]
fn no_code_outside_the_kinds_matches_on_a_kind_name() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("kinds") {
                    stack.push(path);
                }
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (n, line) in source.lines().enumerate() {
                for name in ["comment", "reply", "vote", "post", "image_post"] {
                    for pattern in [format!("task_type == \"{name}\""), format!("task_type = '{name}'")] {
                        if line.contains(&pattern) {
                            offences.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
