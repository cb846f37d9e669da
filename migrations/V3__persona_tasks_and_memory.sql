-- The engine's work queue and the personas' memory. Column names, status values and indexes follow the
-- seed; the lease columns, last_error, skip_reason and payload are what a crash-safe queue needs on top.

CREATE TABLE IF NOT EXISTS public.persona_tasks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    persona_id        uuid NOT NULL REFERENCES public.personas(id) ON DELETE CASCADE,
    task_type         text NOT NULL,  -- 'comment' | 'post' | 'reply' | 'vote' | 'image_post'

    post_id           uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    comment_id        uuid REFERENCES public.comments(id) ON DELETE CASCADE,
    board_id          uuid REFERENCES public.boards(id) ON DELETE CASCADE,

    status            text NOT NULL DEFAULT 'PENDING',  -- PENDING -> RUNNING -> DONE | FAILED | SKIPPED
    scheduled_at      timestamptz NOT NULL,
    started_at        timestamptz,
    completed_at      timestamptz,

    result_id         uuid,
    result_type       text,
    error_message     text,
    retry_count       integer NOT NULL DEFAULT 0,
    max_retries       integer NOT NULL DEFAULT 3,

    prompt_tokens     integer,
    completion_tokens integer,
    created_at        timestamptz NOT NULL DEFAULT now(),

    -- A claim holds the task until locked_until; claim_token identifies the claim, so a worker whose
    -- lease expired and was rescued cannot finalise the task a second time.
    locked_until      timestamptz,
    claim_token       uuid,
    last_error        text,
    skip_reason       text,
    payload           jsonb NOT NULL DEFAULT '{}'::jsonb,

    CONSTRAINT persona_tasks_status_check
        CHECK (status IN ('PENDING', 'RUNNING', 'DONE', 'FAILED', 'SKIPPED')),
    CONSTRAINT persona_tasks_result_type_check
        CHECK (result_type IS NULL OR result_type IN ('post', 'comment', 'vote')),
    CONSTRAINT persona_tasks_retry_count_check
        CHECK (retry_count >= 0 AND max_retries >= 0),
    CONSTRAINT persona_tasks_lease_check
        CHECK ((status = 'RUNNING') = (locked_until IS NOT NULL AND claim_token IS NOT NULL)),
    CONSTRAINT persona_tasks_finished_check
        CHECK ((status IN ('DONE', 'FAILED', 'SKIPPED')) = (completed_at IS NOT NULL)),
    CONSTRAINT persona_tasks_payload_object_check
        CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX IF NOT EXISTS idx_persona_tasks_pending
    ON public.persona_tasks (scheduled_at) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS idx_persona_tasks_persona
    ON public.persona_tasks (persona_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_persona_tasks_post
    ON public.persona_tasks (post_id) WHERE post_id IS NOT NULL;

-- A second live task for the same (persona, type, target) is impossible, whoever enqueues it.
CREATE UNIQUE INDEX IF NOT EXISTS persona_tasks_live_dedupe_key
    ON public.persona_tasks (persona_id, task_type, post_id, comment_id, board_id) NULLS NOT DISTINCT
    WHERE status IN ('PENDING', 'RUNNING');

-- A person does not write two things at once. The claim avoids picking two tasks of one persona; this
-- index makes it impossible even when two claims race.
CREATE UNIQUE INDEX IF NOT EXISTS persona_tasks_one_running_per_persona_key
    ON public.persona_tasks (persona_id) WHERE status = 'RUNNING';

CREATE INDEX IF NOT EXISTS idx_persona_tasks_lease
    ON public.persona_tasks (locked_until) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS idx_persona_tasks_completed
    ON public.persona_tasks (completed_at DESC) WHERE completed_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS public.persona_memory (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    persona_id  uuid NOT NULL REFERENCES public.personas(id) ON DELETE CASCADE,
    post_id     uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    comment_id  uuid REFERENCES public.comments(id) ON DELETE CASCADE,
    action_type text NOT NULL,  -- 'viewed' | 'commented' | 'posted' | 'voted' | 'replied'
    created_at  timestamptz DEFAULT now(),
    task_id     uuid REFERENCES public.persona_tasks(id) ON DELETE SET NULL,

    -- Prevent duplicate actions. Post-level actions are keyed on post_id alone and comment-level ones
    -- (replies, comment votes) on comment_id alone, so a reply does not block a second reply elsewhere
    -- in the same post.
    UNIQUE (persona_id, post_id, action_type),
    UNIQUE (persona_id, comment_id, action_type),
    CONSTRAINT persona_memory_action_type_check
        CHECK (action_type IN ('viewed', 'commented', 'posted', 'voted', 'replied')),
    CONSTRAINT persona_memory_one_target_check
        CHECK (post_id IS NULL OR comment_id IS NULL)
);

CREATE INDEX IF NOT EXISTS idx_persona_memory_persona
    ON public.persona_memory (persona_id, created_at DESC);
