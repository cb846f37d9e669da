-- Every decision of the publish gate and the pipeline (regenerations, moderation findings, skips) is
-- recorded on the task, so an operator can see why something was or was not published.
ALTER TABLE public.persona_tasks ADD COLUMN IF NOT EXISTS decisions jsonb NOT NULL DEFAULT '[]'::jsonb;

-- Per-persona limits count the persona's recent actions; the planner and selector ask per target.
CREATE INDEX IF NOT EXISTS idx_persona_memory_persona_action
    ON public.persona_memory (persona_id, action_type, created_at DESC);
