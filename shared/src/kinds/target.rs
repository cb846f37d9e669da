//! Whether a target still takes activity — the one rule the worker (before it acts) and the operator's
//! trigger (before it enqueues) both apply — and the bounded loaders of what a persona sees around it.

use uuid::Uuid;

use super::{ActionError, bounds};
use crate::context::{Author, BoardView, PostContext, ThreadContext};
use crate::db::content::{self, CommentRecord, PostRecord};
use crate::db::sessions::{self, Other};
use crate::db::{DbError, GenericClient};
use crate::persona::relationships::hundredths;
use crate::queue::Target;

/// A target that still takes activity, loaded.
#[derive(Debug, Clone)]
pub enum Live {
    /// A published, unlocked post.
    Post(PostRecord),
    /// A comment that is not deleted, on a published, unlocked post.
    Comment(CommentRecord, PostRecord),
    /// A board.
    Board(BoardView),
}

impl Live {
    /// The topics of the board it is on, the text a persona would react to, and who wrote it — what
    /// the selector matches personas against.
    pub fn subject(&self) -> (Vec<String>, String, Option<Uuid>) {
        match self {
            Self::Post(post) => (
                post.board_topics.clone(),
                format!("{} {}", post.view.title, post.view.body),
                post.view.author.persona_id(),
            ),
            Self::Comment(comment, post) => {
                (post.board_topics.clone(), comment.view.body.clone(), comment.view.author.persona_id())
            }
            Self::Board(board) => (board.topics.clone(), String::new(), None),
        }
    }
}

/// Why a target no longer takes activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    /// It does not exist (any more).
    Missing(Target),
    /// The post was taken down or is still a draft.
    NotPublished(String),
    /// The post is locked.
    Locked,
    /// The comment was deleted.
    CommentDeleted,
}

impl std::fmt::Display for Gone {
    /// As a task's skip reason.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(Target::Post(_)) => f.write_str("post was deleted"),
            Self::Missing(Target::Comment(_)) | Self::CommentDeleted => f.write_str("comment was deleted"),
            Self::Missing(Target::Board(_)) => f.write_str("board was deleted"),
            Self::NotPublished(status) => write!(f, "post is not published (status {status})"),
            Self::Locked => f.write_str("post is locked"),
        }
    }
}

/// `target`, when it still takes activity (with `titles` of a board's newest posts).
pub async fn live(c: &impl GenericClient, target: Target, titles: i64) -> Result<Result<Live, Gone>, DbError> {
    Ok(match target {
        Target::Post(id) => live_post(c, id).await?.map(Live::Post),
        Target::Comment(id) => match content::find_comment(c, id).await? {
            None => Err(Gone::Missing(target)),
            Some(comment) if comment.deleted_at.is_some() => Err(Gone::CommentDeleted),
            Some(comment) => live_post(c, comment.post_id).await?.map(|post| Live::Comment(comment, post)),
        },
        Target::Board(id) => content::board(c, id, titles).await?.map(Live::Board).ok_or(Gone::Missing(target)),
    })
}

async fn live_post(c: &impl GenericClient, id: Uuid) -> Result<Result<PostRecord, Gone>, DbError> {
    Ok(match content::find_post(c, id).await? {
        None => Err(Gone::Missing(Target::Post(id))),
        Some(post) if !post.status.eq_ignore_ascii_case("PUBLISHED") => Err(Gone::NotPublished(post.status)),
        Some(post) if post.locked => Err(Gone::Locked),
        Some(post) => Ok(post),
    })
}

/// `target` for a task about to act on it, or the skip that says why it cannot.
pub async fn for_task(c: &impl GenericClient, target: Option<Target>) -> Result<Live, ActionError> {
    let target = target.ok_or_else(|| ActionError::Invalid("the task names no target".into()))?;
    live(c, target, bounds::BOARD_TITLES).await?.map_err(|gone| ActionError::Skip(gone.to_string()))
}

/// How `persona_id` feels about `author`, in hundredths.
async fn toward(c: &impl GenericClient, persona_id: Uuid, author: &Author) -> Result<i16, ActionError> {
    Ok(hundredths(sessions::affinity(c, persona_id, Other::of(author)).await?))
}

/// The post as `persona_id` sees it, with its newest top-level comments.
pub async fn post_scene(
    c: &impl GenericClient,
    persona_id: Uuid,
    post: PostRecord,
) -> Result<PostContext, ActionError> {
    let (comments, comment_count) = content::top_level_comments(c, post.view.id, bounds::POST_COMMENTS).await?;
    let ids: Vec<Uuid> = comments.iter().map(|c| c.id).collect();
    let replies = content::first_replies(c, &ids, bounds::REPLIES_PER_COMMENT).await?;
    let toward = toward(c, persona_id, &post.view.author).await?;
    Ok(PostContext { post: post.view, comments, replies, comment_count, toward })
}

/// The thread around a comment as `persona_id` sees it: ancestors, siblings and replies, each bounded.
pub async fn thread_scene(
    c: &impl GenericClient,
    persona_id: Uuid,
    comment: CommentRecord,
    post: PostRecord,
) -> Result<ThreadContext, ActionError> {
    let target = comment.view;
    let ancestors = content::ancestors(c, target.id, bounds::ANCESTORS).await?;
    let siblings = content::replies_to(c, post.view.id, target.parent_id, Some(target.id), bounds::SIBLINGS).await?;
    let replies = content::replies_to(c, post.view.id, Some(target.id), None, bounds::REPLIES).await?;
    let toward = toward(c, persona_id, &target.author).await?;
    Ok(ThreadContext { post: post.view, ancestors, target, siblings, replies, toward })
}
