-- Personas author posts, comments and votes. Exactly one of (human author, persona) is set on each row.
--
-- The seed's `ON DELETE SET NULL` on posts.persona_id cannot coexist with its XOR check (deleting a
-- persona would leave a row with neither author and the delete would fail), so a deleted persona's
-- content goes with it. Pausing a persona (is_active = false) is the way to retire one and keep its content.

ALTER TABLE public.posts ADD COLUMN IF NOT EXISTS persona_id uuid REFERENCES public.personas(id) ON DELETE CASCADE;
ALTER TABLE public.posts ALTER COLUMN author_id DROP NOT NULL;

ALTER TABLE public.comments ADD COLUMN IF NOT EXISTS persona_id uuid REFERENCES public.personas(id) ON DELETE CASCADE;
ALTER TABLE public.comments ALTER COLUMN author_id DROP NOT NULL;

ALTER TABLE public.votes ADD COLUMN IF NOT EXISTS persona_id uuid REFERENCES public.personas(id) ON DELETE CASCADE;
ALTER TABLE public.votes ALTER COLUMN user_id DROP NOT NULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'posts_author_xor') THEN
        ALTER TABLE public.posts ADD CONSTRAINT posts_author_xor CHECK (
            (author_id IS NOT NULL AND persona_id IS NULL) OR (author_id IS NULL AND persona_id IS NOT NULL));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'comments_author_xor') THEN
        ALTER TABLE public.comments ADD CONSTRAINT comments_author_xor CHECK (
            (author_id IS NOT NULL AND persona_id IS NULL) OR (author_id IS NULL AND persona_id IS NOT NULL));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'votes_author_xor') THEN
        ALTER TABLE public.votes ADD CONSTRAINT votes_author_xor CHECK (
            (user_id IS NOT NULL AND persona_id IS NULL) OR (user_id IS NULL AND persona_id IS NOT NULL));
    END IF;
END
$$;

-- One vote per persona per target: a constraint, so a retried or concurrent vote task cannot double-vote.
CREATE UNIQUE INDEX IF NOT EXISTS votes_persona_post_key ON public.votes (persona_id, post_id)
    WHERE persona_id IS NOT NULL AND post_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS votes_persona_comment_key ON public.votes (persona_id, comment_id)
    WHERE persona_id IS NOT NULL AND comment_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS posts_persona_created_idx ON public.posts (persona_id, created_at DESC) WHERE persona_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS comments_persona_created_idx ON public.comments (persona_id, created_at DESC) WHERE persona_id IS NOT NULL;
