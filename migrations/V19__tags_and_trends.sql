-- Tags on posts, what is trending, and a ranking the web app can trust. Safe on an existing platform.
--
-- 1. `post_tags`: where the platform keeps its posts' discovery tags. Created only where missing (a
--    platform that already has the table keeps it, and its policies). Where this migration creates it,
--    anyone may read a post's tags exactly where they may read the post (the policy asks `posts`, whose
--    own RLS answers for the reader), and only the engine writes them.
-- 2. `persona_private.trend_aware`: the per-persona setting (off by default).
-- 3. `trends`: the engine's record of what is trending, one row per run of a topic (from the tick it
--    entered the trending list to the tick it left it). RLS on, nothing for the web's roles.
-- 4. `ranking_weights` (the weight persona engagement counts with, kept by the planner's tick) and
--    `post_rankings`, a security_invoker view of the engine's hot ranking: it reads the platform's tables
--    as whoever queries it, so every RLS policy on them still applies. Nothing in it pins the web app's
--    columns (see the function below).

SET LOCAL lock_timeout = '10s';

DO $$
DECLARE
    web_role text;
BEGIN
    IF to_regclass('public.post_tags') IS NULL THEN
        CREATE TABLE public.post_tags (
            post_id    uuid NOT NULL REFERENCES public.posts(id) ON DELETE CASCADE,
            -- The engine writes tags lowercase (Rust's Unicode lowercasing, which a collation's lower() need
            -- not match letter for letter, so it is not a constraint here).
            tag        text NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 40),
            PRIMARY KEY (post_id, tag)
        );
        CREATE INDEX post_tags_tag_idx ON public.post_tags (tag);
        ALTER TABLE public.post_tags ENABLE ROW LEVEL SECURITY;
        FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
                EXECUTE format('REVOKE ALL ON public.post_tags FROM %I', web_role);
            END IF;
        END LOOP;
        FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
                EXECUTE format('GRANT SELECT ON public.post_tags TO %I', web_role);
                EXECUTE format('CREATE POLICY %I ON public.post_tags FOR SELECT TO %I
                                USING (EXISTS (SELECT 1 FROM public.posts p WHERE p.id = post_tags.post_id))',
                               'post_tags_follow_their_post_for_' || web_role, web_role);
            END IF;
        END LOOP;
    END IF;
END
$$;

ALTER TABLE public.persona_private ADD COLUMN IF NOT EXISTS trend_aware boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS public.trends (
    topic            text NOT NULL,
    -- 'tag' (a post's tag) or 'board' (a board's topic; a topic that is both counts as the board's).
    source           text NOT NULL CHECK (source IN ('tag', 'board')),
    -- When this run entered the trending list; a topic that leaves and comes back starts a new run.
    since            timestamptz NOT NULL,
    -- The last tick it was trending, and the tick it was not (NULL while it still is).
    last_seen        timestamptz NOT NULL,
    ended_at         timestamptz,
    -- Who wrote the first post carrying the topic in the window when the run began.
    started_by       text NOT NULL CHECK (started_by IN ('people', 'personas')),
    -- The latest tick's figures, over [window_start, last_seen].
    window_start     timestamptz NOT NULL,
    rank             smallint NOT NULL CHECK (rank >= 1),
    velocity         double precision NOT NULL,
    posts            integer NOT NULL,
    people_upvotes   integer NOT NULL,
    people_comments  integer NOT NULL,
    persona_upvotes  integer NOT NULL,
    persona_comments integer NOT NULL,
    -- The boards it is trending on, for the prompts of personas posting there.
    boards           uuid[] NOT NULL,
    PRIMARY KEY (topic, since)
);
CREATE UNIQUE INDEX IF NOT EXISTS trends_one_open_run_idx ON public.trends (topic) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS trends_ended_idx ON public.trends (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS public.ranking_weights (
    name   text PRIMARY KEY CHECK (name IN ('persona')),
    weight double precision NOT NULL CHECK (weight BETWEEN 0 AND 1)
);
INSERT INTO public.ranking_weights (name, weight) VALUES ('persona', 0.5) ON CONFLICT (name) DO NOTHING;

ALTER TABLE public.trends ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ranking_weights ENABLE ROW LEVEL SECURITY;

-- The hot ranking sessions use (engagement over age, as a forum's front page), with persona votes and
-- comments counted at the operator's weight. SECURITY INVOKER and a security_invoker view: it reads
-- posts, votes and comments as the caller, so a visitor ranks only what they may see. The query is the
-- function's body as a string, which PostgreSQL does not track dependencies through: a view written
-- out would pin the web app's columns (an ALTER COLUMN on votes.value would fail on it). A one-SELECT
-- SQL function is inlined by the planner, so `WHERE board_id = …` still narrows the scan.
CREATE OR REPLACE FUNCTION public.persona_engine_post_rankings()
RETURNS TABLE (post_id uuid, board_id uuid, created_at timestamptz, people_score bigint, persona_score bigint,
               people_comments bigint, persona_comments bigint, persona_weight double precision,
               engagement double precision, hot double precision)
LANGUAGE sql STABLE SECURITY INVOKER
AS $body$
SELECT p.id, p.board_id, p.created_at, e.people_score, e.persona_score, e.people_comments, e.persona_comments,
       w.weight,
       greatest(e.people_score + w.weight * e.persona_score, 0)
           + 2 * (e.people_comments + w.weight * e.persona_comments),
       power(greatest(e.people_score + w.weight * e.persona_score, 0)
                 + 2 * (e.people_comments + w.weight * e.persona_comments) + 1, 0.8)
           / power(greatest(extract(epoch FROM now() - p.created_at)::float8 / 3600, 0) + 2, 1.5)
FROM public.posts p
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT rw.weight FROM public.ranking_weights rw WHERE rw.name = 'persona'), 0.5)::float8 AS weight
) w
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT sum(v.value) FROM public.votes v WHERE v.post_id = p.id AND v.persona_id IS NULL), 0)::int8
               AS people_score,
           coalesce((SELECT sum(v.value) FROM public.votes v WHERE v.post_id = p.id AND v.persona_id IS NOT NULL), 0)::int8
               AS persona_score,
           (SELECT count(*) FROM public.comments c
            WHERE c.post_id = p.id AND c.deleted_at IS NULL AND c.persona_id IS NULL) AS people_comments,
           (SELECT count(*) FROM public.comments c
            WHERE c.post_id = p.id AND c.deleted_at IS NULL AND c.persona_id IS NOT NULL) AS persona_comments
) e
$body$;

CREATE OR REPLACE VIEW public.post_rankings WITH (security_invoker = true) AS
SELECT * FROM public.persona_engine_post_rankings();

DO $$
DECLARE
    web_role text;
    v1_xmin xid;
BEGIN
    REVOKE ALL ON FUNCTION public.persona_engine_post_rankings() FROM PUBLIC;
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.trends, public.ranking_weights, public.post_rankings FROM %I',
                           web_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.persona_engine_post_rankings() FROM %I', web_role);
        END IF;
    END LOOP;
    -- The view reads the weight as its caller, so the web's roles may read that one number; the view
    -- itself they may only read.
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('GRANT SELECT ON public.ranking_weights, public.post_rankings TO %I', web_role);
            EXECUTE format('GRANT EXECUTE ON FUNCTION public.persona_engine_post_rankings() TO %I', web_role);
            EXECUTE format('DROP POLICY IF EXISTS %I ON public.ranking_weights', 'ranking_weights_are_public_to_' || web_role);
            EXECUTE format('CREATE POLICY %I ON public.ranking_weights FOR SELECT TO %I USING (true)',
                           'ranking_weights_are_public_to_' || web_role, web_role);
        END IF;
    END LOOP;

    -- Trends count each recent post's votes and comments, by people and by personas: covering indexes
    -- answer that from the index alone, where the engine created the table (a fresh database);
    -- docs/platform-indexes.sql has them for an existing platform.
    SELECT h.xmin INTO v1_xmin FROM public.refinery_schema_history h WHERE h.version = 1;
    IF v1_xmin IS NOT NULL AND EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
        WHERE c.oid = 'public.votes'::regclass AND t.xmin = v1_xmin) THEN
        CREATE INDEX IF NOT EXISTS votes_post_engagement_idx ON public.votes (post_id)
            INCLUDE (persona_id, value, created_at) WHERE post_id IS NOT NULL;
    END IF;
    IF v1_xmin IS NOT NULL AND EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
        WHERE c.oid = 'public.comments'::regclass AND t.xmin = v1_xmin) THEN
        CREATE INDEX IF NOT EXISTS comments_post_engagement_idx ON public.comments (post_id)
            INCLUDE (persona_id, created_at) WHERE deleted_at IS NULL;
    END IF;
END
$$;
