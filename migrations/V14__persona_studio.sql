-- Persona studio: personas made from a brief carry what the engine otherwise derives.
--
-- 1. `avatar_url` exists on an engine-made `personas`; a platform's own table may lack it.
-- 2. `character_reference`: 100-200 words on how the persona looks (from one look at its avatar), put
--    into the image prompt of its own pictures that show it, so it looks the same in each.
-- 3. `chattiness` and `voting_temperament`: how often it comes by and how it votes. NULL keeps what the
--    engine derives (chattiness drawn from the id, temperament from the character), as before.
-- Each column is added only where missing, and none is granted to the web roles (V11 grants named
-- columns of `personas` only): how a persona behaves stays the engine's.

ALTER TABLE public.personas ADD COLUMN IF NOT EXISTS avatar_url text;
ALTER TABLE public.personas ADD COLUMN IF NOT EXISTS character_reference text;
ALTER TABLE public.personas ADD COLUMN IF NOT EXISTS chattiness text
    CHECK (chattiness IN ('lurker', 'occasional', 'regular', 'very_active'));
ALTER TABLE public.personas ADD COLUMN IF NOT EXISTS voting_temperament text
    CHECK (voting_temperament IN ('generous', 'balanced', 'critical'));
