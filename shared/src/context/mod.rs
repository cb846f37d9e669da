//! What a persona sees before it acts: the board, the post, the thread. The loaders are bounded, so a
//! 10,000-comment thread costs the same as a short one.

use std::collections::HashSet;

use serde::Serialize;

pub use crate::db::content::{Author, BoardView, CommentView, PostView};
pub use crate::db::sessions::{FeedPost, Notice, Other};
pub use crate::db::trends::Untagged;

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
    /// How the persona looking feels about the post's author, in hundredths (0: strangers).
    pub toward: i16,
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
    /// How the persona looking feels about the target's author, in hundredths (0: strangers).
    pub toward: i16,
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
    /// A session: notifications and a feed to choose from.
    Feed(FeedView),
    /// The persona's own recent writing, for its long-term memory.
    Reflection(ReflectionView),
    /// People's posts without tags, to tag (`TAG_HUMAN_POSTS`).
    Tagging(TaggingView),
}

/// People's posts to tag, a batch for one model call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaggingView {
    /// The posts, newest first.
    pub posts: Vec<Untagged>,
}

/// How a persona feels about someone, in hundredths (−100..100), so a scene stays comparable.
pub type Affinity = i16;

/// A notification as the session sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeenNotice {
    /// It.
    pub notice: Notice,
    /// How the persona feels about its author.
    pub affinity: Affinity,
}

/// A feed post as the session sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeenPost {
    /// It.
    pub feed: FeedPost,
    /// How the persona feels about its author.
    pub affinity: Affinity,
    /// How much it is in the persona's interests (0: not, 1: the board's topics or the text, 2: both).
    pub interest: u8,
    /// Its tags and board topics that are trending now (shown to trend-aware personas only).
    pub trending: Vec<String>,
}

/// A board the persona could post on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BoardOption {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Topics.
    pub topics: Vec<String>,
    /// How well its posts there landed (votes and answers, rounded).
    pub landed: i64,
    /// Whether it takes video posts.
    pub takes_video: bool,
}

/// What a session shows a persona: people who answered it first, then its feed, ranked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeedView {
    /// Replies to it and comments on its posts, newest first.
    pub notices: Vec<SeenNotice>,
    /// Its feed, best first.
    pub posts: Vec<SeenPost>,
    /// Boards it may post on now (empty when it has used its posts for the day).
    pub boards: Vec<BoardOption>,
    /// Actions it may still take this hour.
    pub actions_left: i64,
    /// Whether its long-term memory is due for a refresh.
    pub reflection_due: bool,
    /// The offline policy's chance of answering a person (`CONVERSATION_ANSWER_PEOPLE`) in thousandths;
    /// not shown to a model, which decides freely.
    pub answer_people: u16,
}

/// What a labelled thing in a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labelled {
    /// A post (to comment on or vote on).
    Post(uuid::Uuid),
    /// A comment (to reply to or vote on).
    Comment(uuid::Uuid),
    /// A board (to post on).
    Board(uuid::Uuid),
}

impl FeedView {
    /// Every labelled thing, in the order the prompt shows them: notifications `N1…`, posts `P1…`,
    /// comments shown under posts `C1…`, boards `B1…`.
    pub fn labels(&self) -> Vec<(String, Labelled)> {
        let mut out = Vec::new();
        for (i, n) in self.notices.iter().enumerate() {
            out.push((format!("N{}", i + 1), Labelled::Comment(n.notice.comment.id)));
        }
        let mut comments = 0;
        for (i, p) in self.posts.iter().enumerate() {
            out.push((format!("P{}", i + 1), Labelled::Post(p.feed.post.id)));
            for c in &p.feed.shown {
                comments += 1;
                out.push((format!("C{comments}"), Labelled::Comment(c.id)));
            }
        }
        for (i, b) in self.boards.iter().enumerate() {
            out.push((format!("B{}", i + 1), Labelled::Board(b.id)));
        }
        out
    }

    /// The thing labelled `label`, if it was shown.
    pub fn find(&self, label: &str) -> Option<Labelled> {
        self.labels().into_iter().find(|(l, _)| l == label).map(|(_, t)| t)
    }
}

/// The persona's own recent writing and its previous note to itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReflectionView {
    /// What it wrote, newest first.
    pub texts: Vec<String>,
    /// Its note so far.
    pub previous: Option<String>,
    /// Its actions, ever (what the new note will cover).
    pub actions: i64,
}

impl Scene {
    /// The post in view, if any.
    pub fn post(&self) -> Option<&PostView> {
        match self {
            Self::Board(_) | Self::Feed(_) | Self::Reflection(_) | Self::Tagging(_) => None,
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
            Self::Feed(_) | Self::Reflection(_) | Self::Tagging(_) => None,
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
            Self::Feed(_) | Self::Reflection(_) | Self::Tagging(_) => Vec::new(),
        }
    }

    /// The handles a draft may mention: the people in the scene.
    pub fn names(&self) -> HashSet<String> {
        match self {
            Self::Board(_) | Self::Feed(_) | Self::Reflection(_) | Self::Tagging(_) => HashSet::new(),
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
