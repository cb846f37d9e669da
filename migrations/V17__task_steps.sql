-- A step of a task that outlives one invocation (a clip a provider renders for minutes): the draft the
-- task wrote, so the model is never asked again for it, and where the step stands (an operation's
-- name), so a crash after the provider accepted the work never submits it again. Written only by the
-- worker, in the transaction that puts the task back; deleted in the one that publishes it. The
-- engine's alone: a row here is published without asking the model, so the web's roles must never
-- write one.
CREATE TABLE IF NOT EXISTS public.persona_task_steps (
    task_id    uuid PRIMARY KEY REFERENCES public.persona_tasks(id) ON DELETE CASCADE,
    draft      jsonb NOT NULL,
    state      jsonb NOT NULL,
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    polls      integer NOT NULL DEFAULT 0 CHECK (polls >= 0)
);

ALTER TABLE public.persona_task_steps ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_task_steps FROM %I', web_role);
        END IF;
    END LOOP;
END
$$;
