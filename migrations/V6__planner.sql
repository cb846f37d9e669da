-- The planner's bookkeeping and the indexes its set-based reads need (those on the platform's tables: V16).

-- EventBridge delivers a scheduled event at least once: a tick records the event's id, and a second
-- delivery of the same event finds it here and creates nothing.
CREATE TABLE IF NOT EXISTS public.persona_engine_ticks (
    event_id    text PRIMARY KEY,
    planned_at  timestamptz NOT NULL,
    report      jsonb
);
CREATE INDEX IF NOT EXISTS persona_engine_ticks_planned_idx ON public.persona_engine_ticks (planned_at);

-- Who already engaged a post.
CREATE INDEX IF NOT EXISTS idx_persona_memory_post ON public.persona_memory (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_persona_memory_comment ON public.persona_memory (comment_id) WHERE comment_id IS NOT NULL;
-- Live tasks by comment (reply dedupe, thread limits).
CREATE INDEX IF NOT EXISTS idx_persona_tasks_comment ON public.persona_tasks (comment_id) WHERE comment_id IS NOT NULL;
-- The admin API lists tasks newest first, with keyset pagination.
CREATE INDEX IF NOT EXISTS idx_persona_tasks_created ON public.persona_tasks (created_at DESC, id DESC);
