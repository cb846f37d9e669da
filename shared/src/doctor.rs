//! `persona-engine doctor` and `GET /doctor`: checks the deployment the engine is configured for, the
//! way an operator would before trusting it, and says for each problem what to change.
//!
//! Nothing here writes anything, and no secret is ever part of a check's text: hosts and variable
//! names are shown, keys and passwords never.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Serialize;

use crate::ai::gemini::GeminiClient;
use crate::ai::{ModelClass, ModelError};
use crate::config::{Config, LlmProvider};
use crate::db::schema::{self, CONTRACT, Held, MIGRATIONS, Owner, live};
use crate::db::{self, ConnectOptions, DbPool, Endpoint, TlsMode};
use crate::disclosure::Disclosure;
use crate::media::storage::{StorageError, SupabaseStorage};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// As it should be.
    Pass,
    /// Works, but not as it should be in production.
    Warn,
    /// Broken: the engine will misbehave or is exposed.
    Fail,
    /// Not applicable to this configuration (or not possible after an earlier failure).
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// Its name.
    pub name: &'static str,
    /// How it came out.
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to do about it, when something should be done.
    pub fix: Option<String>,
}

/// Every check, in order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorReport {
    /// No check failed (warnings allowed).
    pub ok: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    fn new() -> Self {
        Self { ok: true, checks: Vec::new() }
    }

    fn add(&mut self, name: &'static str, level: Level, detail: impl Into<String>, fix: Option<String>) {
        if level == Level::Fail {
            self.ok = false;
        }
        self.checks.push(Check { name, level, detail: detail.into(), fix });
    }

    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Level::Pass, detail, None);
    }

    fn warn(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(name, Level::Warn, detail, Some(fix.into()));
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(name, Level::Fail, detail, Some(fix.into()));
    }

    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Level::Skip, detail, None);
    }

    /// The report for a configuration that could not even be read.
    pub fn unreadable_configuration(error: &crate::config::ConfigError) -> Self {
        let mut report = Self::new();
        report.fail("configuration", error.to_string(), "fix the variable named (see docs/configuration.md)");
        report
    }

    /// How many checks came out at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }

    /// A checklist for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::from("persona-engine doctor\n\n");
        for check in &self.checks {
            let mark = match check.level {
                Level::Pass => "PASS",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
                Level::Skip => "SKIP",
            };
            out.push_str(&format!("{mark}  {:<20} {}\n", check.name, check.detail));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("      {:<20} fix: {fix}\n", ""));
            }
        }
        out.push_str(&format!(
            "\n{} passed, {} warnings, {} failed, {} skipped\n",
            self.count(Level::Pass),
            self.count(Level::Warn),
            self.count(Level::Fail),
            self.count(Level::Skip)
        ));
        out
    }
}

/// Runs every check against what `config` names. `pool` is the engine's own when it has one (the admin
/// API); otherwise doctor opens a connection of its own.
pub async fn run(config: &Config, pool: Option<&DbPool>) -> DoctorReport {
    let mut report = DoctorReport::new();
    report.pass(
        "configuration",
        format!(
            "read; LLM_PROVIDER={}, images to {}",
            provider_name(config.llm_provider),
            if config.supabase.is_some() { "Supabase Storage" } else { "MEDIA_DIR" }
        ),
    );

    disclosure(&mut report, config);

    let owned_pool;
    let pool = match (pool, &config.database.url) {
        (Some(pool), _) => Some(pool),
        (None, None) => {
            report.fail("database", "DATABASE_URL is not set", "set DATABASE_URL to the platform's PostgreSQL");
            None
        }
        (None, Some(url)) => {
            match db::connect_pool(&ConnectOptions {
                url: url.expose_secret().to_owned().into(),
                ca_cert: config.database.ca_cert.clone(),
                pool_size: 1,
            }) {
                Ok(p) => {
                    owned_pool = p;
                    Some(&owned_pool)
                }
                Err(e) => {
                    report.fail("database", e.to_string(), "fix DATABASE_URL (or DATABASE_CA_CERT)");
                    None
                }
            }
        }
    };
    if let Some(url) = &config.database.url {
        match db::endpoint(url.expose_secret(), config.database.ca_cert.as_deref()) {
            Ok(endpoint) => {
                database_tls(&mut report, &endpoint);
                pooler(&mut report, &endpoint);
            }
            Err(e) => report.fail("database_tls", e.to_string(), "fix DATABASE_URL"),
        }
    }
    match pool {
        Some(pool) => database(&mut report, pool).await,
        None => {
            for name in DATABASE_CHECKS {
                report.skip(name, "no database to check");
            }
        }
    }
    storage(&mut report, config).await;
    model(&mut report, config).await;
    prices(&mut report, config);
    admin_key(&mut report, config);
    remote_tls(&mut report, config);
    report
}

/// Whether every model the configuration calls has a price: an unpriced model's calls are counted as
/// free, so the ledger and the budgets would not see them.
fn prices(report: &mut DoctorReport, config: &Config) {
    // Each configured model once: a clip model is priced per second, the others per token.
    let (models, clips): (Vec<&str>, Vec<&str>) = match config.llm_provider {
        LlmProvider::Gemini => {
            let (clips, models): (Vec<_>, Vec<_>) =
                config.gemini.models.distinct().into_iter().partition(|(_, classes)| classes == &[ModelClass::Video]);
            (models.into_iter().map(|(m, _)| m).collect(), clips.into_iter().map(|(m, _)| m).collect())
        }
        LlmProvider::OpenAiCompatible => (vec![&config.openai.model], Vec::new()),
        LlmProvider::Offline => {
            report.pass("prices", "the offline writer costs nothing");
            return;
        }
    };
    let unpriced: Vec<&str> = models
        .iter()
        .filter(|m| config.prices.price(m).is_none())
        .chain(clips.iter().filter(|m| config.prices.video_per_second(m).is_none()))
        .copied()
        .collect();
    if unpriced.is_empty() {
        let shown: Vec<String> = models
            .iter()
            .filter_map(|m| {
                config.prices.price(m).map(|p| format!("{m} ${}/${} per M tokens in/out", p.input, p.output))
            })
            .collect();
        report.pass("prices", format!("{} (defaults as of {})", shown.join("; "), crate::ai::cost::PRICES_AS_OF));
    } else {
        report.warn(
            "prices",
            format!("no price for {}: their calls count as free in the ledger and the budgets", unpriced.join(", ")),
            "set MODEL_PRICES, e.g. MODEL_PRICES=\"my-model=0.3/0.03/2.5\" (USD per million tokens: input/cached/output[/image])",
        );
    }
}

/// What personas say about being AI, and how generated media is marked.
fn disclosure(report: &mut DoctorReport, config: &Config) {
    let settings = &config.disclosure;
    match settings.mode {
        Disclosure::Honest => report.pass(
            "disclosure",
            "honest: personas never bring up being AI and never deny it; a sincere question is answered",
        ),
        Disclosure::Labelled => report.pass(
            "disclosure",
            format!(
                "labelled: honest, and every persona account carries the label {:?} in persona_accounts{}",
                settings.label,
                settings.bio_suffix.as_deref().map(|s| format!(" and the bio suffix {s:?}")).unwrap_or_default()
            ),
        ),
        Disclosure::None => report.warn(
            "disclosure",
            "none: personas will not say they are AI even when sincerely asked",
            "set PERSONA_DISCLOSURE=honest or labelled, or disclose it on the platform (EU AI Act, Article 50)",
        ),
    }
    match &config.media_signer {
        Some(signer) => report.pass(
            "media_marks",
            format!(
                "signed: every stored image and clip carries the XMP mark and C2PA Content Credentials signed \
                 with C2PA_SIGNING_CERT ({} certificate(s) in the chain)",
                signer.chain_len()
            ),
        ),
        None => report.pass(
            "media_marks",
            "unsigned: every stored image and clip carries an XMP mark (IPTC digital source type \
             trainedAlgorithmicMedia, the model, the time); set C2PA_SIGNING_CERT and C2PA_SIGNING_KEY to sign \
             C2PA Content Credentials too",
        ),
    }
}

fn provider_name(provider: LlmProvider) -> &'static str {
    match provider {
        LlmProvider::Gemini => "gemini",
        LlmProvider::OpenAiCompatible => "openai",
        LlmProvider::Offline => "offline",
    }
}

fn database_tls(report: &mut DoctorReport, endpoint: &Endpoint) {
    let at = endpoint.hosts.join(",");
    match (endpoint.local, endpoint.tls) {
        (true, _) => report.pass("database_tls", format!("{at} is this machine")),
        (false, TlsMode::Verified) => report.pass("database_tls", format!("{at}: TLS, certificate verified")),
        (false, TlsMode::Unverified) => report.warn(
            "database_tls",
            format!("{at}: TLS, but the server's certificate is not verified (sslmode=require)"),
            "set DATABASE_CA_CERT to the server's CA (Supabase: prod-supabase.cer) or use sslmode=verify-full",
        ),
        (false, TlsMode::Off) => report.fail(
            "database_tls",
            format!("{at} is remote and the connection is not encrypted (sslmode=disable)"),
            "remove sslmode=disable from DATABASE_URL",
        ),
    }
}

fn pooler(report: &mut DoctorReport, endpoint: &Endpoint) {
    let host = endpoint.hosts.first().map(String::as_str).unwrap_or_default();
    if host.ends_with(".pooler.supabase.com") {
        if endpoint.port == 6543 {
            report.pass("pooler", format!("{host}:6543, Supabase's transaction pooler"));
        } else {
            report.warn(
                "pooler",
                format!("{host}:{} is Supabase's session pooler: each Lambda holds a connection", endpoint.port),
                "use port 6543 (the transaction pooler) for the functions; keep :5432 for migrate",
            );
        }
    } else if host.ends_with(".supabase.co") {
        report.warn(
            "pooler",
            format!("{host} is a direct connection to Supabase: every Lambda instance opens its own"),
            "use the transaction pooler (<region>.pooler.supabase.com:6543) for the functions",
        );
    } else {
        report.pass("pooler", format!("{host}:{} (not a Supabase host: no pooler expected)", endpoint.port));
    }
}

/// The checks that need the database, after `database` itself.
const DATABASE_CHECKS: [&str; 5] =
    ["migrations", "schema_contract", "row_level_security", "private_data", "author_rule"];

async fn database(report: &mut DoctorReport, pool: &DbPool) {
    let client = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "database",
                db::DbError::from(e).to_string(),
                "check DATABASE_URL, the network and the password",
            );
            for name in DATABASE_CHECKS {
                report.skip(name, "the database is unreachable");
            }
            return;
        }
    };
    let c = &**client;
    match live::session(c).await {
        Ok((role, true, _, version)) => report.warn(
            "database",
            format!("reachable (PostgreSQL {version}) as {role}, a superuser"),
            "run the engine as a role with only what it needs (docs/engine-role.sql)",
        ),
        Ok((role, false, bypass_rls, version)) => {
            let rls = if bypass_rls { ", bypasses RLS" } else { "" };
            report.pass("database", format!("reachable (PostgreSQL {version}) as {role}{rls}"));
        }
        Err(e) => report.fail("database", e.to_string(), "check DATABASE_URL and the role's grants"),
    }

    let embedded: BTreeMap<i32, &str> = MIGRATIONS.iter().copied().collect();
    match live::applied_migrations(c).await {
        Ok(None) => report.fail(
            "migrations",
            "no migration has been applied",
            "run `persona-engine migrate` with DATABASE_URL on the direct or session connection (:5432)",
        ),
        Ok(Some(applied)) => {
            let applied: BTreeSet<i32> = applied.into_iter().collect();
            let missing: Vec<String> = embedded
                .iter()
                .filter(|(v, _)| !applied.contains(v))
                .map(|(v, name)| format!("V{v}__{name}"))
                .collect();
            let newer: Vec<String> =
                applied.iter().filter(|v| !embedded.contains_key(v)).map(|v| format!("V{v}")).collect();
            let latest = embedded.keys().last().copied().unwrap_or_default();
            if !missing.is_empty() {
                report.fail(
                    "migrations",
                    format!("{} not applied: {}", missing.len(), missing.join(", ")),
                    "run `persona-engine migrate` with DATABASE_URL on the direct or session connection (:5432)",
                );
            } else if !newer.is_empty() {
                report.warn(
                    "migrations",
                    format!("the database has migrations this build does not know: {}", newer.join(", ")),
                    "deploy the build that applied them",
                );
            } else {
                report.pass("migrations", format!("current (V{latest})"));
            }
        }
        Err(e) => report.fail(
            "migrations",
            format!("cannot read the migration history: {e}"),
            "grant the engine's role SELECT on refinery_schema_history (docs/engine-role.sql)",
        ),
    }

    match live::public_columns(c).await {
        Ok(columns) => schema_contract(report, &columns),
        Err(e) => report.fail("schema_contract", e.to_string(), "check the role's access to the catalog"),
    }

    match live::public_tables_rls(c).await {
        Ok(tables) => {
            let engine_tables: Vec<&str> = schema::engine_tables().collect();
            let public_read: Vec<&str> = schema::public_read_tables().collect();
            let web = ["anon", "authenticated"];
            let held = async {
                let held = live::privileges_held(c, &web, &engine_tables, Held::Any).await?;
                let writes = live::privileges_held(c, &web, &public_read, Held::Changing).await?;
                Ok::<_, crate::db::DbError>((held, writes))
            };
            match held.await {
                Ok((held, writes)) => row_level_security(report, &tables, &held, &writes),
                Err(e) => report.fail("row_level_security", e.to_string(), "check the role's access to the catalog"),
            }
        }
        Err(e) => report.fail("row_level_security", e.to_string(), "check the role's access to the catalog"),
    }

    match live::private_data_routes(c, &["anon", "authenticated"]).await {
        Ok(routes) if routes.is_empty() => {
            report.pass("private_data", "anon and authenticated cannot read persona_private by any route")
        }
        Ok(routes) => {
            let found: Vec<String> = routes.iter().map(|(who, how)| format!("{who}: {how}")).collect();
            report.fail(
                "private_data",
                format!("the web app's key can reach how personas write and behave: {}", found.join("; ")),
                "ALTER TABLE public.persona_private ENABLE ROW LEVEL SECURITY; REVOKE ALL ON public.persona_private \
                 FROM anon, authenticated; drop any policy on it; make a view over it security_invoker or revoke \
                 SELECT on the view from anon and authenticated",
            );
        }
        Err(e) => report.fail("private_data", e.to_string(), "check the role's access to the catalog"),
    }

    match live::author_rule_breaches(c, 1000).await {
        Ok(counts) => {
            let breaking: Vec<String> = counts
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| format!("{t}: {n}{}", if *n >= 1000 { "+" } else { "" }))
                .collect();
            if breaking.is_empty() {
                report
                    .pass("author_rule", "every post, comment and vote has exactly one author (a person or a persona)");
            } else {
                report.warn(
                    "author_rule",
                    format!("older rows with no author or two (enforced for new rows only): {}", breaking.join(", ")),
                    "nothing breaks; to enforce the rule on every row, fix those rows and run ALTER TABLE … VALIDATE \
                     CONSTRAINT posts_author_xor (and comments_author_xor, votes_author_xor)",
                );
            }
        }
        Err(e) => report.warn("author_rule", e.to_string(), "check the role's SELECT on posts, comments and votes"),
    }
}

fn schema_contract(report: &mut DoctorReport, columns: &[(String, String, String)]) {
    let mut found: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (table, column, kind) in columns {
        found.entry(table).or_default().insert(column, kind);
    }
    let mut problems = Vec::new();
    let mut tables_missing = Vec::new();
    for table in CONTRACT {
        let Some(have) = found.get(table.name) else {
            tables_missing.push(table.name);
            continue;
        };
        for column in table.columns {
            match have.get(column.name) {
                None => problems.push(format!("{}.{} is missing", table.name, column.name)),
                Some(kind) if !column.types.contains(kind) => problems.push(format!(
                    "{}.{} is {kind}; the engine reads it as {}",
                    table.name, column.name, column.types[0]
                )),
                Some(_) => {}
            }
        }
    }
    if !tables_missing.is_empty() {
        problems.insert(0, format!("missing tables: {}", tables_missing.join(", ")));
    }
    if problems.is_empty() {
        let columns: usize = CONTRACT.iter().map(|t| t.columns.len()).sum();
        report.pass("schema_contract", format!("{} tables, {columns} columns as the engine uses them", CONTRACT.len()));
    } else {
        report.fail(
            "schema_contract",
            problems.join("; "),
            "run `persona-engine migrate`; for a platform table, give the column the type listed in docs/schema.md (Schema contract)",
        );
    }
}

/// `held`: privileges of the web's roles on engine tables; `writes`: their write privileges on the
/// engine tables they may read.
fn row_level_security(
    report: &mut DoctorReport,
    tables: &[(String, bool)],
    held: &[(String, String)],
    writes: &[(String, String)],
) {
    let open: Vec<&str> = tables.iter().filter(|(_, rls)| !rls).map(|(t, _)| t.as_str()).collect();
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if !open.is_empty() {
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            open.iter().partition(|t| schema::owner_of(t) == Some(Owner::Engine));
        problems.push(format!(
            "RLS is off on {} (anyone with the anon key can read and write them)",
            open.iter().map(|t| format!("public.{t}")).collect::<Vec<_>>().join(", ")
        ));
        if !ours.is_empty() {
            fixes.push("run `persona-engine migrate` (the engine's tables get RLS from V11)".to_owned());
        }
        if !theirs.is_empty() {
            fixes.push(format!(
                "ALTER TABLE … ENABLE ROW LEVEL SECURITY on {} and add the policies your web app needs",
                theirs.join(", ")
            ));
        }
    }
    // Each finding names who holds what, and the REVOKE that takes it away.
    let mut finding = |found: &[(String, String)], what: &str, revoke: &str| {
        if found.is_empty() {
            return;
        }
        let pairs: Vec<String> = found.iter().map(|(role, table)| format!("{role} on {table}")).collect();
        problems.push(format!("{what}: {}", pairs.join(", ")));
        let tables: BTreeSet<String> = found.iter().map(|(_, t)| format!("public.{t}")).collect();
        fixes.push(format!(
            "REVOKE {revoke} ON {} FROM anon, authenticated",
            tables.into_iter().collect::<Vec<_>>().join(", ")
        ));
    };
    finding(held, "the web app's roles hold privileges on engine tables", "ALL");
    finding(
        writes,
        "the web app's roles may change engine tables they should only read",
        "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER",
    );
    if problems.is_empty() {
        report.pass(
            "row_level_security",
            format!(
                "on for all {} public tables; anon and authenticated reach no engine table but may read persona_accounts",
                tables.len()
            ),
        );
    } else {
        report.fail("row_level_security", problems.join("; "), fixes.join("; "));
    }
}

async fn storage(report: &mut DoctorReport, config: &Config) {
    let Some(supabase) = &config.supabase else {
        report.skip(
            "storage",
            format!("SUPABASE_URL is not set: images go to MEDIA_DIR ({})", config.image.local_dir.display()),
        );
        return;
    };
    let storage = SupabaseStorage::from_config(supabase);
    match storage.check_bucket().await {
        Ok(()) => report.pass("storage", format!("bucket {:?} exists", storage.bucket())),
        Err(e @ StorageError::BucketMissing { .. }) => report.fail(
            "storage",
            e.to_string(),
            format!("create the bucket {:?} in Supabase Storage, or set SUPABASE_STORAGE_BUCKET", storage.bucket()),
        ),
        Err(e @ StorageError::Unauthorized(_)) => {
            report.fail("storage", e.to_string(), "set SUPABASE_SERVICE_ROLE_KEY to the project's service key")
        }
        Err(e) => report.fail("storage", e.to_string(), "check SUPABASE_URL and that the project is up"),
    }
}

async fn model(report: &mut DoctorReport, config: &Config) {
    match config.llm_provider {
        LlmProvider::Offline => report.warn(
            "model",
            "LLM_PROVIDER=offline: texts come from templates, not a language model",
            "set GEMINI_API_KEY for Gemini",
        ),
        LlmProvider::OpenAiCompatible => {
            report.skip("model", format!("OpenAI-compatible server at {} (not checked)", config.openai.base_url))
        }
        LlmProvider::Gemini => {
            let client = match GeminiClient::new(
                &config.gemini.base_url,
                config.gemini.api_key.clone().unwrap_or_else(|| String::new().into()),
                "",
                "",
                config.gemini.timeout.min(Duration::from_secs(20)),
            ) {
                Ok(client) => client.with_models(config.gemini.models.clone()),
                Err(e) => return report.fail("model", e.to_string(), "check the GEMINI_* variables"),
            };
            let mut fine = Vec::new();
            let mut failed = false;
            // Each configured model once, named with the classes of work it does.
            for (model, classes) in client.models().distinct() {
                let names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
                match client.check_model(model).await {
                    Ok(()) => fine.push(format!("{model} ({})", names.join(", "))),
                    Err(e @ ModelError::ModelNotFound { .. }) => {
                        failed = true;
                        let var = client.models().variable(classes[0]);
                        report.fail(
                            "model",
                            e.to_string(),
                            format!("set {var} to a model `GET /v1beta/models` lists for your key"),
                        );
                    }
                    Err(e @ ModelError::BadApiKey { .. }) => {
                        return report.fail(
                            "model",
                            e.to_string(),
                            "set GEMINI_API_KEY to a key from Google AI Studio",
                        );
                    }
                    Err(e @ ModelError::RateLimited { .. }) => {
                        failed = true;
                        report.warn("model", e.to_string(), "the key works but is rate limited now; try again later");
                    }
                    Err(e) => {
                        failed = true;
                        report.fail("model", e.to_string(), "check GEMINI_BASE_URL and the network");
                    }
                }
            }
            if !failed {
                report.pass("model", format!("the key works; these exist: {}", fine.join("; ")));
            }
        }
    }
}

fn admin_key(report: &mut DoctorReport, config: &Config) {
    match &config.admin.api_key {
        Some(key) => report.pass(
            "admin_key",
            format!(
                "set ({} characters, at least {})",
                key.secret().expose_secret().chars().count(),
                crate::config::AdminKey::MIN_CHARS
            ),
        ),
        None => report.warn(
            "admin_key",
            "ADMIN_API_KEY is not set: the admin API answers /health only",
            "set ADMIN_API_KEY (at least 32 characters, e.g. `openssl rand -hex 32`)",
        ),
    }
}

fn remote_tls(report: &mut DoctorReport, config: &Config) {
    let mut urls: Vec<(&'static str, &str)> = Vec::new();
    match config.llm_provider {
        LlmProvider::Gemini => urls.push(("GEMINI_BASE_URL", &config.gemini.base_url)),
        LlmProvider::OpenAiCompatible => urls.push(("OPENAI_BASE_URL", &config.openai.base_url)),
        LlmProvider::Offline => {}
    }
    if let Some(supabase) = &config.supabase {
        urls.push(("SUPABASE_URL", &supabase.url));
    }
    let plain: Vec<&str> = urls.iter().filter(|(_, url)| !secure_or_local(url)).map(|(var, _)| *var).collect();
    if urls.is_empty() {
        report.pass("remote_tls", "no remote service besides the database");
    } else if plain.is_empty() {
        let vars: Vec<&str> = urls.iter().map(|(var, _)| *var).collect();
        report.pass("remote_tls", format!("{}: https, or this machine", vars.join(", ")));
    } else {
        report.fail(
            "remote_tls",
            format!("{} point at a remote host over plain http: keys would travel unencrypted", plain.join(", ")),
            "use https:// URLs",
        );
    }
}

/// Whether `url` is https, or http to this machine.
fn secure_or_local(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| h.trim_start_matches('[')).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_this_machine_counts_as_secure() {
        assert!(secure_or_local("https://generativelanguage.googleapis.com"));
        assert!(secure_or_local("http://127.0.0.1:41234"));
        assert!(secure_or_local("http://localhost/v1"));
        assert!(secure_or_local("http://[::1]:8080"));
        assert!(!secure_or_local("http://api.example.com"));
        assert!(!secure_or_local("http://localhost.example.com"));
        assert!(!secure_or_local("http://user@evil.com/127.0.0.1"));
        assert!(!secure_or_local("ftp://localhost"));
    }
}
