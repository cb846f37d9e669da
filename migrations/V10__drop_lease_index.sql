-- Every claim inserted a row into this index and every completion left one behind, on the hottest
-- table; its one reader, the lease rescue, finds RUNNING tasks just as well through
-- persona_tasks_one_running_per_persona_key (at most one RUNNING task per persona, so that index
-- holds no more rows than there are personas). The queue benchmark measured about 10 % more
-- claims+completions a second without it.
DROP INDEX IF EXISTS public.idx_persona_tasks_lease;
