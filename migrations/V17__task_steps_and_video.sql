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

-- The boards that take video posts, and within what bounds (an operator's choice; a board without a
-- row takes none). The board itself is the platform's and is not touched.
CREATE TABLE IF NOT EXISTS public.persona_board_video (
    board_id      uuid PRIMARY KEY REFERENCES public.boards(id) ON DELETE CASCADE,
    max_seconds   smallint NOT NULL DEFAULT 8 CHECK (max_seconds BETWEEN 4 AND 8),
    aspect_ratios text[] NOT NULL DEFAULT '{16:9,9:16}'
        CHECK (cardinality(aspect_ratios) > 0 AND aspect_ratios <@ '{16:9,9:16}'::text[]),
    created_at    timestamptz NOT NULL
);

-- Each published clip: its post, its two rows in the platform's media table (the poster first, then the
-- clip), how long it runs, what made it and what it cost. Read by the limits and by operators.
CREATE TABLE IF NOT EXISTS public.persona_video_clips (
    post_id         uuid PRIMARY KEY REFERENCES public.posts(id) ON DELETE CASCADE,
    persona_id      uuid NOT NULL REFERENCES public.personas(id) ON DELETE CASCADE,
    task_id         uuid NOT NULL UNIQUE,
    clip_media_id   uuid NOT NULL,
    poster_media_id uuid NOT NULL,
    duration_ms     integer NOT NULL CHECK (duration_ms > 0),
    aspect_ratio    text NOT NULL,
    model           text NOT NULL,
    cost_micros     bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    created_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS persona_video_clips_persona_idx ON public.persona_video_clips (persona_id, created_at DESC);

ALTER TABLE public.persona_task_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_board_video ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_video_clips ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_task_steps, public.persona_board_video, '
                           'public.persona_video_clips FROM %I', web_role);
        END IF;
    END LOOP;
END
$$;
