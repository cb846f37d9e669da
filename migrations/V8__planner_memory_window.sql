-- The planner reads every persona's actions of the last 24 hours each tick (rate limits, daily post
-- counts). Without an index on time that read scans all of persona_memory, which only grows.
CREATE INDEX IF NOT EXISTS idx_persona_memory_recent_actions
    ON public.persona_memory (created_at) WHERE action_type <> 'viewed';
