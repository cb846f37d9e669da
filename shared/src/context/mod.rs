//! What a persona sees before it acts: the board, the post, the thread. The loaders are bounded, so a
//! 10,000-comment thread costs the same as a short one.

use std::collections::HashSet;

use serde::Serialize;

pub use crate::db::content::{Author, BoardView, CommentView, PostView};

/// A post with a bounded sample of its comments.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostContext {
    /// The post.
    pub post: PostView,
    /// Top-level comments (newest last), at most a loader's bound.
    pub comments: Vec<CommentView>,
    /// The first replies under each of those comments (a bounded few each).
    pub replies: Vec<CommentView>,
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

/// What a persona looks at before it acts: the one description of it that prompts, the offline writer,
/// the publish gate and the conversation rules all read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum Scene {
    /// A board, for an original post.
    Board(BoardView),
    /// A post, for a comment or a vote on it.
    Post(PostContext),
    /// A thread, for a reply or a vote on a comment.
    Thread(ThreadContext),
}

impl Scene {
    /// The post in view, if any.
    pub fn post(&self) -> Option<&PostView> {
        match self {
            Self::Board(_) => None,
            Self::Post(p) => Some(&p.post),
            Self::Thread(t) => Some(&t.post),
        }
    }

    /// The comment in question (answered or voted on), if any.
    pub fn comment(&self) -> Option<&CommentView> {
        match self {
            Self::Thread(t) => Some(&t.target),
            _ => None,
        }
    }

    /// The board in view, when the persona is about to post on it.
    pub fn board(&self) -> Option<&BoardView> {
        match self {
            Self::Board(b) => Some(b),
            _ => None,
        }
    }

    /// The board it all happens on.
    pub fn board_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Board(b) => Some(b.id),
            Self::Post(p) => Some(p.post.board_id),
            Self::Thread(t) => Some(t.post.board_id),
        }
    }

    /// The texts a new draft must not repeat.
    pub fn corpus(&self) -> Vec<String> {
        match self {
            Self::Board(b) => b.recent_titles.clone(),
            Self::Post(p) => std::iter::once(p.post.body.clone())
                .chain(p.comments.iter().chain(&p.replies).map(|c| c.body.clone()))
                .collect(),
            Self::Thread(t) => std::iter::once(&t.target)
                .chain(&t.ancestors)
                .chain(&t.siblings)
                .chain(&t.replies)
                .map(|c| c.body.clone())
                .collect(),
        }
    }

    /// The handles a draft may mention: the people in the scene.
    pub fn names(&self) -> HashSet<String> {
        match self {
            Self::Board(_) => HashSet::new(),
            Self::Post(p) => std::iter::once(p.post.author.display())
                .chain(p.comments.iter().chain(&p.replies).map(|c| c.author.display()))
                .collect(),
            Self::Thread(t) => std::iter::once(t.post.author.display())
                .chain(
                    std::iter::once(&t.target)
                        .chain(&t.ancestors)
                        .chain(&t.siblings)
                        .chain(&t.replies)
                        .map(|c| c.author.display()),
                )
                .collect(),
        }
    }
}
