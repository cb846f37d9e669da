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

/// Every source file under `dir`, with its path relative to the crate's `src`.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "js" || e == "html") {
                let relative = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The code of a line: no comment, and (for Rust) nothing after a file's test module begins.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .take_while(|(_, line)| !line.trim_start().starts_with("#[cfg(test)]"))
        .map(|(n, line)| (n + 1, line.split("//").next().unwrap_or_default()))
}

/// The engine library's modules depend on each other without a cycle: each top-level module's
/// `crate::…` uses, read from the source, form a graph with no loop (docs/ARCHITECTURE.md). A kind
/// never reaches the engine that runs it; the model layer never reaches the configuration that
/// configures it back.
#[test]
fn the_engine_modules_depend_on_each_other_without_a_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (path, source) in sources(&src) {
        if !path.ends_with(".rs") || path == "lib.rs" {
            continue;
        }
        let module = path.split(['/', '.']).next().unwrap().to_owned();
        let edges = uses.entry(module.clone()).or_default();
        for (n, code) in code_lines(&source) {
            for (i, _) in code.match_indices("crate::") {
                let used: String =
                    code[i + "crate::".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if used != module && !used.is_empty() {
                    edges.entry(used).or_insert_with(|| format!("{path}:{n}"));
                }
            }
        }
    }
    assert!(uses.len() >= 25, "found the modules under {}", src.display());
    // Depth-first search for a path back to where it started.
    fn back_to(
        start: &str,
        at: &str,
        uses: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for (next, _) in uses.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if back_to(start, next, uses, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for module in uses.keys() {
        let mut path = vec![module.clone()];
        if back_to(module, module, &uses, &mut path, &mut BTreeSet::new()) {
            let evidence: Vec<String> =
                path.windows(2).map(|w| format!("{} -> {} ({})", w[0], w[1], uses[&w[0]][&w[1]])).collect();
            panic!("a cycle between the engine's modules:\n{}", evidence.join("\n"));
        }
    }
}

/// A kind is spelled only in the kinds module: everything else that lists kinds (the admin API, its
/// OpenAPI document, the console, a session's choices, the queries) reads the registry, so a new kind is
/// its module plus a registry line. Checked for every standard kind, as a quoted string (Rust, SQL,
/// JavaScript, HTML) and as the kind's constant, in the engine's code outside `kinds/`.
#[test]
fn no_kind_is_spelled_outside_the_kinds_module() {
    // The same words naming something else: what a published row is, a target, the prompt's data tags.
    const ELSEWHERE: &[(&str, &str, &str)] = &[
        ("ai/parse.rs", "\"assistant\", \"ai\"", "role labels a model may put before its answer"),
        ("prompt/mod.rs", "const TAGS", "the tags that delimit data in a prompt"),
        ("db/content.rs", "\" => {", "the type of a published row (posts, comments, votes)"),
        ("db/content.rs", "jsonb_build_object('type'", "the type of a published row"),
        ("db/personas.rs", "=> \"", "what a persona wrote, by the row it is in"),
        ("db/personas.rs", "AS kind", "what a persona wrote, by the row it is in"),
        ("db/personas.rs", "THEN 'comment' ELSE 'reply'", "what a persona wrote, by the row it is in"),
        ("db/sessions.rs", "AS kind", "what a persona wrote, by the row it is in"),
        ("db/sessions.rs", "THEN 'comment' ELSE 'reply'", "what a persona wrote, by the row it is in"),
        ("db/audit.rs", "AS kind", "what a persona wrote, by the row it is in"),
        ("db/audit.rs", "THEN 'comment' ELSE 'reply'", "what a persona wrote, by the row it is in"),
        ("operator.rs", "Target::", "the target a trigger names"),
    ];
    // The planner chooses the work it enqueues (sessions, and answers to people) by the kind's constant.
    const CHOOSERS: &[&str] = &["planner.rs"];
    let registry = shared::kinds::Registry::standard();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    let mut used = vec![false; ELSEWHERE.len()];
    for (path, source) in sources(&src) {
        if path.starts_with("kinds/") {
            continue;
        }
        for (n, code) in code_lines(&source) {
            for name in registry.names() {
                let quoted = [format!("\"{name}\""), format!("'{name}'")];
                if quoted.iter().any(|q| code.contains(q.as_str())) {
                    match ELSEWHERE.iter().position(|(file, marker, _)| path == *file && code.contains(marker)) {
                        Some(i) => used[i] = true,
                        None => offences.push(format!("{path}:{n}: {}", code.trim())),
                    }
                }
                let constant = name.to_uppercase();
                let in_code = code.split('"').step_by(2).collect::<Vec<_>>().join(" ");
                let named = in_code.split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == constant);
                if path.ends_with(".rs") && named && !CHOOSERS.contains(&path.as_str()) {
                    offences.push(format!("{path}:{n}: {}", code.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "kinds spelled outside the kinds module:\n{}", offences.join("\n"));
    let stale: Vec<&str> = ELSEWHERE.iter().zip(&used).filter(|(_, u)| !**u).map(|(e, _)| e.1).collect();
    assert!(stale.is_empty(), "exceptions that no longer match anything (remove them): {stale:?}");
}
