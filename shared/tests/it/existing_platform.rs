//! The engine deployed into a Supabase project that already runs the web app (testkit's
//! `existing_platform.sql`: the web app's tables, policies, grants and messy data). Migrating changes the
//! platform's tables only as the design document prescribes, `doctor` passes, the public key reads
//! nothing private, and each route to the private data that someone might open later fails `doctor`.

use std::collections::BTreeSet;

use shared::db::{self, Type, migrate, personas};
use shared::doctor::{self, Level};
use testkit::{GeminiFake, StorageFake, TestDb};
use tokio_postgres::error::SqlState;

use crate::doctor::{check, config};
use crate::security::{as_role, denied};

const PLATFORM_TABLES: [&str; 7] = ["profiles", "personas", "boards", "posts", "comments", "votes", "media"];

/// The table a catalog line (`migrate::catalog`) is about.
fn table_of(line: &str) -> &str {
    let rest = match line.split_once(' ') {
        Some(("grant", rest)) => rest.split(" on ").nth(1).unwrap_or(""),
        Some((_, rest)) => rest,
        None => "",
    };
    rest.split([' ', '.', ':']).next().unwrap_or("")
}

fn on_platform(lines: &BTreeSet<String>) -> BTreeSet<String> {
    lines.iter().filter(|l| PLATFORM_TABLES.contains(&table_of(l))).cloned().collect()
}

#[tokio::test]
async fn migrating_an_existing_platform_changes_only_what_the_design_prescribes() {
    let db = TestDb::existing_platform().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();
    let before = migrate::catalog(&c).await.unwrap();

    // The plan lists every migration and what it would change, and changes nothing.
    let plan = migrate::plan(&mut c).await.unwrap();
    assert_eq!(plan.pending.len(), migrate::embedded().len());
    assert!(plan.added.iter().any(|l| l == "table persona_private rls=on"), "{:?}", plan.added.len());
    assert!(plan.added.iter().any(|l| l.starts_with("column posts.persona_id uuid")), "{:?}", plan.added);
    assert!(!plan.added.iter().any(|l| l.starts_with("index ") && PLATFORM_TABLES.contains(&table_of(l))));
    assert_eq!(migrate::catalog(&c).await.unwrap(), before, "planning changed the database");

    migrate::run(&mut c).await.expect("migrate succeeds on the web app's data");
    let after = migrate::catalog(&c).await.unwrap();

    let (was, now) = (on_platform(&before), on_platform(&after));
    let added: Vec<&String> = now.difference(&was).collect();
    let removed: Vec<&String> = was.difference(&now).collect();
    // What the design document prescribes: persona_id columns (with their reference to personas), the
    // human author made optional, and the one-author rule, for new rows only.
    let prescribed = |l: &str| {
        (l.starts_with("column ") && l.contains(".persona_id uuid"))
            || (l.starts_with("constraint ")
                && l.contains("_persona_id_fkey: FOREIGN KEY (persona_id) REFERENCES personas(id)"))
            || (l.starts_with("constraint ") && l.contains("_author_xor: CHECK") && l.ends_with("(not validated)"))
            || l == "column comments.author_id uuid"
            || l == "column votes.user_id uuid"
    };
    for line in &added {
        assert!(prescribed(line), "migrate added to the web app's tables: {line}\nall added: {added:#?}");
    }
    assert_eq!(
        removed,
        vec!["column comments.author_id uuid not null", "column votes.user_id uuid not null"],
        "only the human author became optional"
    );
    assert_eq!(added.iter().filter(|l| l.contains("_author_xor")).count(), 3, "{added:#?}");

    let counts = c
        .query_typed_one(
            "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM comments), (SELECT count(*) FROM votes)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((counts.get::<_, i64>(0), counts.get::<_, i64>(1), counts.get::<_, i64>(2)), (500, 100_000, 2));

    // A persona the web app made has no private row: the engine reads the defaults, and an edit writes it.
    let id: uuid::Uuid = c.query_typed_one("SELECT id FROM personas", &[]).await.unwrap().get(0);
    let mut marisol = personas::find(&c, id).await.unwrap().expect("the web app's persona");
    assert_eq!((marisol.timezone.as_str(), marisol.voice.as_str()), ("UTC", ""));
    marisol.voice = "warm, practical".into();
    marisol.interests = vec!["cooking".into()];
    assert!(personas::update(&c, &marisol).await.unwrap());
    assert_eq!(personas::find(&c, id).await.unwrap().unwrap().voice, "warm, practical");

    // The web app's public read policy on personas shows the profile, and nothing of how it writes.
    for role in ["anon", "authenticated"] {
        let rows = as_role(&mut c, role, "SELECT * FROM personas").await.unwrap();
        let columns: Vec<&str> = rows[0].columns().iter().map(|col| col.name()).collect();
        for private in ["voice", "traits", "interests", "voice_bank", "character_reference", "chattiness"] {
            assert!(!columns.contains(&private), "{role} reads personas.{private}: {columns:?}");
        }
        denied(as_role(&mut c, role, "SELECT * FROM persona_private").await, "persona_private");
    }

    let (gemini, storage) = (GeminiFake::start().await, StorageFake::start("media", 1 << 20).await);
    let report = doctor::run(&config(&db, &gemini, &storage, &[]), None).await;
    assert!(report.ok, "{}", report.render());
    assert_eq!(check(&report, "private_data").level, Level::Pass, "{}", report.render());
    let authors = check(&report, "author_rule");
    assert_eq!(authors.level, Level::Warn, "{}", report.render());
    assert!(authors.detail.contains("posts: 1"), "the post whose author was deleted: {}", authors.detail);
}

#[tokio::test]
async fn doctor_fails_on_every_route_to_the_private_data() {
    let db = TestDb::existing_platform().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();
    migrate::run(&mut c).await.unwrap();
    let (gemini, storage) = (GeminiFake::start().await, StorageFake::start("media", 1 << 20).await);
    let config = config(&db, &gemini, &storage, &[]);
    assert_eq!(check(&doctor::run(&config, None).await, "private_data").level, Level::Pass);

    for (flaw, undo, named) in [
        (
            "GRANT SELECT (voice_bank, character_reference) ON persona_private TO anon",
            "REVOKE ALL ON persona_private FROM anon",
            "anon: holds a privilege",
        ),
        (
            "CREATE POLICY open_voices ON persona_private FOR SELECT USING (true)",
            "DROP POLICY open_voices ON persona_private",
            "policy open_voices",
        ),
        (
            "ALTER TABLE persona_private DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE persona_private ENABLE ROW LEVEL SECURITY",
            "Row Level Security is off",
        ),
        (
            "CREATE VIEW public.persona_voices AS SELECT persona_id, voice FROM persona_private;
             GRANT SELECT ON public.persona_voices TO authenticated",
            "DROP VIEW public.persona_voices",
            "public.persona_voices: a view readable by authenticated",
        ),
    ] {
        c.batch_execute(flaw).await.unwrap();
        let report = doctor::run(&config, None).await;
        let private = check(&report, "private_data");
        assert_eq!(private.level, Level::Fail, "{flaw}: {}", report.render());
        assert!(!report.ok);
        assert!(private.detail.contains(named), "{flaw}: {}", private.detail);
        assert!(private.fix.as_deref().unwrap().contains("REVOKE ALL ON public.persona_private"), "{private:?}");
        c.batch_execute(undo).await.unwrap();
    }
    // A view that reads with the reader's own rights exposes nothing.
    c.batch_execute(
        "CREATE VIEW public.persona_voices WITH (security_invoker = true) AS SELECT persona_id, voice FROM persona_private;
         GRANT SELECT ON public.persona_voices TO anon",
    )
    .await
    .unwrap();
    assert_eq!(check(&doctor::run(&config, None).await, "private_data").level, Level::Pass);
    denied(as_role(&mut c, "anon", "SELECT * FROM persona_voices").await, "a security_invoker view");
}

#[tokio::test]
async fn a_failed_migration_names_the_statement_and_the_databases_own_words() {
    let db = TestDb::empty().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();
    // A platform whose personas table has an id that is not a uuid: the engine's references cannot point at it.
    c.batch_execute(
        "CREATE TABLE personas (id bigint PRIMARY KEY, username text NOT NULL, display_name text NOT NULL)",
    )
    .await
    .unwrap();
    let err = migrate::run(&mut c).await.unwrap_err().to_string();
    assert!(err.contains("migration V2__persona_authorship failed"), "{err}");
    assert!(
        err.contains("statement: ALTER TABLE public.posts ADD COLUMN IF NOT EXISTS persona_id uuid REFERENCES"),
        "{err}"
    );
    assert!(err.contains("incompatible types: uuid and bigint"), "{err}");
    assert!(err.contains("detail: Key columns"), "{err}");
    assert!(!err.contains("db error"), "{err}");
    // V1 went in; V2 left nothing behind, and the plan says the same without changing anything.
    let applied: Vec<i32> = c
        .query_typed("SELECT version FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(applied, vec![1]);
    let plan_err = migrate::plan(&mut c).await.unwrap_err().to_string();
    assert!(plan_err.contains("migration V2__persona_authorship failed"), "{plan_err}");
    let _ = Type::UUID;
    let _ = SqlState::UNDEFINED_COLUMN;
}
