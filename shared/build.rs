//! The migrations are embedded at compile time, so a new file must trigger a rebuild. Their versions and
//! names are also listed for builds without the migration runner (the Lambda functions), so `doctor`
//! can say whether a database is up to date everywhere.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    let mut migrations: Vec<(u32, String)> = std::fs::read_dir("../migrations")
        .expect("the migrations directory")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let (version, rest) = name.strip_prefix('V')?.strip_suffix(".sql")?.split_once("__")?;
            Some((version.parse().ok()?, rest.to_owned()))
        })
        .collect();
    migrations.sort();
    let mut out =
        String::from("/// Every migration's version and name, in order.\npub const MIGRATIONS: &[(i32, &str)] = &[\n");
    for (version, name) in &migrations {
        writeln!(out, "    ({version}, {name:?}),").expect("writing to a string");
    }
    out.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migration_list.rs");
    std::fs::write(path, out).expect("writing the migration list");
}
