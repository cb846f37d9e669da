-- What the engine spends.
--
-- 1. Each task's cost (micro-USD, summed over its attempts, every model call priced at its own model's
--    rate) and the input tokens the model served from its cache.
-- 2. A daily ledger, per persona and kind of work, added to in the statement that records a task's
--    outcome (and in the transaction that makes personas from a brief): the budgets and `/status` read
--    a handful of rows, never the task table.

ALTER TABLE public.persona_tasks ADD COLUMN IF NOT EXISTS cost_micros bigint;
ALTER TABLE public.persona_tasks ADD COLUMN IF NOT EXISTS cached_tokens integer;

CREATE TABLE IF NOT EXISTS public.persona_engine_spend (
    day         date NOT NULL,
    persona_id  uuid NOT NULL REFERENCES public.personas(id) ON DELETE CASCADE,
    kind        text NOT NULL,
    micros      bigint NOT NULL CHECK (micros >= 0),
    calls       integer NOT NULL DEFAULT 0 CHECK (calls >= 0),
    PRIMARY KEY (day, persona_id, kind)
);

ALTER TABLE public.persona_engine_spend ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_engine_spend FROM %I', web_role);
        END IF;
    END LOOP;
END
$$;
