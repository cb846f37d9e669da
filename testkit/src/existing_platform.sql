-- A Supabase project that already runs the web app, before persona-engine ever touches it: the web app's
-- own tables (the schema contract's columns and some of its own), Row Level Security on with the web
-- app's policies (anyone reads; owners write their own rows), Supabase's default grants, and ordinary
-- messy data: a person's duplicate vote, a post whose author's account was deleted, a big comments table.

CREATE SCHEMA IF NOT EXISTS auth;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated;

CREATE TABLE public.profiles (
    id uuid PRIMARY KEY, username text UNIQUE, website text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.personas (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), username text NOT NULL UNIQUE, display_name text NOT NULL,
    avatar_url text, bio text NOT NULL DEFAULT '', is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(), seeded_by text);
CREATE TABLE public.boards (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), slug text NOT NULL UNIQUE, name text NOT NULL,
    description text NOT NULL DEFAULT '', topics text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.posts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), board_id uuid NOT NULL REFERENCES public.boards(id),
    author_id uuid REFERENCES public.profiles(id) ON DELETE SET NULL, title text NOT NULL, body text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'PUBLISHED', locked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(), view_count integer NOT NULL DEFAULT 0);
CREATE INDEX posts_board_idx ON public.posts (board_id, created_at DESC);
CREATE TABLE public.comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), post_id uuid NOT NULL REFERENCES public.posts(id) ON DELETE CASCADE,
    parent_id uuid REFERENCES public.comments(id) ON DELETE CASCADE, depth integer NOT NULL DEFAULT 0,
    body text NOT NULL, author_id uuid NOT NULL, deleted_at timestamptz, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX comments_post_idx ON public.comments (post_id, created_at);
CREATE TABLE public.votes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), post_id uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    comment_id uuid REFERENCES public.comments(id) ON DELETE CASCADE, user_id uuid NOT NULL,
    value smallint NOT NULL CHECK (value IN (-1, 1)), created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.media (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), post_id uuid REFERENCES public.posts(id) ON DELETE CASCADE,
    storage_path text NOT NULL UNIQUE, url text NOT NULL, width integer NOT NULL, height integer NOT NULL,
    mime_type text NOT NULL, bytes integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.personas ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.boards ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.votes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.media ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Profiles are public" ON public.profiles FOR SELECT USING (true);
CREATE POLICY "Users edit their profile" ON public.profiles FOR UPDATE TO authenticated USING (auth.uid() = id);
CREATE POLICY "Personas are public" ON public.personas FOR SELECT USING (true);
CREATE POLICY "Boards are public" ON public.boards FOR SELECT USING (true);
CREATE POLICY "Posts are viewable when published" ON public.posts FOR SELECT USING (status = 'PUBLISHED');
CREATE POLICY "Users write their posts" ON public.posts FOR INSERT TO authenticated WITH CHECK (auth.uid() = author_id);
CREATE POLICY "Comments are public" ON public.comments FOR SELECT USING (true);
CREATE POLICY "Users write their comments" ON public.comments FOR INSERT TO authenticated WITH CHECK (auth.uid() = author_id);
CREATE POLICY "Votes are public" ON public.votes FOR SELECT USING (true);
CREATE POLICY "Users vote as themselves" ON public.votes FOR ALL TO authenticated
    USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY "Media is public" ON public.media FOR SELECT USING (true);

-- Years of ordinary data.
INSERT INTO public.profiles (id, username)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'member_' || n FROM generate_series(1, 200) n;
INSERT INTO public.personas (username, display_name, bio, seeded_by)
VALUES ('marisol_cooks', 'Marisol', 'Cooks for six on a Tuesday.', 'seed-personas.mjs');
INSERT INTO public.boards (id, slug, name, topics)
VALUES ('11111111-1111-4111-8111-111111111111', 'cooking', 'Cooking', '{cooking,recipes}');
INSERT INTO public.posts (id, board_id, author_id, title, created_at)
SELECT ('22222222-2222-4222-8222-' || lpad(to_hex(n), 12, '0'))::uuid, '11111111-1111-4111-8111-111111111111',
       ('00000000-0000-4000-8000-' || lpad(to_hex(1 + n % 200), 12, '0'))::uuid, 'Post number ' || n,
       now() - make_interval(hours => n)
FROM generate_series(1, 500) n;
-- A post whose author deleted their account.
UPDATE public.posts SET author_id = NULL WHERE id = '22222222-2222-4222-8222-000000000001';
INSERT INTO public.comments (post_id, body, author_id, created_at)
SELECT ('22222222-2222-4222-8222-' || lpad(to_hex(1 + n % 500), 12, '0'))::uuid, 'comment ' || n,
       ('00000000-0000-4000-8000-' || lpad(to_hex(1 + n % 200), 12, '0'))::uuid, now() - make_interval(mins => n)
FROM generate_series(1, 100000) n;
-- A person's vote, twice: the web app never had a unique index on votes.
INSERT INTO public.votes (post_id, user_id, value)
VALUES ('22222222-2222-4222-8222-000000000002', '00000000-0000-4000-8000-000000000005', 1),
       ('22222222-2222-4222-8222-000000000002', '00000000-0000-4000-8000-000000000005', 1);
