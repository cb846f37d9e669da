-- The queue's live state in two narrow tables, so that a task's claim and completion are HOT updates of
-- its wide `persona_tasks` row.
--
-- Until now the claim order, the live dedupe and the one-running rule were partial indexes on
-- `persona_tasks` whose predicates name `status`, and the 24-hour figures had an index on `completed_at`.
-- A column an index names (in its key or its predicate) is one an update must not change to stay HOT, so
-- every claim and every completion wrote a whole new row version into the primary key and the
-- per-persona, newest-first, dedupe, one-running and completed indexes: about 1,790 bytes of WAL per
-- no-op task in the queue benchmark, against graphile-worker's 680 per job, on the platform's own
-- database.
--
-- Now:
-- * `persona_task_queue` holds one row per live (PENDING or RUNNING) task: its persona, kind, target and
--   `scheduled_at`. The claim order and the live dedupe (`persona_tasks_live_dedupe_key`, the same name
--   as before) are its indexes. A claim does not touch it.
-- * `persona_task_leases` holds one row per persona, naming the task it is running, if any: its primary
--   key (`persona_tasks_one_running_per_persona_key`, the same name as before) makes a second running
--   task of one persona impossible.
-- * A trigger on `persona_tasks` keeps both in step with every insert, status change, reschedule and
--   delete, in the same statement, whoever writes: the engine, a test, or an operator's own SQL. They
--   are derived data, like an index: nothing else writes them.
-- * `persona_tasks` keeps every column, and `status` stays the truth every reader reads. None of its
--   remaining indexes names a column the claim or the completion changes, and pages keep room for the
--   new version (fillfactor 60), so both updates stay on the page and touch no index.
--
-- The 24-hour figures of `GET /status` read the table in the same full pass as its counts by status,
-- so the `completed_at` index goes with the others.

SET LOCAL lock_timeout = '10s';

-- Their names go to the new tables' constraints.
DROP INDEX IF EXISTS public.persona_tasks_live_dedupe_key;
DROP INDEX IF EXISTS public.persona_tasks_one_running_per_persona_key;
DROP INDEX IF EXISTS public.idx_persona_tasks_pending;
DROP INDEX IF EXISTS public.idx_persona_tasks_completed;

CREATE TABLE IF NOT EXISTS public.persona_task_queue (
    task_id      uuid PRIMARY KEY,
    persona_id   uuid NOT NULL,
    task_type    text NOT NULL,
    post_id      uuid,
    comment_id   uuid,
    board_id     uuid,
    scheduled_at timestamptz NOT NULL
);

-- A persona's row stays once it has run a task; `task_id` is set while it runs one. Setting and clearing
-- it are HOT updates of a small row (half of each page is left for them), where inserting and deleting
-- a row per run would also write its primary key each time.
CREATE TABLE IF NOT EXISTS public.persona_task_leases (
    persona_id uuid NOT NULL,
    task_id    uuid,
    CONSTRAINT persona_tasks_one_running_per_persona_key PRIMARY KEY (persona_id)
) WITH (fillfactor = 50);

-- What is live now: the old unique indexes guaranteed that neither insert can conflict.
INSERT INTO public.persona_task_queue (task_id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
SELECT id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at
FROM public.persona_tasks WHERE status IN ('PENDING', 'RUNNING')
ON CONFLICT DO NOTHING;
INSERT INTO public.persona_task_leases (persona_id, task_id)
SELECT persona_id, id FROM public.persona_tasks WHERE status = 'RUNNING'
ON CONFLICT DO NOTHING;

CREATE UNIQUE INDEX IF NOT EXISTS persona_tasks_live_dedupe_key
    ON public.persona_task_queue (persona_id, task_type, post_id, comment_id, board_id) NULLS NOT DISTINCT;
CREATE INDEX IF NOT EXISTS persona_task_queue_due_idx ON public.persona_task_queue (scheduled_at, task_id);

CREATE OR REPLACE FUNCTION public.persona_engine_sync_live_task() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    was_live boolean := TG_OP <> 'INSERT' AND OLD.status IN ('PENDING', 'RUNNING');
    is_live boolean := TG_OP <> 'DELETE' AND NEW.status IN ('PENDING', 'RUNNING');
    was_running boolean := TG_OP <> 'INSERT' AND OLD.status = 'RUNNING';
    is_running boolean := TG_OP <> 'DELETE' AND NEW.status = 'RUNNING';
BEGIN
    IF was_running AND NOT (is_running AND NEW.persona_id = OLD.persona_id) THEN
        UPDATE public.persona_task_leases SET task_id = NULL WHERE persona_id = OLD.persona_id AND task_id = OLD.id;
    END IF;
    IF was_live AND NOT is_live THEN
        DELETE FROM public.persona_task_queue WHERE task_id = OLD.id;
    ELSIF is_live AND NOT was_live THEN
        -- insert_many has usually put the row there already, in the same statement (it skips a duplicate
        -- instead of failing); any other writer gets the dedupe index's unique violation.
        INSERT INTO public.persona_task_queue (task_id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
        VALUES (NEW.id, NEW.persona_id, NEW.task_type, NEW.post_id, NEW.comment_id, NEW.board_id, NEW.scheduled_at)
        ON CONFLICT (task_id) DO NOTHING;
    ELSIF is_live AND (NEW.scheduled_at, NEW.persona_id, NEW.task_type, NEW.post_id, NEW.comment_id, NEW.board_id)
                      IS DISTINCT FROM
                      (OLD.scheduled_at, OLD.persona_id, OLD.task_type, OLD.post_id, OLD.comment_id, OLD.board_id) THEN
        UPDATE public.persona_task_queue
        SET scheduled_at = NEW.scheduled_at, persona_id = NEW.persona_id, task_type = NEW.task_type,
            post_id = NEW.post_id, comment_id = NEW.comment_id, board_id = NEW.board_id
        WHERE task_id = NEW.id;
    END IF;
    IF is_running AND NOT (was_running AND NEW.persona_id = OLD.persona_id) THEN
        UPDATE public.persona_task_leases SET task_id = NEW.id WHERE persona_id = NEW.persona_id AND task_id IS NULL;
        IF NOT FOUND THEN
            -- The persona's first run, or it is running another task: then the primary key refuses this
            -- one with a unique violation.
            INSERT INTO public.persona_task_leases (persona_id, task_id) VALUES (NEW.persona_id, NEW.id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.persona_engine_sync_live_task() FROM PUBLIC;

DROP TRIGGER IF EXISTS persona_tasks_sync_live ON public.persona_tasks;
CREATE TRIGGER persona_tasks_sync_live
    AFTER INSERT OR DELETE OR UPDATE OF status, scheduled_at, persona_id, task_type, post_id, comment_id, board_id
    ON public.persona_tasks FOR EACH ROW EXECUTE FUNCTION public.persona_engine_sync_live_task();

CREATE OR REPLACE FUNCTION public.persona_engine_truncate_live_tasks() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    TRUNCATE public.persona_task_queue, public.persona_task_leases;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.persona_engine_truncate_live_tasks() FROM PUBLIC;

DROP TRIGGER IF EXISTS persona_tasks_truncate_live ON public.persona_tasks;
CREATE TRIGGER persona_tasks_truncate_live
    AFTER TRUNCATE ON public.persona_tasks FOR EACH STATEMENT EXECUTE FUNCTION public.persona_engine_truncate_live_tasks();

-- Room on each page for a task's next versions: a claim and a completion each write one, and the old
-- ones are pruned only once no snapshot needs them. Pages written from now on keep two fifths free (with
-- a fifth, eight workers draining at once still found pages full); existing pages are not rewritten.
ALTER TABLE public.persona_tasks SET (fillfactor = 60);

ALTER TABLE public.persona_task_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.persona_task_leases ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    web_role text;
BEGIN
    FOREACH web_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = web_role) THEN
            EXECUTE format('REVOKE ALL ON public.persona_task_queue, public.persona_task_leases FROM %I', web_role);
            EXECUTE format('REVOKE ALL ON FUNCTION public.persona_engine_sync_live_task(), '
                           'public.persona_engine_truncate_live_tasks() FROM %I', web_role);
        END IF;
    END LOOP;
END
$$;
