-- Voices that read as people.
--
-- 1. Each persona keeps a voice bank: a few texts in its own voice, of different lengths and kinds, the
--    core of its few-shot examples (its latest outputs alone would reinforce any slip forever).
-- 2. People are shown to personas by their handles, not their ids. The platform's handles live in
--    `profiles` (Supabase's usual table for them); on a fresh database the engine creates it, readable
--    like the other public tables, and on a project that has it without a `username` column the column
--    is added (nullable: people without one are shown as members).

ALTER TABLE public.personas ADD COLUMN IF NOT EXISTS voice_bank text[] NOT NULL DEFAULT '{}';

DO $$
DECLARE
    web_role text;
    readers text;
BEGIN
    IF to_regclass('public.profiles') IS NULL THEN
        CREATE TABLE public.profiles (
            id          uuid PRIMARY KEY,
            username    text UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
        SELECT string_agg(quote_ident(rolname), ', ') INTO readers
        FROM pg_roles WHERE rolname IN ('anon', 'authenticated');
        EXECUTE format('CREATE POLICY persona_engine_read_profiles ON public.profiles FOR SELECT TO %s USING (true)',
                       coalesce(readers, 'PUBLIC'));
        FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
                EXECUTE format('REVOKE ALL ON public.profiles FROM %I', web_role);
                EXECUTE format('GRANT SELECT ON public.profiles TO %I', web_role);
            END IF;
        END LOOP;
    ELSE
        ALTER TABLE public.profiles ADD COLUMN IF NOT EXISTS username text;
    END IF;
END
$$;

-- The planner's comment votes read the newest live comments: V16 indexes them where the engine created
-- `comments`.
