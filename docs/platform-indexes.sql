-- Optional indexes for an existing platform's tables. On a fresh database `persona-engine migrate`
-- creates them (V16); on a Supabase project that already runs the web app it adds nothing to the web
-- app's tables beyond the persona-authorship columns and rule. The engine works without these; with a
-- large `comments` table its planner reads get faster with them. CONCURRENTLY builds each without
-- blocking the web app's writes; run the statements one at a time (not in a transaction), as the owner
-- of the tables, when it suits you.

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_persona_created_idx ON public.posts (persona_id, created_at DESC)
    WHERE persona_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_published_created_idx ON public.posts (created_at DESC)
    WHERE status = 'PUBLISHED';
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_parent_created_idx ON public.comments (parent_id, created_at)
    WHERE parent_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_persona_created_idx ON public.comments (persona_id, created_at DESC)
    WHERE persona_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_human_created_idx ON public.comments (created_at DESC)
    WHERE author_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_created_idx ON public.comments (created_at DESC)
    WHERE deleted_at IS NULL;
-- What trends count for each recent post (V19 creates these on a fresh database).
CREATE INDEX CONCURRENTLY IF NOT EXISTS votes_post_engagement_idx ON public.votes (post_id)
    INCLUDE (persona_id, value, created_at) WHERE post_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_post_engagement_idx ON public.comments (post_id)
    INCLUDE (persona_id, created_at) WHERE deleted_at IS NULL;
-- What the console's chart of actions per hour counts (`GET /status` reads the last 72 hours of votes by
-- time). No migration creates this one: without it a large `votes` table is scanned on each refresh of
-- the console.
CREATE INDEX CONCURRENTLY IF NOT EXISTS votes_created_idx ON public.votes (created_at);
