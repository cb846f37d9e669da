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
/// `bio_suffix` when there is one. A suffix the engine added earlier and no longer wants (labelling
/// stopped, or the suffix changed) comes off again, if the bio still ends with it. Idempotent: rows
/// already as asked are not touched.
pub async fn keep_labels(
    c: &impl GenericClient,
    label: Option<&str>,
    bio_suffix: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Labelled, DbError> {
    let wanted_suffix = bio_suffix.filter(|_| label.is_some());
    let mut bios = c
        .execute_typed(
            "UPDATE personas p SET bio = rtrim(left(p.bio, char_length(p.bio) - char_length(a.bio_suffix)))
             FROM persona_accounts a
             WHERE a.persona_id = p.id AND a.bio_suffix IS NOT NULL AND a.bio_suffix IS DISTINCT FROM $1
               AND right(p.bio, char_length(a.bio_suffix)) = a.bio_suffix",
            &[(&wanted_suffix, Type::TEXT)],
        )
        .await?;
    let labels = match label {
        Some(label) => {
            c.execute_typed(
                "INSERT INTO persona_accounts (persona_id, label, labelled_at)
                 SELECT id, $1, $2 FROM personas
                 ON CONFLICT (persona_id) DO UPDATE
                 SET label = EXCLUDED.label,
                     labelled_at = CASE WHEN persona_accounts.label IS DISTINCT FROM EXCLUDED.label
                                        THEN EXCLUDED.labelled_at ELSE persona_accounts.labelled_at END,
                     -- A suffix recorded but no longer wanted came off above (or the bio was edited).
                     bio_suffix = CASE WHEN persona_accounts.bio_suffix IS DISTINCT FROM $3 THEN NULL
                                       ELSE persona_accounts.bio_suffix END
                 WHERE persona_accounts.label IS DISTINCT FROM EXCLUDED.label
                    OR (persona_accounts.bio_suffix IS NOT NULL AND persona_accounts.bio_suffix IS DISTINCT FROM $3)",
                &[(&label, Type::TEXT), (&now, Type::TIMESTAMPTZ), (&wanted_suffix, Type::TEXT)],
            )
            .await?
        }
        None => c.execute_typed("DELETE FROM persona_accounts", &[]).await?,
    };
    if let Some(suffix) = wanted_suffix {
        // Only what the engine itself appended is recorded, so only that ever comes off.
        bios += c
            .execute_typed(
                "WITH appended AS (
                     UPDATE personas SET bio = CASE WHEN btrim(coalesce(bio, '')) = '' THEN $1
                                                    ELSE rtrim(bio) || ' ' || $1 END
                     WHERE right(coalesce(bio, ''), char_length($1)) IS DISTINCT FROM $1
                     RETURNING id
                 )
                 UPDATE persona_accounts a SET bio_suffix = $1 FROM appended WHERE a.persona_id = appended.id",
                &[(&suffix, Type::TEXT)],
            )
            .await?;
    }
    Ok(Labelled { labels, bios })
}
