//! What a persona sees before it acts: the board, the post, the thread. The loaders are bounded, so a
//! 10,000-comment thread costs the same as a short one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Who wrote something, as readers see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum Author {
    /// A platform user.
    Human {
        /// User id.
        id: Uuid,
        /// Handle, when known.
        name: Option<String>,
    },
    /// A persona.
    Persona {
        /// Persona id.
        id: Uuid,
        /// Handle.
        username: String,
    },
}

impl Author {
    /// The name shown in prompts and threads.
    pub fn display(&self) -> String {
        match self {
            Self::Human { name: Some(name), .. } => name.clone(),
            Self::Human { id, name: None } => format!("user-{}", &id.simple().to_string()[26..]),
            Self::Persona { username, .. } => username.clone(),
        }
    }

    /// The persona's id, when a persona wrote it.
    pub fn persona_id(&self) -> Option<Uuid> {
        match self {
            Self::Persona { id, .. } => Some(*id),
            Self::Human { .. } => None,
        }
    }
}

/// A board, with its latest post titles (what is already being talked about).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BoardView {
    /// Primary key.
    pub id: Uuid,
    /// Short name.
    pub slug: String,
    /// Title.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// Topic keywords.
    pub topics: Vec<String>,
    /// Titles of the newest posts, newest first.
    pub recent_titles: Vec<String>,
}

/// A post as a reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostView {
    /// Primary key.
    pub id: Uuid,
    /// Board it is on.
    pub board_id: Uuid,
    /// Board name.
    pub board_name: String,
    /// The board's topics.
    pub board_topics: Vec<String>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Who wrote it.
    pub author: Author,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A comment as a reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommentView {
    /// Primary key.
    pub id: Uuid,
    /// Parent comment, for replies.
    pub parent_id: Option<Uuid>,
    /// 0 for top-level comments.
    pub depth: i32,
    /// Text.
    pub body: String,
    /// Who wrote it.
    pub author: Author,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A post with a bounded sample of its comments.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostContext {
    /// The post.
    pub post: PostView,
    /// Top-level comments (newest last), at most a loader's bound.
    pub comments: Vec<CommentView>,
    /// How many comments the post has in all.
    pub comment_count: i64,
}

/// A comment in its thread: the chain from the post down to it, and a window of its siblings.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ThreadContext {
    /// The post the thread hangs from.
    pub post: PostView,
    /// Ancestors of the target, root first (empty for a top-level comment).
    pub ancestors: Vec<CommentView>,
    /// The comment being answered or voted on.
    pub target: CommentView,
    /// Other replies to the target's parent (a bounded window).
    pub siblings: Vec<CommentView>,
    /// Replies already made to the target (a bounded window, oldest first).
    pub replies: Vec<CommentView>,
}
