//! Migrations: a second run is a no-op, and they apply over a database where the platform's tables
//! already exist (an existing Supabase project) without touching its rows.

use shared::db::{self, Type};
use testkit::TestDb;
use uuid::Uuid;

async fn column_nullable(c: &tokio_postgres::Client, table: &str, column: &str) -> Option<bool> {
    c.query_typed_opt(
        "SELECT is_nullable = 'YES' FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
        &[(&table, Type::TEXT), (&column, Type::TEXT)],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

#[tokio::test]
async fn migrations_apply_once_and_a_second_run_is_a_no_op() {
    let db = TestDb::empty().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();

    let first = db::migrate::run(&mut c).await.unwrap();
    let second = db::migrate::run(&mut c).await.unwrap();

    assert_eq!(first.len(), db::migrate::embedded().len());
    assert!(second.is_empty(), "re-running applied {second:?}");
    for table in ["personas", "boards", "posts", "comments", "votes", "media", "persona_tasks", "persona_memory"] {
        let exists: bool = c
            .query_typed_one("SELECT to_regclass('public.' || $1) IS NOT NULL", &[(&table, Type::TEXT)])
            .await
            .unwrap()
            .get(0);
        assert!(exists, "{table} exists");
    }
}

#[tokio::test]
async fn migrations_apply_over_existing_platform_tables_and_keep_their_rows() {
    let db = TestDb::empty().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();
    // The platform's own schema, as a Supabase project has it before the engine arrives: human authors
    // required, an extra column of its own, and data.
    c.batch_execute(
        "CREATE TABLE personas (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), username text NOT NULL UNIQUE,
             display_name text NOT NULL, avatar_url text, bio text NOT NULL DEFAULT '', voice text NOT NULL DEFAULT '',
             traits text[] NOT NULL DEFAULT '{}', modules text[] NOT NULL DEFAULT '{}', interests text[] NOT NULL DEFAULT '{}',
             timezone text NOT NULL DEFAULT 'UTC', active_hours_start smallint NOT NULL DEFAULT 8,
             active_hours_end smallint NOT NULL DEFAULT 23, is_active boolean NOT NULL DEFAULT true,
             created_at timestamptz NOT NULL DEFAULT now(), seeded_by text);
         CREATE TABLE boards (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), slug text NOT NULL UNIQUE, name text NOT NULL,
             description text NOT NULL DEFAULT '', topics text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), board_id uuid NOT NULL REFERENCES boards(id),
             author_id uuid NOT NULL, title text NOT NULL, body text NOT NULL DEFAULT '', status text NOT NULL DEFAULT 'PUBLISHED',
             locked boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now(), view_count int NOT NULL DEFAULT 0);
         CREATE TABLE comments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
             parent_id uuid REFERENCES comments(id), depth integer NOT NULL DEFAULT 0, body text NOT NULL, author_id uuid NOT NULL,
             deleted_at timestamptz, created_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE votes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), post_id uuid REFERENCES posts(id), comment_id uuid REFERENCES comments(id),
             user_id uuid NOT NULL, value smallint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO boards (id, slug, name) VALUES ('11111111-1111-4111-8111-111111111111', 'general', 'General');
         INSERT INTO posts (id, board_id, author_id, title) VALUES
             ('22222222-2222-4222-8222-222222222222', '11111111-1111-4111-8111-111111111111', gen_random_uuid(), 'Hello');
         INSERT INTO comments (post_id, body, author_id) VALUES ('22222222-2222-4222-8222-222222222222', 'first', gen_random_uuid());",
    )
    .await
    .unwrap();

    let applied = db::migrate::run(&mut c).await.unwrap();

    assert_eq!(applied.len(), db::migrate::embedded().len());
    let kept: (i64, i64) = {
        let row = c
            .query_typed_one("SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM comments)", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(kept, (1, 1), "the platform's rows are untouched");
    let view_count: i32 = c.query_typed_one("SELECT view_count FROM posts", &[]).await.unwrap().get(0);
    assert_eq!(view_count, 0, "the platform's own columns are untouched");
    for table in ["posts", "comments"] {
        assert_eq!(column_nullable(&c, table, "persona_id").await, Some(true), "{table}.persona_id added");
        assert_eq!(column_nullable(&c, table, "author_id").await, Some(true), "{table}.author_id now optional");
    }
    assert_eq!(column_nullable(&c, "votes", "persona_id").await, Some(true));

    // Personas can now author posts; a row with both or neither author is refused.
    let persona: Uuid = c
        .query_typed_one("INSERT INTO personas (username, display_name) VALUES ('ada', 'Ada') RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    let board = Uuid::parse_str("11111111-1111-4111-8111-111111111111").unwrap();
    c.query_typed(
        "INSERT INTO posts (board_id, persona_id, title) VALUES ($1, $2, 'by a persona')",
        &[(&board, Type::UUID), (&persona, Type::UUID)],
    )
    .await
    .unwrap();
    let both = c
        .query_typed(
            "INSERT INTO posts (board_id, persona_id, author_id, title) VALUES ($1, $2, gen_random_uuid(), 'two authors')",
            &[(&board, Type::UUID), (&persona, Type::UUID)],
        )
        .await;
    assert!(db::DbError::from(both.unwrap_err()).to_string().contains("posts_author_xor"));
    let neither =
        c.query_typed("INSERT INTO posts (board_id, title) VALUES ($1, 'nobody')", &[(&board, Type::UUID)]).await;
    assert!(db::DbError::from(neither.unwrap_err()).to_string().contains("posts_author_xor"));

    assert!(db::migrate::run(&mut c).await.unwrap().is_empty(), "and a second run is still a no-op");
}

/// A persona's one vote per target is a constraint in the engine's own table (the platform's `votes`
/// gets no unique index): the vote's memory row is written in the vote's transaction, first.
#[tokio::test]
async fn one_vote_per_persona_per_target_is_a_constraint() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let persona = testkit::fixtures::persona(&**c, "ada", &["x"]).await;
    let board = testkit::fixtures::board(&**c, "b", &["x"]).await;
    let post = testkit::fixtures::human_post(&**c, board, "p", chrono::Utc::now()).await;
    let voted = "INSERT INTO persona_memory (persona_id, post_id, action_type) VALUES ($1, $2, 'voted')";
    c.query_typed(voted, &[(&persona, Type::UUID), (&post, Type::UUID)]).await.unwrap();
    let second = c.query_typed(voted, &[(&persona, Type::UUID), (&post, Type::UUID)]).await;
    let err = db::DbError::from(second.unwrap_err());
    assert!(err.is_unique_violation_on("persona_memory"), "{err}");
}

/// The schema contract is what the migrations create, lists every column of the engine's own tables,
/// and is what the "Schema contract" table in docs/schema.md says.
#[tokio::test]
async fn the_schema_contract_matches_the_migrations_and_the_readme() {
    use shared::db::schema::{CONTRACT, Owner, live};
    use std::collections::BTreeSet;

    let db = TestDb::new().await;
    let columns = live::public_columns(&**db.client().await).await.unwrap();
    let have: BTreeSet<(String, String, String)> = columns.into_iter().collect();
    let mut contract: BTreeSet<(String, String, String)> = BTreeSet::new();
    for table in CONTRACT {
        for column in table.columns {
            let entry = (table.name.to_owned(), column.name.to_owned(), column.types[0].to_owned());
            assert!(have.contains(&entry), "the migrations do not create {entry:?}");
            contract.insert(entry);
        }
    }
    for (table, column, kind) in &have {
        if CONTRACT.iter().any(|t| t.name == table && t.owner != Owner::Platform) {
            assert!(
                contract.contains(&(table.clone(), column.clone(), kind.clone())),
                "{table}.{column} ({kind}) is an engine column missing from the contract"
            );
        }
    }

    let readme = include_str!("../../../docs/schema.md");
    let section = readme.split("## Schema contract").nth(1).expect("docs/schema.md has a Schema contract section");
    let friendly = |t: &str| {
        match t {
            "smallint" => "int2",
            "integer" => "int4",
            "bigint" => "int8",
            "real" => "float4",
            "boolean" => "bool",
            "text[]" => "_text",
            "timestamptz[]" => "_timestamptz",
            "uuid[]" => "_uuid",
            "double precision" => "float8",
            other => other,
        }
        .to_owned()
    };
    let mut documented: BTreeSet<(String, String, String)> = BTreeSet::new();
    for row in section.lines().skip_while(|l| !l.starts_with("| `")).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let table = cells[1].trim_matches('`');
        let owner = cells[2];
        let listed =
            CONTRACT.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("docs/schema.md lists {table}"));
        let expected = match listed.owner {
            Owner::Engine => "engine",
            Owner::EnginePublic => "engine (public read)",
            Owner::Platform => "platform",
        };
        assert_eq!(owner, expected, "{table}");
        for item in cells[3].split(", ") {
            let (column, kind) = item.split_once(' ').unwrap();
            documented.insert((table.to_owned(), column.trim_matches('`').to_owned(), friendly(kind)));
        }
    }
    assert_eq!(documented, contract, "docs/schema.md's schema contract and shared::db::schema::CONTRACT differ");
}

/// The list of migrations the functions carry (no migration runner in them) is the runner's own.
#[test]
fn the_migration_list_for_doctor_is_the_embedded_one() {
    let listed: Vec<(i32, String)> =
        shared::db::schema::MIGRATIONS.iter().map(|(v, n)| (*v, (*n).to_owned())).collect();
    let embedded: Vec<(i32, String)> = db::migrate::embedded().into_iter().map(|m| (m.version, m.name)).collect();
    assert_eq!(listed, embedded);
}

#[tokio::test]
async fn v20_carries_a_running_queue_over_into_the_narrow_tables() {
    let db = TestDb::empty().await;
    let mut c = db::connect_one(&db.direct_url(), None).await.unwrap();
    db::migrate::run_through(&mut c, 19).await.unwrap();
    // The queue as V19 left it: a persona running one task with another waiting, a second persona
    // running one, and finished work.
    let ada = testkit::fixtures::persona(&c, "ada", &["x"]).await;
    let bob = testkit::fixtures::persona(&c, "bob", &["x"]).await;
    let board = testkit::fixtures::board(&c, "b", &["x"]).await;
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let lease = at + chrono::Duration::minutes(60);
    let insert =
        "INSERT INTO persona_tasks (persona_id, task_type, board_id, status, scheduled_at, started_at, completed_at,
                                             locked_until, claim_token)
                  VALUES ($1, $2, $3, $4, $5,
                          CASE WHEN $4 <> 'PENDING' THEN $5 END, CASE WHEN $4 = 'DONE' THEN $5 END,
                          CASE WHEN $4 = 'RUNNING' THEN $6 END, CASE WHEN $4 = 'RUNNING' THEN gen_random_uuid() END)
                  RETURNING id";
    let mut ids = std::collections::HashMap::new();
    for (name, persona, kind, status) in [
        ("ada running", ada, "post", "RUNNING"),
        ("ada waiting", ada, "image_post", "PENDING"),
        ("ada done", ada, "video_post", "DONE"),
        ("bob running", bob, "post", "RUNNING"),
    ] {
        let row = c
            .query_typed_one(
                insert,
                &[
                    (&persona, Type::UUID),
                    (&kind, Type::TEXT),
                    (&board, Type::UUID),
                    (&status, Type::TEXT),
                    (&at, Type::TIMESTAMPTZ),
                    (&lease, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .unwrap();
        ids.insert(name, row.get::<_, Uuid>(0));
    }

    db::migrate::run(&mut c).await.unwrap();

    let queued: std::collections::BTreeSet<Uuid> =
        c.query("SELECT task_id FROM persona_task_queue", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(queued, [ids["ada running"], ids["ada waiting"], ids["bob running"]].into_iter().collect());
    let leases: std::collections::BTreeSet<(Uuid, Uuid)> = c
        .query("SELECT persona_id, task_id FROM persona_task_leases", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(leases, [(ada, ids["ada running"]), (bob, ids["bob running"])].into_iter().collect());

    // The queue goes on from there: ada is busy until her running task ends, then her waiting one runs.
    let queue = shared::queue::Queue::new(shared::clock::system(), std::time::Duration::from_secs(300), 3);
    assert!(queue.claim(&c, 10).await.unwrap().is_empty(), "both personas are running a task");
    let running = queue.get(&c, ids["ada running"]).await.unwrap();
    queue.complete(&c, &running, &shared::db::tasks::Outcome::default()).await.unwrap();
    let next = queue.claim(&c, 10).await.unwrap();
    assert_eq!(next.iter().map(|t| t.id).collect::<Vec<_>>(), vec![ids["ada waiting"]]);
}
