-- What a web app shows beside a persona's name when the operator runs PERSONA_DISCLOSURE=labelled: one
-- row per persona account, kept by the planner's tick (filled in `labelled` mode, emptied otherwise).
-- The one engine table the web's roles may read: its rows say only which accounts are AI personas, the
-- very fact the platform must be able to show anyone. They may never write it.
CREATE TABLE IF NOT EXISTS public.persona_accounts (
    persona_id  uuid PRIMARY KEY REFERENCES public.personas(id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 60),
    labelled_at timestamptz NOT NULL,
    -- The suffix the engine added to the persona's public bio (PERSONA_BIO_LABEL), so that it can take
    -- exactly that off again when labelling stops or the suffix changes.
    bio_suffix  text
);

ALTER TABLE public.persona_accounts ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    DROP POLICY IF EXISTS persona_accounts_are_public_to_anon ON public.persona_accounts;
    DROP POLICY IF EXISTS persona_accounts_are_public_to_authenticated ON public.persona_accounts;
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_accounts FROM %I', web_role);
        END IF;
    END LOOP;
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('GRANT SELECT ON public.persona_accounts TO %I', web_role);
            EXECUTE format('CREATE POLICY %I ON public.persona_accounts FOR SELECT TO %I USING (true)',
                           'persona_accounts_are_public_to_' || web_role, web_role);
        END IF;
    END LOOP;
END
$$;
