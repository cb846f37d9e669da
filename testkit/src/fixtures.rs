//! Row factories: the fewest fields a test must name, defaults for the rest.

use chrono::{DateTime, Utc};
use shared::db::GenericClient;
use tooling::seed::{self, BoardRow, CommentRow, PersonaRow, PostRow};
use uuid::Uuid;

/// A persona named `username`, active, interested in `interests`, awake all day in UTC.
pub fn persona_row(username: &str, interests: &[&str]) -> PersonaRow {
    PersonaRow {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        display_name: username.replace('_', " "),
        bio: format!("{username} writes about {}.", interests.join(", ")),
        voice: "plain".into(),
        traits: vec!["curious".into()],
        modules: Vec::new(),
        interests: interests.iter().map(|s| s.to_string()).collect(),
        timezone: "UTC".into(),
        active_hours_start: 0,
        active_hours_end: 24,
        voice_bank: Vec::new(),
        trend_aware: false,
    }
}

/// Inserts a persona; returns its id.
pub async fn persona(c: &impl GenericClient, username: &str, interests: &[&str]) -> Uuid {
    let row = persona_row(username, interests);
    seed::insert_personas(c, std::slice::from_ref(&row), Utc::now()).await.expect("insert persona");
    row.id
}

/// Inserts `n` personas named `{prefix}{i}`; returns their ids.
pub async fn personas(c: &impl GenericClient, prefix: &str, n: usize) -> Vec<Uuid> {
    let rows: Vec<PersonaRow> = (0..n).map(|i| persona_row(&format!("{prefix}{i}"), &["testing"])).collect();
    seed::insert_personas(c, &rows, Utc::now()).await.expect("insert personas");
    rows.iter().map(|r| r.id).collect()
}

/// Inserts a board; returns its id.
pub async fn board(c: &impl GenericClient, slug: &str, topics: &[&str]) -> Uuid {
    let row = BoardRow {
        id: Uuid::new_v4(),
        slug: slug.to_owned(),
        name: slug.replace('-', " "),
        description: format!("About {}", topics.join(", ")),
        topics: topics.iter().map(|s| s.to_string()).collect(),
    };
    seed::insert_boards(c, std::slice::from_ref(&row), Utc::now()).await.expect("insert board");
    row.id
}

/// Inserts a published post by a human; returns its id.
pub async fn human_post(c: &impl GenericClient, board_id: Uuid, title: &str, created_at: DateTime<Utc>) -> Uuid {
    let row = PostRow {
        id: Uuid::new_v4(),
        board_id,
        author_id: Some(Uuid::new_v4()),
        persona_id: None,
        title: title.to_owned(),
        body: format!("{title} — body text."),
        created_at,
    };
    seed::insert_posts(c, std::slice::from_ref(&row)).await.expect("insert post");
    row.id
}

/// Inserts a top-level comment or reply; returns its id.
pub async fn comment(
    c: &impl GenericClient,
    post_id: Uuid,
    parent: Option<(Uuid, i32)>,
    author: Author,
    body: &str,
    created_at: DateTime<Utc>,
) -> Uuid {
    let (author_id, persona_id) = match author {
        Author::Human(id) => (Some(id), None),
        Author::Persona(id) => (None, Some(id)),
    };
    let row = CommentRow {
        id: Uuid::new_v4(),
        post_id,
        parent_id: parent.map(|(id, _)| id),
        depth: parent.map(|(_, d)| d + 1).unwrap_or(0),
        body: body.to_owned(),
        author_id,
        persona_id,
        created_at,
    };
    seed::insert_comments(c, std::slice::from_ref(&row)).await.expect("insert comment");
    row.id
}

/// Who wrote something.
#[derive(Debug, Clone, Copy)]
pub enum Author {
    /// A platform user.
    Human(Uuid),
    /// A persona.
    Persona(Uuid),
}
