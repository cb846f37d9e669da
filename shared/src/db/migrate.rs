//! Forward-only SQL migrations from `migrations/`, embedded in the binary. Re-running is a no-op.
//!
//! Run them over a direct or session-mode connection (Supabase's `:5432`); they are an operator's
//! action, not something a Lambda does on each start.

use super::DbError;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// One migration the run applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedMigration {
    /// Its version (the `V<n>` of the file name).
    pub version: i32,
    /// Its name.
    pub name: String,
}

/// Applies every migration not yet applied; returns those it applied (empty when up to date).
pub async fn run(client: &mut tokio_postgres::Client) -> Result<Vec<AppliedMigration>, DbError> {
    let report = embedded::migrations::runner()
        .set_grouped(false)
        .run_async(client)
        .await
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| AppliedMigration { version: m.version() as i32, name: m.name().to_owned() })
        .collect())
}

/// The versions and names of every embedded migration, in order.
pub fn embedded() -> Vec<AppliedMigration> {
    let mut all: Vec<AppliedMigration> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| AppliedMigration { version: m.version() as i32, name: m.name().to_owned() })
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

/// A fingerprint of every embedded migration's name and checksum: equal fingerprints mean an equal schema.
pub fn fingerprint() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for m in embedded::migrations::runner().get_migrations() {
        m.version().hash(&mut hasher);
        m.name().hash(&mut hasher);
        m.checksum().hash(&mut hasher);
    }
    hasher.finish()
}
