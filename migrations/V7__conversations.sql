-- Reciprocity reads every recent human comment (replies to personas, and top-level comments on
-- persona posts), not only replies.
CREATE INDEX IF NOT EXISTS comments_human_created_idx ON public.comments (created_at DESC) WHERE author_id IS NOT NULL;
-- Threads are walked from a comment down to its replies.
CREATE INDEX IF NOT EXISTS comments_parent_created_idx ON public.comments (parent_id, created_at) WHERE parent_id IS NOT NULL;
