-- Row Level Security and grants.
--
-- On Supabase, PostgREST serves every table in `public` to the `anon` key (which ships inside the web
-- app) and to `authenticated` users, and Supabase's default privileges grant both roles ALL on every new
-- table. Only RLS and grants stand between a visitor and a table, so:
--
-- 1. The engine's own tables get RLS with no policy, and nothing granted to `anon` or `authenticated`.
--    The engine reaches them as their owner or as a role with BYPASSRLS (README: Security).
-- 2. Operator instructions live in a table of their own that not even `service_role` may write: the
--    worker obeys only what the admin API or the CLI put there, never a task row's payload.
-- 3. The platform's base tables get RLS and read-only policies only where this engine created them (a
--    fresh database). On an existing Supabase project they belong to the web app, whose policies are
--    left exactly as they are.
--
-- Every later migration that creates a table in `public` must enable RLS on it and revoke it from
-- `anon` and `authenticated` the same way; the test suite fails on a public table without RLS.

CREATE TABLE IF NOT EXISTS public.persona_task_instructions (
    task_id      uuid PRIMARY KEY REFERENCES public.persona_tasks(id) ON DELETE CASCADE,
    instructions text NOT NULL CHECK (char_length(instructions) BETWEEN 1 AND 500),
    issued_by    text NOT NULL CHECK (issued_by IN ('admin_api', 'cli')),
    created_at   timestamptz NOT NULL
);

ALTER TABLE public.persona_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_memory ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_engine_request_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_engine_ticks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_task_instructions ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    engine_tables text := 'public.persona_tasks, public.persona_memory, public.persona_engine_request_limits, public.persona_engine_ticks, public.persona_task_instructions';
    web_role text;
BEGIN
    -- The migration history is the engine's too (refinery creates it in the first schema on the
    -- search path, normally public).
    IF to_regclass('public.refinery_schema_history') IS NOT NULL THEN
        ALTER TABLE public.refinery_schema_history ENABLE ROW LEVEL SECURITY;
        engine_tables := engine_tables || ', public.refinery_schema_history';
    END IF;
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON %s FROM %I', engine_tables, web_role);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        REVOKE ALL ON public.persona_task_instructions FROM service_role;
    END IF;
END
$$;

-- The platform's tables, where this engine created them. V1 creates them only where missing, in the
-- same transaction that records migration 1, so a table whose row type was created by that
-- transaction (same xmin) is the engine's; one that existed before is the web app's and is left alone.
DO $$
DECLARE
    created_by_v1 xid;
    readers text;
    web_role text;
    base text;
    engine_made text[] := '{}';
BEGIN
    IF to_regclass('public.refinery_schema_history') IS NULL THEN
        RETURN;
    END IF;
    SELECT h.xmin INTO created_by_v1 FROM public.refinery_schema_history h WHERE h.version = 1;
    IF created_by_v1 IS NULL THEN
        RETURN;
    END IF;
    FOREACH base IN ARRAY ARRAY['personas', 'boards', 'posts', 'comments', 'votes', 'media'] LOOP
        IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
                   WHERE c.oid = to_regclass('public.' || base) AND t.xmin = created_by_v1) THEN
            engine_made := engine_made || base;
        END IF;
    END LOOP;
    IF cardinality(engine_made) = 0 THEN
        RETURN;
    END IF;

    -- Who the read-only policies are for: Supabase's web roles, or everyone on a plain PostgreSQL.
    SELECT string_agg(quote_ident(rolname), ', ') INTO readers
    FROM pg_roles WHERE rolname IN ('anon', 'authenticated');
    readers := coalesce(readers, 'PUBLIC');

    FOREACH base IN ARRAY engine_made LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', base);
        FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
                -- Reading only: TRUNCATE and REFERENCES are not subject to RLS, so they go too.
                EXECUTE format('REVOKE ALL ON public.%I FROM %I', base, web_role);
                IF base = 'personas' THEN
                    -- What a profile page shows; voice, traits, interests and waking hours stay the engine's.
                    EXECUTE format('GRANT SELECT (id, username, display_name, avatar_url, bio, is_active, created_at)
                                    ON public.personas TO %I', web_role);
                ELSE
                    EXECUTE format('GRANT SELECT ON public.%I TO %I', base, web_role);
                END IF;
            END IF;
        END LOOP;
    END LOOP;

    IF 'boards' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_boards ON public.boards FOR SELECT TO %s USING (true)',
                       readers);
    END IF;
    IF 'personas' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_active_personas ON public.personas FOR SELECT TO %s
                        USING (is_active)', readers);
    END IF;
    IF 'posts' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_published_posts ON public.posts FOR SELECT TO %s
                        USING (status = ''PUBLISHED'')', readers);
    END IF;
    IF 'comments' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_published_comments ON public.comments FOR SELECT TO %s
                        USING (deleted_at IS NULL AND EXISTS (SELECT 1 FROM public.posts p
                                                              WHERE p.id = comments.post_id AND p.status = ''PUBLISHED''))',
                       readers);
    END IF;
    IF 'votes' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_published_votes ON public.votes FOR SELECT TO %s
                        USING (EXISTS (SELECT 1 FROM public.posts p
                                       WHERE p.id = votes.post_id AND p.status = ''PUBLISHED'')
                               OR EXISTS (SELECT 1 FROM public.comments c JOIN public.posts p ON p.id = c.post_id
                                          WHERE c.id = votes.comment_id AND c.deleted_at IS NULL
                                            AND p.status = ''PUBLISHED''))', readers);
    END IF;
    IF 'media' = ANY (engine_made) THEN
        EXECUTE format('CREATE POLICY persona_engine_read_published_media ON public.media FOR SELECT TO %s
                        USING (EXISTS (SELECT 1 FROM public.posts p
                                       WHERE p.id = media.post_id AND p.status = ''PUBLISHED''))', readers);
    END IF;
END
$$;
