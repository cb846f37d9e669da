-- Safe on an existing platform.
--
-- 1. What the web app has no business showing about a persona (its voice, traits, writing rules,
--    interests, waking hours, voice bank, character reference, chattiness and voting temperament) lives
--    in `persona_private`, a table the engine owns: RLS on, no policy, nothing for `anon` or
--    `authenticated`. Existing values are copied over; the columns the engine itself added to the
--    platform's `personas` are dropped. A column the platform had before the engine arrived stays (it is
--    the web app's), but the engine no longer reads it.
-- 2. Indexes on the platform's tables exist only where the engine created those tables (a fresh
--    database). On an existing project nothing is added to the web app's tables beyond what the design
--    document prescribes (V2); docs/platform-indexes.sql lists the indexes an operator may add with
--    CREATE INDEX CONCURRENTLY.
-- 3. An operator's instruction records the persona, kind and target it was given for.
-- 4. The admin API's audit trail.
--
-- Which platform tables and columns are the engine's is read off the catalog: a table or column created
-- by migration N has the same xmin as N's row in the migration history (each migration commits in one
-- transaction with that row). A table the web app created has another.

SET LOCAL lock_timeout = '10s';

CREATE TABLE IF NOT EXISTS public.persona_private (
    persona_id          uuid PRIMARY KEY REFERENCES public.personas(id) ON DELETE CASCADE,
    voice               text NOT NULL DEFAULT '',
    traits              text[] NOT NULL DEFAULT '{}',
    modules             text[] NOT NULL DEFAULT '{}',
    interests           text[] NOT NULL DEFAULT '{}',
    timezone            text NOT NULL DEFAULT 'UTC',
    active_hours_start  smallint NOT NULL DEFAULT 8 CHECK (active_hours_start BETWEEN 0 AND 23),
    active_hours_end    smallint NOT NULL DEFAULT 23 CHECK (active_hours_end BETWEEN 0 AND 24),
    voice_bank          text[] NOT NULL DEFAULT '{}',
    character_reference text,
    chattiness          text CHECK (chattiness IN ('lurker', 'occasional', 'regular', 'very_active')),
    voting_temperament  text CHECK (voting_temperament IN ('generous', 'balanced', 'critical'))
);

CREATE TABLE IF NOT EXISTS public.persona_engine_audit (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    -- The first 12 hex digits of the SHA-256 of the presented key: tells keys apart, reveals nothing.
    key_fingerprint text,
    client      text,
    method      text NOT NULL,
    route       text NOT NULL,
    persona_id  uuid,
    targets     jsonb NOT NULL DEFAULT '{}',
    changes     jsonb NOT NULL DEFAULT '{}',
    outcome     text NOT NULL,
    status      smallint NOT NULL
);
CREATE INDEX IF NOT EXISTS persona_engine_audit_at_idx ON public.persona_engine_audit (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS persona_engine_audit_persona_idx ON public.persona_engine_audit (persona_id, at DESC)
    WHERE persona_id IS NOT NULL;

ALTER TABLE public.persona_task_instructions ADD COLUMN IF NOT EXISTS persona_id uuid;
ALTER TABLE public.persona_task_instructions ADD COLUMN IF NOT EXISTS task_type text;
ALTER TABLE public.persona_task_instructions ADD COLUMN IF NOT EXISTS post_id uuid;
ALTER TABLE public.persona_task_instructions ADD COLUMN IF NOT EXISTS comment_id uuid;
ALTER TABLE public.persona_task_instructions ADD COLUMN IF NOT EXISTS board_id uuid;
-- Instructions given before this migration were given for what their task says now.
UPDATE public.persona_task_instructions i
SET persona_id = t.persona_id, task_type = t.task_type, post_id = t.post_id, comment_id = t.comment_id,
    board_id = t.board_id
FROM public.persona_tasks t
WHERE t.id = i.task_id AND i.persona_id IS NULL;

ALTER TABLE public.persona_private ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_engine_audit ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
    history_xmin xid[];
    v1_xmin xid;
    personas_made_by_engine boolean;
    col record;
    src text;
    selects text := '';
    engine_made text[] := '{}';
    base text;
    expected CONSTANT text[][] := ARRAY[
        ['voice', 'text', '''''::text', 'coalesce(%s, '''')'],
        ['traits', 'text[]', '''{}''::text[]', 'coalesce(%s, ''{}'')'],
        ['modules', 'text[]', '''{}''::text[]', 'coalesce(%s, ''{}'')'],
        ['interests', 'text[]', '''{}''::text[]', 'coalesce(%s, ''{}'')'],
        ['timezone', 'text', '''UTC''::text', 'coalesce(nullif(%s, ''''), ''UTC'')'],
        ['active_hours_start', 'smallint', '8::smallint', 'CASE WHEN %1$s BETWEEN 0 AND 23 THEN %1$s ELSE 8 END'],
        ['active_hours_end', 'smallint', '23::smallint', 'CASE WHEN %1$s BETWEEN 0 AND 24 THEN %1$s ELSE 23 END'],
        ['voice_bank', 'text[]', '''{}''::text[]', 'coalesce(%s, ''{}'')'],
        ['character_reference', 'text', 'NULL::text', '%s'],
        ['chattiness', 'text', 'NULL::text',
         'CASE WHEN %1$s IN (''lurker'', ''occasional'', ''regular'', ''very_active'') THEN %1$s END'],
        ['voting_temperament', 'text', 'NULL::text',
         'CASE WHEN %1$s IN (''generous'', ''balanced'', ''critical'') THEN %1$s END']
    ];
    i int;
    present boolean;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_private, public.persona_engine_audit FROM %I', web_role);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        -- The trail is the engine's record of what operators did; nobody else writes it.
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.persona_engine_audit FROM service_role;
    END IF;

    SELECT h.xmin INTO v1_xmin FROM public.refinery_schema_history h WHERE h.version = 1;
    SELECT array_agg(h.xmin) INTO history_xmin FROM public.refinery_schema_history h WHERE h.version IN (1, 12, 14);
    personas_made_by_engine := EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
        WHERE c.oid = 'public.personas'::regclass AND t.xmin = v1_xmin);

    -- 1. Copy what the personas table holds of the private profile (a column of another type is not
    --    ours to interpret and is left out), then drop the columns the engine added.
    FOR i IN 1 .. array_length(expected, 1) LOOP
        present := EXISTS (
            SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = 'public.personas'::regclass AND a.attname = expected[i][1] AND NOT a.attisdropped
              AND format_type(a.atttypid, a.atttypmod) = expected[i][2]);
        IF present THEN
            src := format(expected[i][4], 'p.' || quote_ident(expected[i][1]));
        ELSE
            src := expected[i][3];
        END IF;
        selects := selects || ', ' || src;
    END LOOP;
    EXECUTE 'INSERT INTO public.persona_private (persona_id, voice, traits, modules, interests, timezone,
                 active_hours_start, active_hours_end, voice_bank, character_reference, chattiness,
                 voting_temperament)
             SELECT p.id' || selects || ' FROM public.personas p ON CONFLICT (persona_id) DO NOTHING';

    FOR col IN
        SELECT a.attname, a.xmin AS added_by FROM pg_attribute a
        WHERE a.attrelid = 'public.personas'::regclass AND NOT a.attisdropped AND a.attnum > 0
          AND a.attname IN ('voice', 'traits', 'modules', 'interests', 'timezone', 'active_hours_start',
                            'active_hours_end', 'voice_bank', 'character_reference', 'chattiness',
                            'voting_temperament')
    LOOP
        IF personas_made_by_engine OR col.added_by = ANY (coalesce(history_xmin, '{}')) THEN
            EXECUTE format('ALTER TABLE public.personas DROP COLUMN %I', col.attname);
        END IF;
    END LOOP;

    -- 2. Indexes on the platform's tables, where the engine created them.
    IF v1_xmin IS NOT NULL THEN
        FOREACH base IN ARRAY ARRAY['posts', 'comments', 'votes'] LOOP
            IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
                       WHERE c.oid = to_regclass('public.' || base) AND t.xmin = v1_xmin) THEN
                engine_made := engine_made || base;
            END IF;
        END LOOP;
    END IF;
    IF 'posts' = ANY (engine_made) THEN
        CREATE INDEX IF NOT EXISTS posts_board_created_idx ON public.posts (board_id, created_at DESC);
        CREATE INDEX IF NOT EXISTS posts_persona_created_idx ON public.posts (persona_id, created_at DESC)
            WHERE persona_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS posts_published_created_idx ON public.posts (created_at DESC)
            WHERE status = 'PUBLISHED';
    END IF;
    IF 'comments' = ANY (engine_made) THEN
        CREATE INDEX IF NOT EXISTS comments_post_created_idx ON public.comments (post_id, created_at);
        CREATE INDEX IF NOT EXISTS comments_parent_created_idx ON public.comments (parent_id, created_at)
            WHERE parent_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS comments_persona_created_idx ON public.comments (persona_id, created_at DESC)
            WHERE persona_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS comments_human_created_idx ON public.comments (created_at DESC)
            WHERE author_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS comments_created_idx ON public.comments (created_at DESC) WHERE deleted_at IS NULL;
    END IF;
    IF 'votes' = ANY (engine_made) THEN
        -- People vote once per target on the engine's stand-in platform; a persona's one vote per target is
        -- enforced by persona_memory (the engine's own), on every platform.
        CREATE UNIQUE INDEX IF NOT EXISTS votes_user_post_key ON public.votes (user_id, post_id) WHERE post_id IS NOT NULL;
        CREATE UNIQUE INDEX IF NOT EXISTS votes_user_comment_key ON public.votes (user_id, comment_id)
            WHERE comment_id IS NOT NULL;
    END IF;
END
$$;
