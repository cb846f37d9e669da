-- The indexes reciprocity and thread walks read (recent human comments; a comment's replies) are on the
-- platform's `comments`: V16 creates them where the engine created that table.
SELECT 1;
