//! Forward-only SQL migrations from `migrations/`, embedded in the binary. Re-running is a no-op.
//!
//! Run them over a direct or session-mode connection (Supabase's `:5432`); they are an operator's
//! action, not something a Lambda does on each start.
//!
//! refinery embeds the files and keeps its history table (`refinery_schema_history`, so databases
//! migrated by earlier releases carry on); the running is ours, because an operator needs what
//! refinery cannot give: a failure that names the statement and the database's own message, detail and
//! hint; a plan of what would change, without changing it; and the earlier texts of migrations that were
//! rewritten after they shipped, accepted as applied (see [`SUPERSEDED`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tokio_postgres::types::Type;

use super::DbError;
use super::schema::MIGRATION_HISTORY;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Migrations whose text changed after they shipped, with the checksum of each earlier text. On
/// 2026-12-06 V1, V2, V6, V7 and V12 stopped adding indexes and a validated rule to a platform's
/// existing tables (they failed on ordinary data); a database that applied an earlier text is brought to
/// the same place by V16, which creates the engine's private table whatever ran before it.
pub const SUPERSEDED: &[(i32, u64)] = &[
    (1, 10929234405252875278),
    (2, 12533165390360190301),
    (6, 2804801851939911084),
    (7, 6473614515295124852),
    (12, 2027560012329701690),
];

/// One migration the run applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedMigration {
    /// Its version (the `V<n>` of the file name).
    pub version: i32,
    /// Its name.
    pub name: String,
}

struct Embedded {
    version: i32,
    name: String,
    checksum: u64,
    sql: String,
}

fn all_embedded() -> Vec<Embedded> {
    let mut all: Vec<Embedded> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| Embedded {
            version: m.version() as i32,
            name: m.name().to_owned(),
            checksum: m.checksum(),
            sql: m.sql().unwrap_or_default().to_owned(),
        })
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS refinery_schema_history (
    version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))";

/// The migrations the database still needs, after checking that those it has are the ones this build
/// carries (or an earlier text of one, listed in [`SUPERSEDED`]).
async fn pending(c: &impl super::GenericClient) -> Result<Vec<Embedded>, DbError> {
    let exists: bool = c
        .query_typed_one("SELECT to_regclass($1) IS NOT NULL", &[(&format!("public.{MIGRATION_HISTORY}"), Type::TEXT)])
        .await?
        .get(0);
    let applied: Vec<(i32, String, String)> = if exists {
        c.query_typed(
            &format!("SELECT version, coalesce(name, ''), coalesce(checksum, '') FROM {MIGRATION_HISTORY}"),
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
    } else {
        Vec::new()
    };
    let embedded = all_embedded();
    for (version, name, checksum) in &applied {
        let Some(ours) = embedded.iter().find(|m| m.version == *version) else {
            return Err(DbError::Migration(format!(
                "the database has migration V{version}__{name}, which this build does not carry: it was migrated \
                 by a newer persona-engine; run that one"
            )));
        };
        let known = checksum
            .parse::<u64>()
            .ok()
            .is_some_and(|sum| sum == ours.checksum || SUPERSEDED.iter().any(|(v, old)| *v == *version && *old == sum));
        if !known {
            return Err(DbError::Migration(format!(
                "migration V{version}__{name} was applied from a text this build does not know (checksum {checksum}); \
                 the schema may differ from what the engine expects: compare it with migrations/ before going on"
            )));
        }
    }
    Ok(embedded.into_iter().filter(|m| !applied.iter().any(|(v, _, _)| *v == m.version)).collect())
}

/// Applies every migration not yet applied, each in a transaction of its own with its history row;
/// returns those it applied (empty when up to date). A failure names the migration, the statement, and
/// the database's message, detail and hint; that migration leaves nothing behind.
pub async fn run(client: &mut tokio_postgres::Client) -> Result<Vec<AppliedMigration>, DbError> {
    run_through(client, i32::MAX).await
}

/// [`run`], stopping after migration `last` (to bring a database to the schema an earlier build left).
pub async fn run_through(client: &mut tokio_postgres::Client, last: i32) -> Result<Vec<AppliedMigration>, DbError> {
    client.batch_execute(CREATE_HISTORY).await?;
    let mut applied = Vec::new();
    for m in pending(&*client).await?.into_iter().filter(|m| m.version <= last) {
        let tx = client.transaction().await?;
        // Two operators migrating at once: the second waits, then finds the work done.
        tx.batch_execute(&format!("LOCK TABLE {MIGRATION_HISTORY} IN SHARE ROW EXCLUSIVE MODE")).await?;
        let done = tx
            .query_typed_opt(
                &format!("SELECT 1 FROM {MIGRATION_HISTORY} WHERE version = $1"),
                &[(&m.version, Type::INT4)],
            )
            .await?;
        if done.is_some() {
            continue;
        }
        apply(&tx, &m).await?;
        tx.commit().await?;
        applied.push(AppliedMigration { version: m.version, name: m.name });
    }
    Ok(applied)
}

async fn apply(tx: &tokio_postgres::Transaction<'_>, m: &Embedded) -> Result<(), DbError> {
    for statement in split_statements(&m.sql) {
        if let Err(e) = tx.batch_execute(statement).await {
            return Err(DbError::Migration(failure(m, statement, &e)));
        }
    }
    let applied_on = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let checksum = m.checksum.to_string();
    tx.query_typed(
        &format!("INSERT INTO {MIGRATION_HISTORY} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"),
        &[(&m.version, Type::INT4), (&m.name, Type::VARCHAR), (&applied_on, Type::VARCHAR), (&checksum, Type::VARCHAR)],
    )
    .await?;
    Ok(())
}

/// What an operator needs to act on a failed migration.
fn failure(m: &Embedded, statement: &str, e: &tokio_postgres::Error) -> String {
    let mut text = format!("migration V{}__{} failed", m.version, m.name);
    match e.as_db_error() {
        Some(db) => {
            let _ = write!(text, ": {} (SQLSTATE {})", db.message(), db.code().code());
            let _ = write!(text, "\n  statement: {}", one_line(statement, 300));
            if let Some(detail) = db.detail() {
                let _ = write!(text, "\n  detail: {detail}");
            }
            if let Some(hint) = db.hint() {
                let _ = write!(text, "\n  hint: {hint}");
            }
            if let Some(context) = db.where_() {
                let _ = write!(text, "\n  where: {}", one_line(context, 300));
            }
            if db.code() == &tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE {
                text.push_str("\n  another session holds a lock on that table: run migrate again when it is quieter");
            }
        }
        None => {
            let _ = write!(text, ": {}\n  statement: {}", e, one_line(statement, 300));
        }
    }
    text.push_str("\n  nothing of this migration was applied; every migration before it was");
    text
}

fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}

/// The statements of a migration file, in order, each with its own text (comments between statements
/// dropped). Knows SQL's quoting: '…' strings, "…" identifiers, $tag$…$tag$ bodies, -- and /* */ comments.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut meaningful = false;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                if !meaningful {
                    start = i;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if sql[i..].starts_with("/*") {
                        depth += 1;
                        i += 2;
                    } else if sql[i..].starts_with("*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                if !meaningful {
                    start = i;
                }
                continue;
            }
            quote @ (b'\'' | b'"') => {
                meaningful = true;
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'$' => {
                meaningful = true;
                let tag_end = sql[i + 1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map(|n| i + 1 + n)
                    .filter(|&end| bytes.get(end) == Some(&b'$'));
                if let Some(end) = tag_end {
                    let tag = &sql[i..=end];
                    i = sql[end + 1..].find(tag).map_or(bytes.len(), |n| end + 1 + n + tag.len());
                    continue;
                }
            }
            b';' => {
                if meaningful {
                    statements.push(sql[start..=i].trim());
                }
                meaningful = false;
                start = i + 1;
            }
            c if c.is_ascii_whitespace() => {
                if !meaningful {
                    start = i + 1;
                }
            }
            _ => meaningful = true,
        }
        i += 1;
    }
    if meaningful {
        statements.push(sql[start..].trim());
    }
    statements
}

/// What `migrate` would change on this database.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// The migrations it would apply, in order.
    pub pending: Vec<AppliedMigration>,
    /// Catalog entries it would add (tables, columns, indexes, constraints, policies, grants, RLS).
    pub added: Vec<String>,
    /// Catalog entries it would remove or replace.
    pub removed: Vec<String>,
}

/// Applies the pending migrations inside one transaction, reads what changed in the catalog, and rolls
/// everything back: the plan is what the database itself did, not a guess. It takes the same locks as
/// `migrate` for as long as it runs. A migration that would fail fails here with the same message.
pub async fn plan(client: &mut tokio_postgres::Client) -> Result<Plan, DbError> {
    let tx = client.transaction().await?;
    let before = catalog(&tx).await?;
    tx.batch_execute(CREATE_HISTORY).await?;
    let pending = pending(&tx).await?;
    for m in &pending {
        apply(&tx, m).await?;
    }
    let after = catalog(&tx).await?;
    tx.rollback().await?;
    Ok(Plan {
        pending: pending.into_iter().map(|m| AppliedMigration { version: m.version, name: m.name }).collect(),
        added: after.difference(&before).cloned().collect(),
        removed: before.difference(&after).cloned().collect(),
    })
}

/// The catalog of schema `public` as lines: each table with its Row Level Security, columns, indexes,
/// constraints, policies, table and column grants, and views. Two snapshots compare as sets.
pub async fn catalog(c: &impl super::GenericClient) -> Result<BTreeSet<String>, DbError> {
    let rows = c
        .query_typed(
            "SELECT format('table %s rls=%s', c.relname, CASE WHEN c.relrowsecurity THEN 'on' ELSE 'off' END) FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             UNION ALL
             SELECT format('view %s (%s)', c.relname, c.relkind) FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
             UNION ALL
             SELECT format('column %s.%s %s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                           CASE WHEN a.attnotnull THEN ' not null' ELSE '' END)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped
             UNION ALL
             SELECT format('index %s: %s', tablename, indexdef) FROM pg_indexes WHERE schemaname = 'public'
             UNION ALL
             SELECT format('constraint %s.%s: %s%s', c.relname, k.conname, pg_get_constraintdef(k.oid),
                           CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END)
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
             WHERE c.relnamespace = 'public'::regnamespace
             UNION ALL
             SELECT format('policy %s.%s: %s to %s using %s check %s', tablename, policyname, cmd,
                           array_to_string(roles, ','), coalesce(qual, '-'), coalesce(with_check, '-'))
             FROM pg_policies WHERE schemaname = 'public'
             UNION ALL
             SELECT format('grant %s on %s to %s', acl.privilege_type, c.relname,
                           CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END)
             FROM pg_class c, aclexplode(c.relacl) acl
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
             UNION ALL
             SELECT format('grant %s on %s.%s to %s', acl.privilege_type, c.relname, a.attname,
                           CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid, aclexplode(a.attacl) acl
             WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped",
            &[],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<_, String>(0)?)).collect()
}

/// The versions and names of every embedded migration, in order.
pub fn embedded() -> Vec<AppliedMigration> {
    all_embedded().into_iter().map(|m| AppliedMigration { version: m.version, name: m.name }).collect()
}

/// A fingerprint of every embedded migration's name and checksum: equal fingerprints mean an equal schema.
pub fn fingerprint() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for m in all_embedded() {
        m.version.hash(&mut hasher);
        m.name.hash(&mut hasher);
        m.checksum.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_bodies_and_comments() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE a (x text DEFAULT ';');\n\
                   /* block; */ DO $$ BEGIN PERFORM 1; END $$;\nSELECT \"odd;name\" FROM a; -- trailing\n\
                   SELECT $tag$ ; $tag$";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT ';');",
                "DO $$ BEGIN PERFORM 1; END $$;",
                "SELECT \"odd;name\" FROM a;",
                "SELECT $tag$ ; $tag$",
            ]
        );
        assert!(split_statements("-- only a comment\n").is_empty());
    }

    #[test]
    fn every_embedded_migration_splits_into_whole_statements() {
        for m in all_embedded() {
            let statements = split_statements(&m.sql);
            assert!(!statements.is_empty(), "V{} has no statement", m.version);
            for s in &statements {
                assert!(!s.starts_with("--") && !s.is_empty(), "V{}: {s}", m.version);
                let body = s.trim_end_matches(';');
                // A DO block's body is one statement: its dollar quotes are balanced.
                assert_eq!(body.matches("$$").count() % 2, 0, "V{}: {s}", m.version);
            }
        }
    }
}
