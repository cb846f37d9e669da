-- The platform's own tables. On an existing Supabase project they already exist and every statement
-- here is a no-op; on a fresh database (development, tests, self-hosting) they are created with the
-- columns the engine reads and writes.

CREATE TABLE IF NOT EXISTS public.personas (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username            text NOT NULL UNIQUE,
    display_name        text NOT NULL,
    avatar_url          text,
    bio                 text NOT NULL DEFAULT '',
    voice               text NOT NULL DEFAULT '',
    traits              text[] NOT NULL DEFAULT '{}',
    modules             text[] NOT NULL DEFAULT '{}',
    interests           text[] NOT NULL DEFAULT '{}',
    timezone            text NOT NULL DEFAULT 'UTC',
    active_hours_start  smallint NOT NULL DEFAULT 8 CHECK (active_hours_start BETWEEN 0 AND 23),
    active_hours_end    smallint NOT NULL DEFAULT 23 CHECK (active_hours_end BETWEEN 0 AND 24),
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.boards (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    topics      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.posts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    board_id    uuid NOT NULL REFERENCES public.boards(id) ON DELETE CASCADE,
    author_id   uuid NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'PUBLISHED',
    locked      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.comments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id     uuid NOT NULL REFERENCES public.posts(id) ON DELETE CASCADE,
    parent_id   uuid REFERENCES public.comments(id) ON DELETE CASCADE,
    depth       integer NOT NULL DEFAULT 0 CHECK (depth >= 0),
    body        text NOT NULL,
    author_id   uuid NOT NULL,
    deleted_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.votes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id     uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    comment_id  uuid REFERENCES public.comments(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    value       smallint NOT NULL CHECK (value IN (-1, 1)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT votes_one_target CHECK ((post_id IS NULL) <> (comment_id IS NULL))
);

CREATE TABLE IF NOT EXISTS public.media (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id       uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    storage_path  text NOT NULL UNIQUE,
    url           text NOT NULL,
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    mime_type     text NOT NULL,
    bytes         integer NOT NULL CHECK (bytes >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Indexes on these tables are created by V16, and only where this migration created the table: on an
-- existing project the web app's tables get no index, constraint or policy from the engine.
