//! Persona account labels (`persona_accounts`) and the public bio suffix, kept in step with the
//! operator's disclosure settings by the planner's tick.

use chrono::{DateTime, Utc};

use super::{DbError, GenericClient, Type};

/// How many accounts changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Labelled {
    /// Label rows written or removed.
    pub labels: u64,
    /// Bios that got the suffix.
    pub bios: u64,
}

/// Every persona labelled `label` (none: no persona labelled), and every public bio ending in
/// `bio_suffix` when there is one. Idempotent: rows already as asked are not touched.
pub async fn keep_labels(
    c: &impl GenericClient,
    label: Option<&str>,
    bio_suffix: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Labelled, DbError> {
    let labels = match label {
        Some(label) => {
            c.execute_typed(
                "INSERT INTO persona_accounts (persona_id, label, labelled_at)
                 SELECT id, $1, $2 FROM personas
                 ON CONFLICT (persona_id) DO UPDATE SET label = EXCLUDED.label, labelled_at = EXCLUDED.labelled_at
                 WHERE persona_accounts.label IS DISTINCT FROM EXCLUDED.label",
                &[(&label, Type::TEXT), (&now, Type::TIMESTAMPTZ)],
            )
            .await?
        }
        None => c.execute_typed("DELETE FROM persona_accounts", &[]).await?,
    };
    let bios = match bio_suffix {
        Some(suffix) => {
            c.execute_typed(
                "UPDATE personas SET bio = CASE WHEN btrim(coalesce(bio, '')) = '' THEN $1
                                                ELSE rtrim(bio) || ' ' || $1 END
                 WHERE right(coalesce(bio, ''), char_length($1)) IS DISTINCT FROM $1",
                &[(&suffix, Type::TEXT)],
            )
            .await?
        }
        None => 0,
    };
    Ok(Labelled { labels, bios })
}
