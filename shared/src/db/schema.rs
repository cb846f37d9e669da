//! The schema contract: every table and column the engine reads or writes, with the types it reads them
//! as. `doctor` checks a live database against it; docs/schema.md lists it; a test keeps the two and the
//! migrations in step.
//!
//! The engine's own tables are listed whole. Of the platform's tables only the columns the engine uses
//! are listed: the web app may have as many more as it likes.

/// Who a table belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// Created and used only by the engine: RLS on, nothing for `anon`/`authenticated`.
    Engine,
    /// The platform's (the web app's); created by the engine only on a fresh database.
    Platform,
    /// The engine's, written only by the engine, and readable by the web's roles by design: what it
    /// holds is what the platform must be able to show anyone (`persona_accounts`).
    EnginePublic,
}

/// A column and the PostgreSQL types (`pg_type.typname`) the engine can read and write it as.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Acceptable types; the first is the one the migrations create.
    pub types: &'static [&'static str],
}

/// A table of the contract.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Its name, in schema `public`.
    pub name: &'static str,
    /// Whose it is.
    pub owner: Owner,
    /// The columns the engine uses.
    pub columns: &'static [Column],
}

const UUID: &[&str] = &["uuid"];
// tokio-postgres reads a Rust String from any of these.
const TEXT: &[&str] = &["text", "varchar", "bpchar", "citext"];
const TEXT_ARRAY: &[&str] = &["_text", "_varchar"];
const BOOL: &[&str] = &["bool"];
const INT2: &[&str] = &["int2"];
const INT4: &[&str] = &["int4"];
const INT8: &[&str] = &["int8"];
const DATE: &[&str] = &["date"];
const FLOAT4: &[&str] = &["float4"];
const FLOAT8: &[&str] = &["float8"];
const UUID_ARRAY: &[&str] = &["_uuid"];
const TIMESTAMPTZ: &[&str] = &["timestamptz"];
const TIMESTAMPTZ_ARRAY: &[&str] = &["_timestamptz"];
const JSONB: &[&str] = &["jsonb"];

const fn col(name: &'static str, types: &'static [&'static str]) -> Column {
    Column { name, types }
}

/// The migration history's table (refinery's).
pub const MIGRATION_HISTORY: &str = "refinery_schema_history";

/// Every table of the contract.
pub const CONTRACT: &[Table] = &[
    Table {
        name: "personas",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("username", TEXT),
            col("display_name", TEXT),
            col("bio", TEXT),
            col("is_active", BOOL),
            col("created_at", TIMESTAMPTZ),
            col("avatar_url", TEXT),
        ],
    },
    Table {
        name: "persona_private",
        owner: Owner::Engine,
        columns: &[
            col("persona_id", UUID),
            col("voice", TEXT),
            col("traits", TEXT_ARRAY),
            col("modules", TEXT_ARRAY),
            col("interests", TEXT_ARRAY),
            col("timezone", TEXT),
            col("active_hours_start", INT2),
            col("active_hours_end", INT2),
            col("voice_bank", TEXT_ARRAY),
            col("character_reference", TEXT),
            col("chattiness", TEXT),
            col("voting_temperament", TEXT),
            col("trend_aware", BOOL),
        ],
    },
    Table { name: "profiles", owner: Owner::Platform, columns: &[col("id", UUID), col("username", TEXT)] },
    Table {
        name: "boards",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("slug", TEXT),
            col("name", TEXT),
            col("description", TEXT),
            col("topics", TEXT_ARRAY),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "posts",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("board_id", UUID),
            col("author_id", UUID),
            col("persona_id", UUID),
            col("title", TEXT),
            col("body", TEXT),
            col("status", TEXT),
            col("locked", BOOL),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "comments",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("post_id", UUID),
            col("parent_id", UUID),
            col("depth", INT4),
            col("body", TEXT),
            col("author_id", UUID),
            col("persona_id", UUID),
            col("deleted_at", TIMESTAMPTZ),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "votes",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("post_id", UUID),
            col("comment_id", UUID),
            col("user_id", UUID),
            col("persona_id", UUID),
            col("value", INT2),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "media",
        owner: Owner::Platform,
        columns: &[
            col("id", UUID),
            col("post_id", UUID),
            col("storage_path", TEXT),
            col("url", TEXT),
            col("width", INT4),
            col("height", INT4),
            col("mime_type", TEXT),
            col("bytes", INT4),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table { name: "post_tags", owner: Owner::Platform, columns: &[col("post_id", UUID), col("tag", TEXT)] },
    Table {
        name: "persona_tasks",
        owner: Owner::Engine,
        columns: &[
            col("id", UUID),
            col("persona_id", UUID),
            col("task_type", TEXT),
            col("post_id", UUID),
            col("comment_id", UUID),
            col("board_id", UUID),
            col("status", TEXT),
            col("scheduled_at", TIMESTAMPTZ),
            col("started_at", TIMESTAMPTZ),
            col("completed_at", TIMESTAMPTZ),
            col("result_id", UUID),
            col("result_type", TEXT),
            col("error_message", TEXT),
            col("retry_count", INT4),
            col("max_retries", INT4),
            col("prompt_tokens", INT4),
            col("completion_tokens", INT4),
            col("created_at", TIMESTAMPTZ),
            col("locked_until", TIMESTAMPTZ),
            col("claim_token", UUID),
            col("last_error", TEXT),
            col("skip_reason", TEXT),
            col("payload", JSONB),
            col("decisions", JSONB),
            col("origin_task_id", UUID),
            col("cost_micros", INT8),
            col("cached_tokens", INT4),
        ],
    },
    Table {
        name: "persona_task_queue",
        owner: Owner::Engine,
        columns: &[
            col("task_id", UUID),
            col("persona_id", UUID),
            col("task_type", TEXT),
            col("post_id", UUID),
            col("comment_id", UUID),
            col("board_id", UUID),
            col("scheduled_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "persona_task_leases",
        owner: Owner::Engine,
        columns: &[col("persona_id", UUID), col("task_id", UUID)],
    },
    Table {
        name: "persona_engine_spend",
        owner: Owner::Engine,
        columns: &[
            col("day", DATE),
            col("persona_id", UUID),
            col("kind", TEXT),
            col("micros", INT8),
            col("calls", INT4),
        ],
    },
    Table {
        name: "persona_memory",
        owner: Owner::Engine,
        columns: &[
            col("id", UUID),
            col("persona_id", UUID),
            col("post_id", UUID),
            col("comment_id", UUID),
            col("action_type", TEXT),
            col("created_at", TIMESTAMPTZ),
            col("task_id", UUID),
        ],
    },
    Table {
        name: "persona_task_instructions",
        owner: Owner::Engine,
        columns: &[
            col("task_id", UUID),
            col("instructions", TEXT),
            col("issued_by", TEXT),
            col("created_at", TIMESTAMPTZ),
            col("persona_id", UUID),
            col("task_type", TEXT),
            col("post_id", UUID),
            col("comment_id", UUID),
            col("board_id", UUID),
        ],
    },
    Table {
        name: "persona_task_steps",
        owner: Owner::Engine,
        columns: &[
            col("task_id", UUID),
            col("draft", JSONB),
            col("state", JSONB),
            col("started_at", TIMESTAMPTZ),
            col("updated_at", TIMESTAMPTZ),
            col("polls", INT4),
        ],
    },
    Table {
        name: "persona_board_video",
        owner: Owner::Engine,
        columns: &[
            col("board_id", UUID),
            col("max_seconds", INT2),
            col("aspect_ratios", TEXT_ARRAY),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "persona_accounts",
        owner: Owner::EnginePublic,
        columns: &[
            col("persona_id", UUID),
            col("label", TEXT),
            col("labelled_at", TIMESTAMPTZ),
            col("bio_suffix", TEXT),
        ],
    },
    Table { name: "ranking_weights", owner: Owner::EnginePublic, columns: &[col("name", TEXT), col("weight", FLOAT8)] },
    Table {
        name: "trends",
        owner: Owner::Engine,
        columns: &[
            col("topic", TEXT),
            col("source", TEXT),
            col("since", TIMESTAMPTZ),
            col("last_seen", TIMESTAMPTZ),
            col("ended_at", TIMESTAMPTZ),
            col("started_by", TEXT),
            col("window_start", TIMESTAMPTZ),
            col("rank", INT2),
            col("velocity", FLOAT8),
            col("posts", INT4),
            col("people_upvotes", INT4),
            col("people_comments", INT4),
            col("persona_upvotes", INT4),
            col("persona_comments", INT4),
            col("boards", UUID_ARRAY),
        ],
    },
    Table {
        name: "persona_video_clips",
        owner: Owner::Engine,
        columns: &[
            col("post_id", UUID),
            col("persona_id", UUID),
            col("task_id", UUID),
            col("clip_media_id", UUID),
            col("poster_media_id", UUID),
            col("duration_ms", INT4),
            col("aspect_ratio", TEXT),
            col("model", TEXT),
            col("cost_micros", INT8),
            col("created_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "persona_engine_audit",
        owner: Owner::Engine,
        columns: &[
            col("id", UUID),
            col("at", TIMESTAMPTZ),
            col("key_fingerprint", TEXT),
            col("client", TEXT),
            col("method", TEXT),
            col("route", TEXT),
            col("persona_id", UUID),
            col("targets", JSONB),
            col("changes", JSONB),
            col("outcome", TEXT),
            col("status", INT2),
        ],
    },
    Table {
        name: "persona_relationships",
        owner: Owner::Engine,
        columns: &[
            col("persona_id", UUID),
            col("other_kind", TEXT),
            col("other_id", UUID),
            col("affinity", FLOAT4),
            col("interactions", INT4),
            col("last_interaction_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "persona_summaries",
        owner: Owner::Engine,
        columns: &[
            col("persona_id", UUID),
            col("summary", TEXT),
            col("actions_covered", INT4),
            col("updated_at", TIMESTAMPTZ),
        ],
    },
    Table {
        name: "persona_engine_request_limits",
        owner: Owner::Engine,
        columns: &[col("name", TEXT), col("recent", TIMESTAMPTZ_ARRAY)],
    },
    Table {
        name: "persona_engine_ticks",
        owner: Owner::Engine,
        columns: &[col("event_id", TEXT), col("planned_at", TIMESTAMPTZ), col("report", JSONB)],
    },
];

/// The engine's own tables, the migration history included.
pub fn engine_tables() -> impl Iterator<Item = &'static str> {
    CONTRACT.iter().filter(|t| t.owner == Owner::Engine).map(|t| t.name).chain(std::iter::once(MIGRATION_HISTORY))
}

/// The engine's tables the web's roles may read (and never write).
pub fn public_read_tables() -> impl Iterator<Item = &'static str> {
    CONTRACT.iter().filter(|t| t.owner == Owner::EnginePublic).map(|t| t.name)
}

/// Which privileges [`live::privileges_held`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Any, reading included: what the web's roles must not hold on the engine's tables.
    Any,
    /// Those that change a table: what they must not hold even on a table they may read.
    Changing,
}

/// Whose `table` is, if the contract knows it.
pub fn owner_of(table: &str) -> Option<Owner> {
    if table == MIGRATION_HISTORY {
        return Some(Owner::Engine);
    }
    CONTRACT.iter().find(|t| t.name == table).map(|t| t.owner)
}

include!(concat!(env!("OUT_DIR"), "/migration_list.rs"));

/// What a live database looks like to the engine.
pub mod live {
    use tokio_postgres::types::Type;

    use super::Held;
    use crate::db::{DbError, GenericClient};

    /// Every column of every table in `public`: (table, column, type name).
    pub async fn public_columns(c: &impl GenericClient) -> Result<Vec<(String, String, String)>, DbError> {
        let rows = c
            .query_typed(
                "SELECT c.relname::text, a.attname::text, t.typname::text
                 FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 JOIN pg_type t ON t.oid = a.atttypid
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// Every table in `public` and whether Row Level Security is on for it.
    pub async fn public_tables_rls(c: &impl GenericClient) -> Result<Vec<(String, bool)>, DbError> {
        let rows = c
            .query_typed(
                "SELECT c.relname::text, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Which of `roles` (those that exist) hold a privilege of kind `held` on which of `tables` (those
    /// that exist).
    pub async fn privileges_held(
        c: &impl GenericClient,
        roles: &[&str],
        tables: &[&str],
        held: Held,
    ) -> Result<Vec<(String, String)>, DbError> {
        let (on_table, on_columns) = match held {
            Held::Any => {
                ("SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER", "SELECT, INSERT, UPDATE, REFERENCES")
            }
            Held::Changing => ("INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER", "INSERT, UPDATE, REFERENCES"),
        };
        let rows = c
            .query_typed(
                "SELECT r.rolname::text, t.name
                 FROM pg_roles r CROSS JOIN unnest($2::text[]) AS t(name)
                 WHERE r.rolname = ANY($1) AND to_regclass('public.' || quote_ident(t.name)) IS NOT NULL
                   AND (has_table_privilege(r.oid, to_regclass('public.' || quote_ident(t.name)), $3)
                        OR has_any_column_privilege(r.oid, to_regclass('public.' || quote_ident(t.name)), $4))
                 ORDER BY 1, 2",
                &[
                    (&roles, Type::TEXT_ARRAY),
                    (&tables, Type::TEXT_ARRAY),
                    (&on_table, Type::TEXT),
                    (&on_columns, Type::TEXT),
                ],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Every route by which `roles` could read the engine's private persona data (`persona_private`),
    /// as (role or view, what the route is). Empty when there is none.
    ///
    /// A route is a table or column privilege, Row Level Security switched off, a policy that lets
    /// the role (or PUBLIC) read rows, or a view in any schema that reads the table with its owner's
    /// rights (not `security_invoker`) and that the role may select from.
    pub async fn private_data_routes(c: &impl GenericClient, roles: &[&str]) -> Result<Vec<(String, String)>, DbError> {
        let rows = c
            .query_typed(
                "WITH private AS (SELECT to_regclass('public.persona_private') AS oid),
                      web AS (SELECT r.oid, r.rolname::text AS name FROM pg_roles r WHERE r.rolname = ANY($1))
                 SELECT web.name, 'holds a privilege on the table or its columns'
                 FROM web, private
                 WHERE private.oid IS NOT NULL
                   AND (has_table_privilege(web.oid, private.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES')
                        OR has_any_column_privilege(web.oid, private.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
                 UNION ALL
                 SELECT 'everyone', 'Row Level Security is off on the table'
                 FROM pg_class c, private WHERE c.oid = private.oid AND NOT c.relrowsecurity
                 UNION ALL
                 SELECT coalesce(nullif(array_to_string(p.roles, ','), ''), 'public'),
                        format('policy %I lets them read rows', p.policyname)
                 FROM pg_policies p
                 WHERE p.schemaname = 'public' AND p.tablename = 'persona_private'
                   AND p.cmd IN ('SELECT', 'ALL') AND p.permissive = 'PERMISSIVE'
                   AND (p.roles && ARRAY['public']::name[] OR p.roles && $1::name[])
                 UNION ALL
                 SELECT format('%I.%I', n.nspname, v.relname), format('a view readable by %s', web.name)
                 FROM pg_depend d
                 JOIN pg_rewrite rw ON rw.oid = d.objid
                 JOIN pg_class v ON v.oid = rw.ev_class
                 JOIN pg_namespace n ON n.oid = v.relnamespace
                 CROSS JOIN private CROSS JOIN web
                 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = private.oid AND v.oid <> private.oid
                   AND v.relkind IN ('v', 'm')
                   AND NOT coalesce(v.reloptions @> ARRAY['security_invoker=true']
                                    OR v.reloptions @> ARRAY['security_invoker=on'], false)
                   AND has_table_privilege(web.oid, v.oid, 'SELECT')
                 ORDER BY 1, 2",
                &[(&roles, Type::TEXT_ARRAY)],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// How many rows of each of `posts`, `comments` and `votes` break the persona-authorship rule
    /// (exactly one of a person and a persona): old rows the migration did not validate. At most
    /// `cap` are counted per table.
    pub async fn author_rule_breaches(c: &impl GenericClient, cap: i64) -> Result<Vec<(String, i64)>, DbError> {
        let rows = c
            .query_typed(
                "SELECT 'posts', (SELECT count(*) FROM (SELECT 1 FROM posts
                        WHERE (author_id IS NULL) = (persona_id IS NULL) LIMIT $1) x)
                 UNION ALL
                 SELECT 'comments', (SELECT count(*) FROM (SELECT 1 FROM comments
                        WHERE (author_id IS NULL) = (persona_id IS NULL) LIMIT $1) x)
                 UNION ALL
                 SELECT 'votes', (SELECT count(*) FROM (SELECT 1 FROM votes
                        WHERE (user_id IS NULL) = (persona_id IS NULL) LIMIT $1) x)",
                &[(&cap, Type::INT8)],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The versions recorded in the migration history; `None` when it does not exist (never migrated).
    pub async fn applied_migrations(c: &impl GenericClient) -> Result<Option<Vec<i32>>, DbError> {
        let exists = c
            .query_typed_one(&format!("SELECT to_regclass('public.{}') IS NOT NULL", super::MIGRATION_HISTORY), &[])
            .await?;
        if !exists.try_get::<_, bool>(0)? {
            return Ok(None);
        }
        let rows = c
            .query_typed(&format!("SELECT version FROM public.{} ORDER BY version", super::MIGRATION_HISTORY), &[])
            .await?;
        Ok(Some(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?))
    }

    /// Who the engine is connected as: (role, superuser, bypasses RLS, server version).
    pub async fn session(c: &impl GenericClient) -> Result<(String, bool, bool, String), DbError> {
        let row = c
            .query_typed_one(
                "SELECT current_user::text, r.rolsuper, r.rolbypassrls, current_setting('server_version')
                 FROM pg_roles r WHERE r.rolname = current_user",
                &[],
            )
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))
    }
}
