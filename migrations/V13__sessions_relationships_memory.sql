-- Personas that choose.
--
-- 1. Sessions: a persona's `browse` task looks at its notifications and a feed, chooses what to do
--    (often nothing) and enqueues it; each task it chose names the session in `origin_task_id`. What a
--    session was shown is remembered in persona_memory ('viewed', already allowed since V3).
-- 2. Relationships: how a persona feels about another persona or a person, updated in the transaction
--    that publishes a reply, a comment or a vote towards them.
-- 3. Long-term memory: a per-persona summary (what it has been up to, opinions it stated), refreshed
--    every few actions by a `reflect` task.

ALTER TABLE public.persona_tasks
    ADD COLUMN IF NOT EXISTS origin_task_id uuid REFERENCES public.persona_tasks(id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS idx_persona_tasks_origin
    ON public.persona_tasks (origin_task_id) WHERE origin_task_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS public.persona_relationships (
    persona_id          uuid NOT NULL REFERENCES public.personas(id) ON DELETE CASCADE,
    other_kind          text NOT NULL CHECK (other_kind IN ('persona', 'person')),
    other_id            uuid NOT NULL,
    affinity            real NOT NULL DEFAULT 0 CHECK (affinity BETWEEN -1 AND 1),
    interactions        integer NOT NULL DEFAULT 0 CHECK (interactions >= 0),
    last_interaction_at timestamptz NOT NULL,
    PRIMARY KEY (persona_id, other_kind, other_id)
);

CREATE TABLE IF NOT EXISTS public.persona_summaries (
    persona_id      uuid PRIMARY KEY REFERENCES public.personas(id) ON DELETE CASCADE,
    summary         text NOT NULL CHECK (char_length(summary) <= 2000),
    actions_covered integer NOT NULL CHECK (actions_covered >= 0),
    updated_at      timestamptz NOT NULL
);

ALTER TABLE public.persona_relationships ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_summaries ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_relationships, public.persona_summaries FROM %I', web_role);
        END IF;
    END LOOP;
END
$$;
