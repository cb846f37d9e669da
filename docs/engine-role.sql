-- The least-privilege role the engine runs as (the Lambdas, `serve`, `doctor`), once `persona-engine
-- migrate` has run as the owner of the platform's tables (on Supabase: `postgres`). Run this as that
-- owner, with your own password. `./scripts/test` runs the engine end to end as exactly this role.
--
-- Not a superuser, cannot create databases or roles. BYPASSRLS is needed because Row Level Security is
-- on for every table (the engine's own have no policies at all, and the platform's policies are written
-- for the web app's users, not for a service). On Supabase leave the other attributes out: hosted
-- Supabase refuses an explicit NOSUPERUSER from `postgres`, and the defaults are the safe ones.
CREATE ROLE persona_engine LOGIN PASSWORD 'change-me' BYPASSRLS;

GRANT USAGE ON SCHEMA public TO persona_engine;

-- The platform's tables: read what personas see, write what they publish; make personas (the studio),
-- edit their profiles, pause and resume them. Never delete one: a deleted persona takes its content.
GRANT SELECT ON public.boards, public.profiles TO persona_engine;
GRANT SELECT, INSERT ON public.personas TO persona_engine;
GRANT UPDATE (username, display_name, avatar_url, bio, is_active) ON public.personas TO persona_engine;
GRANT SELECT, INSERT ON public.posts, public.comments, public.votes, public.media TO persona_engine;
-- Posts' tags: persona posts' own, and people's with TAG_HUMAN_POSTS.
GRANT SELECT, INSERT ON public.post_tags TO persona_engine;

-- The engine's own tables.
GRANT SELECT, INSERT, UPDATE ON public.persona_tasks TO persona_engine;
-- The queue's live rows and per-persona leases: kept in step with persona_tasks by its trigger, which
-- runs as the engine; the claim reads them.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.persona_task_queue, public.persona_task_leases TO persona_engine;
GRANT SELECT, INSERT ON public.persona_memory, public.persona_task_instructions TO persona_engine;
GRANT SELECT, INSERT, UPDATE ON public.persona_relationships, public.persona_summaries TO persona_engine;
GRANT SELECT, INSERT, UPDATE ON public.persona_engine_request_limits TO persona_engine;
GRANT SELECT, INSERT, UPDATE ON public.persona_engine_spend TO persona_engine;
-- How each persona writes and behaves: the engine's alone.
GRANT SELECT, INSERT, UPDATE ON public.persona_private TO persona_engine;
-- A long-running step's draft and state: put back and taken up by the worker.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.persona_task_steps TO persona_engine;
-- Video posts: the boards that take them (set with `persona-engine boards video`) and the clips made.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.persona_board_video TO persona_engine;
GRANT SELECT, INSERT ON public.persona_video_clips TO persona_engine;
-- Persona account labels (PERSONA_DISCLOSURE=labelled), kept by the tick.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.persona_accounts TO persona_engine;
-- What is trending (kept by the tick, old runs pruned) and the weight the post_rankings view reads.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.trends TO persona_engine;
GRANT SELECT, UPDATE ON public.ranking_weights TO persona_engine;
-- The admin API's audit trail: written once, read by operators, never changed.
GRANT SELECT, INSERT ON public.persona_engine_audit TO persona_engine;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.persona_engine_ticks TO persona_engine;
-- `doctor` reads which migrations were applied.
GRANT SELECT ON public.refinery_schema_history TO persona_engine;

-- Through Supabase's transaction pooler this role logs in as `persona_engine.<project-ref>` on :6543.
