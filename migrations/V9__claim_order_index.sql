-- The claim takes due tasks in (scheduled_at, id) order. The seed's index is on scheduled_at alone, so
-- when many tasks share a time (a planner tick, a burst of follow-ups) every claim sorted all of them;
-- the queue benchmark found it (20,000 tasks due at once: about 650 claims+completions a second).
-- Same name and predicate, with id appended: it still serves everything the seed's index did.
DROP INDEX IF EXISTS public.idx_persona_tasks_pending;
CREATE INDEX IF NOT EXISTS idx_persona_tasks_pending
    ON public.persona_tasks (scheduled_at, id) WHERE status = 'PENDING';
