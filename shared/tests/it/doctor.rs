//! `doctor` against a real PostgreSQL set up like Supabase, the Gemini fake and the Storage fake: a
//! sound deployment passes, and each way of breaking it fails the right check, naming the table,
//! variable or model and the fix — without ever printing a secret.

use shared::config::Config;
use shared::db::Type;
use shared::doctor::{self, DoctorReport, Level};
use testkit::{GeminiFake, StorageFake, TestDb, gemini_fake::FAKE_KEY, storage_fake::FAKE_SERVICE_KEY};

const ADMIN_KEY: &str = "doctor-admin-key-0123456789abcdef0123";

pub(crate) fn config(db: &TestDb, gemini: &GeminiFake, storage: &StorageFake, extra: &[(&str, &str)]) -> Config {
    let mut pairs: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.direct_url()),
        ("GEMINI_API_KEY".into(), FAKE_KEY.into()),
        ("GEMINI_BASE_URL".into(), gemini.uri()),
        ("SUPABASE_URL".into(), storage.uri()),
        ("SUPABASE_SERVICE_ROLE_KEY".into(), FAKE_SERVICE_KEY.into()),
        ("SUPABASE_STORAGE_BUCKET".into(), "media".into()),
        ("ADMIN_API_KEY".into(), ADMIN_KEY.into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push((k.to_string(), v.to_string()));
    }
    Config::from_map(&pairs.into_iter().collect()).expect("doctor test configuration")
}

pub(crate) fn check<'a>(report: &'a DoctorReport, name: &str) -> &'a shared::doctor::Check {
    report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}: {report:#?}"))
}

fn assert_no_secret(report: &DoctorReport) {
    let text = format!("{}{}", report.render(), serde_json::to_string(report).unwrap());
    for secret in [FAKE_KEY, FAKE_SERVICE_KEY, ADMIN_KEY, "test-password"] {
        assert!(!text.contains(secret), "a secret in the report: {text}");
    }
}

#[tokio::test]
async fn a_sound_deployment_passes_every_check() {
    let db = TestDb::new().await;
    let gemini = GeminiFake::start().await;
    let storage = StorageFake::start("media", 1 << 20).await;
    let report = doctor::run(&config(&db, &gemini, &storage, &[]), None).await;

    assert!(report.ok, "{}", report.render());
    for name in [
        "configuration",
        "database_tls",
        "pooler",
        "database",
        "migrations",
        "schema_contract",
        "row_level_security",
        "private_data",
        "author_rule",
        "storage",
        "model",
        "prices",
        "admin_key",
        "remote_tls",
        "disclosure",
        "media_marks",
    ] {
        let c = check(&report, name);
        // The test server's role is a superuser: the one warning a sound test deployment gets.
        let expected = if name == "database" { Level::Warn } else { Level::Pass };
        assert_eq!(c.level, expected, "{name}: {}", report.render());
    }
    assert!(check(&report, "migrations").detail.contains("current"));
    let prices = &check(&report, "prices").detail;
    assert!(prices.contains("gemini-3.1-flash-lite $0.25/$1.5 per M tokens"), "{}", report.render());
    assert!(prices.contains("gemini-3.5-flash-lite $0.3/$2.5 per M tokens"), "{}", report.render());
    // Every class's model is checked once, named with the work it does.
    let models = &check(&report, "model").detail;
    assert!(models.contains("gemini-3.1-flash-lite (decision)"), "{models}");
    assert!(models.contains("gemini-3.5-flash-lite (writing, vision)"), "{models}");
    assert!(models.contains("veo-3.1-fast-generate-preview (video)"), "{models}");
    assert_eq!(gemini.received().len(), 0, "doctor generates nothing, it only asks for the models");
    // A model the price table does not know: counted as free, so doctor warns and names it.
    let unpriced = doctor::run(&config(&db, &gemini, &storage, &[("GEMINI_MODEL", "my-proxy-model")]), None).await;
    let prices = check(&unpriced, "prices");
    assert_eq!(prices.level, Level::Warn, "{}", unpriced.render());
    assert!(
        prices.detail.contains("my-proxy-model") && prices.fix.as_deref().unwrap_or_default().contains("MODEL_PRICES")
    );
    assert!(gemini.violations().is_empty() && storage.violations().is_empty());
    assert_no_secret(&report);
}

#[tokio::test]
async fn each_broken_part_fails_its_check_and_names_what_to_fix() {
    let db = TestDb::new().await;
    let c = db.client().await;
    c.batch_execute(
        "ALTER TABLE posts DISABLE ROW LEVEL SECURITY;
         GRANT SELECT ON persona_tasks TO anon;
         GRANT UPDATE ON persona_accounts TO authenticated;
         ALTER TABLE comments DROP COLUMN depth;
         ALTER TABLE votes ALTER COLUMN value TYPE integer;",
    )
    .await
    .unwrap();
    drop(c);
    let gemini = GeminiFake::start().await;
    gemini.retire(shared::ai::ModelClass::Image.default_model());
    let storage = StorageFake::start("photos", 1 << 20).await;
    let report = doctor::run(&config(&db, &gemini, &storage, &[]), None).await;

    assert!(!report.ok);
    let rls = check(&report, "row_level_security");
    assert_eq!(rls.level, Level::Fail);
    assert!(rls.detail.contains("public.posts") && rls.detail.contains("anon on persona_tasks"), "{}", rls.detail);
    assert!(rls.fix.as_deref().unwrap().contains("REVOKE ALL ON public.persona_tasks FROM anon"), "{rls:?}");
    // The labels anyone may read, nobody but the engine may change.
    assert!(rls.detail.contains("authenticated on persona_accounts"), "{}", rls.detail);
    assert!(rls.fix.as_deref().unwrap().contains("REVOKE INSERT, UPDATE, DELETE"), "{rls:?}");

    let contract = check(&report, "schema_contract");
    assert_eq!(contract.level, Level::Fail);
    assert!(contract.detail.contains("comments.depth is missing"), "{}", contract.detail);
    assert!(contract.detail.contains("votes.value is int4; the engine reads it as int2"), "{}", contract.detail);

    let model = check(&report, "model");
    assert_eq!(model.level, Level::Fail);
    assert!(model.detail.contains("gemini-3.1-flash-lite-image"), "{}", model.detail);
    assert!(model.fix.as_deref().unwrap().contains("GEMINI_MODEL_IMAGE"), "the class's variable: {model:?}");

    let storage_check = check(&report, "storage");
    assert_eq!(storage_check.level, Level::Fail);
    assert!(storage_check.fix.as_deref().unwrap().contains("SUPABASE_STORAGE_BUCKET"), "{storage_check:?}");
    assert_no_secret(&report);
}

#[tokio::test]
async fn an_unmigrated_database_a_wrong_key_and_plain_http_fail() {
    let db = TestDb::empty().await;
    let gemini = GeminiFake::start_with_key("AIzaANOTHER-key-0123456789abcdef").await;
    let storage = StorageFake::start("media", 1 << 20).await;
    let report =
        doctor::run(&config(&db, &gemini, &storage, &[("OPENAI_BASE_URL", "http://api.example.com/v1")]), None).await;
    assert_eq!(check(&report, "migrations").level, Level::Fail);
    assert!(check(&report, "migrations").fix.as_deref().unwrap().contains("persona-engine migrate"));
    assert!(check(&report, "schema_contract").detail.contains("missing tables: personas"));
    let model = check(&report, "model");
    assert_eq!(model.level, Level::Fail);
    assert!(model.fix.as_deref().unwrap().contains("GEMINI_API_KEY"), "{model:?}");

    // An OpenAI-compatible server over plain http to another host.
    let report = doctor::run(
        &config(
            &db,
            &gemini,
            &storage,
            &[("LLM_PROVIDER", "openai"), ("OPENAI_BASE_URL", "http://api.example.com/v1")],
        ),
        None,
    )
    .await;
    let tls = check(&report, "remote_tls");
    assert_eq!(tls.level, Level::Fail);
    assert!(tls.detail.contains("OPENAI_BASE_URL"), "{}", tls.detail);
    assert_no_secret(&report);
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_fails_and_the_rest_is_skipped() {
    let gemini = GeminiFake::start().await;
    let storage = StorageFake::start("media", 1 << 20).await;
    let db = TestDb::new().await;
    // A port nothing listens on, with a password that must not show.
    let unreachable = "postgres://postgres:test-password@127.0.0.1:9/postgres";
    let report = doctor::run(&config(&db, &gemini, &storage, &[("DATABASE_URL", unreachable)]), None).await;
    assert_eq!(check(&report, "database").level, Level::Fail);
    assert_eq!(check(&report, "migrations").level, Level::Skip);
    assert!(!report.ok);
    assert_no_secret(&report);
    // Without any DATABASE_URL, doctor says so instead of failing to start.
    let mut no_db = config(&db, &gemini, &storage, &[]);
    no_db.database.url = None;
    let report = doctor::run(&no_db, None).await;
    assert!(check(&report, "database").detail.contains("DATABASE_URL is not set"));
}

#[tokio::test]
async fn a_supabase_direct_url_and_an_unverified_one_are_warned_about() {
    // Only the URL is examined for these two checks; the database behind it is never reached.
    for (url, check_name, expected) in [
        ("postgres://postgres:test-password@db.abcdefgh.supabase.co:5432/postgres", "pooler", "direct connection"),
        ("postgres://u:test-password@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", "pooler", "session pooler"),
        ("postgres://u:test-password@db.example.com:5432/postgres?sslmode=require", "database_tls", "not verified"),
    ] {
        let mut config = Config::defaults();
        config.database.url = Some(url.to_owned().into());
        let endpoint = shared::db::endpoint(url, None).unwrap();
        assert!(!endpoint.local);
        let pool = shared::db::connect_pool(&shared::db::ConnectOptions {
            url: "postgres://nobody@127.0.0.1:9/none".to_owned().into(),
            ca_cert: None,
            pool_size: 1,
        })
        .unwrap();
        let report = doctor::run(&config, Some(&pool)).await;
        let c = check(&report, check_name);
        assert_eq!(c.level, Level::Warn, "{url}: {c:?}");
        assert!(c.detail.contains(expected), "{url}: {}", c.detail);
        assert_no_secret(&report);
    }
}

#[tokio::test]
async fn the_least_privilege_role_can_run_doctor() {
    // The grants in docs/engine-role.sql include what doctor reads (the migration history).
    let db = TestDb::new().await;
    let role = format!("pe_doctor_{}", &db.name()[db.name().len() - 8..]);
    let admin = shared::db::connect_one(&db.direct_url(), None).await.unwrap();
    let script = include_str!("../../../docs/engine-role.sql")
        .replace("persona_engine LOGIN", &format!("{role} LOGIN"))
        .replace("TO persona_engine", &format!("TO {role}"))
        .replace("'change-me'", "'test-password'");
    admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).await.unwrap();
    admin.batch_execute(&script).await.unwrap();
    let gemini = GeminiFake::start().await;
    let storage = StorageFake::start("media", 1 << 20).await;
    let url = crate::security::url_as(&db, &role, "test-password");
    let report = doctor::run(&config(&db, &gemini, &storage, &[("DATABASE_URL", &url)]), None).await;
    admin.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}")).await.ok();
    assert!(report.ok, "{}", report.render());
    assert_eq!(check(&report, "database").level, Level::Pass, "not a superuser: {}", report.render());
    assert!(check(&report, "database").detail.contains("bypasses RLS"));
    let count: i64 = db
        .client()
        .await
        .query_typed_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[(&role, Type::TEXT)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "the role was dropped");
}

#[tokio::test]
async fn a_retired_video_model_is_named_with_its_variable() {
    let db = TestDb::new().await;
    let gemini = GeminiFake::start().await;
    gemini.retire("veo-2.0-generate-001");
    let storage = StorageFake::start("media", 1 << 20).await;
    let report =
        doctor::run(&config(&db, &gemini, &storage, &[("GEMINI_VIDEO_MODEL", "veo-2.0-generate-001")]), None).await;

    let model = check(&report, "model");
    assert_eq!(model.level, Level::Fail, "{model:?}");
    assert!(model.detail.contains("veo-2.0-generate-001"), "{}", model.detail);
    assert!(model.fix.as_deref().unwrap().contains("GEMINI_VIDEO_MODEL"), "{model:?}");
    let asked: Vec<String> = gemini.received().iter().map(|r| r.path_and_query.clone()).collect();
    assert!(asked.is_empty(), "doctor only reads model descriptions, it never asks for a clip: {asked:?}");
}

#[tokio::test]
async fn the_disclosure_mode_and_the_media_marks_are_reported_and_none_is_warned_about() {
    let db = TestDb::new().await;
    let gemini = GeminiFake::start().await;
    let storage = StorageFake::start("media", 1 << 20).await;
    let honest = doctor::run(&config(&db, &gemini, &storage, &[]), None).await;
    assert!(check(&honest, "disclosure").detail.starts_with("honest"), "{}", honest.render());
    assert!(check(&honest, "media_marks").detail.contains("unsigned"), "{}", honest.render());
    let labelled = doctor::run(
        &config(&db, &gemini, &storage, &[("PERSONA_DISCLOSURE", "labelled"), ("PERSONA_BIO_LABEL", "(AI)")]),
        None,
    )
    .await;
    let said = &check(&labelled, "disclosure").detail;
    assert!(said.contains("\"AI persona\"") && said.contains("\"(AI)\""), "{said}");
    let identity = testkit::signing::identity();
    let signed = doctor::run(
        &config(
            &db,
            &gemini,
            &storage,
            &[("C2PA_SIGNING_CERT", &identity.certificates), ("C2PA_SIGNING_KEY", &identity.key)],
        ),
        None,
    )
    .await;
    let marks = &check(&signed, "media_marks").detail;
    assert!(marks.starts_with("signed") && marks.contains("2 certificate"), "{marks}");
    assert!(!signed.render().contains("PRIVATE KEY"), "the key never appears");
    let none = doctor::run(&config(&db, &gemini, &storage, &[("PERSONA_DISCLOSURE", "none")]), None).await;
    let warned = check(&none, "disclosure");
    assert_eq!(warned.level, Level::Warn);
    assert!(warned.fix.as_deref().unwrap().contains("Article 50"), "{warned:?}");
}
