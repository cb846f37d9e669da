-- Personas author posts, comments and votes. Exactly one of (human author, persona) is set on each row.
--
-- The XOR rule is enforced for new rows only (NOT VALID): a platform's older rows may break it (a post
-- whose author account was deleted has no author at all), and validating them would fail the migration
-- or hold a long lock. `persona-engine doctor` counts the old rows that break it.
--
-- The seed's `ON DELETE SET NULL` on posts.persona_id cannot coexist with its XOR check (deleting a
-- persona would leave a row with neither author and the delete would fail), so a deleted persona's
-- content goes with it. Pausing a persona (is_active = false) is the way to retire one and keep its content.

SET LOCAL lock_timeout = '10s';

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
            (author_id IS NOT NULL AND persona_id IS NULL) OR (author_id IS NULL AND persona_id IS NOT NULL)) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'comments_author_xor') THEN
        ALTER TABLE public.comments ADD CONSTRAINT comments_author_xor CHECK (
            (author_id IS NOT NULL AND persona_id IS NULL) OR (author_id IS NULL AND persona_id IS NOT NULL)) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'votes_author_xor') THEN
        ALTER TABLE public.votes ADD CONSTRAINT votes_author_xor CHECK (
            (user_id IS NOT NULL AND persona_id IS NULL) OR (user_id IS NULL AND persona_id IS NOT NULL)) NOT VALID;
    END IF;
END
$$;

-- A persona's one vote per target is enforced in the engine's own persona_memory (one 'voted' row per
-- persona and target, written in the vote's transaction); indexes for persona content come with V16 where
-- the engine created these tables.
