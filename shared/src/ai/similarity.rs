//! Near-duplicate detection: Jaccard similarity of word 3-gram shingles over normalised text (lower
//! case, letters and digits only). Cheap, deterministic, and blind to punctuation and spacing tricks.

use std::collections::HashSet;

/// Texts at least this similar count as near duplicates.
pub const NEAR_DUPLICATE: f64 = 0.5;

fn normalised_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

fn shingles(words: &[String]) -> HashSet<String> {
    if words.len() < 3 {
        return words.iter().cloned().collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

/// Similarity of two texts in [0, 1]; 1 for texts equal after normalisation.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (wa, wb) = (normalised_words(a), normalised_words(b));
    if wa.is_empty() || wb.is_empty() {
        return if wa == wb { 1.0 } else { 0.0 };
    }
    if wa == wb {
        return 1.0;
    }
    let (sa, sb) = (shingles(&wa), shingles(&wb));
    let shared = sa.intersection(&sb).count() as f64;
    shared / ((sa.len() + sb.len()) as f64 - shared).max(1.0)
}

/// `text`'s shingles as sorted, distinct hashes: what [`similarity`] compares, for indexing many texts
/// (the Jaccard of two texts' hash sets is their similarity, short of a hash collision).
pub fn shingle_hashes(text: &str) -> Vec<u64> {
    let mut hashes: Vec<u64> =
        shingles(&normalised_words(text)).iter().map(|s| crate::stable::hash(&[s.as_bytes()])).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// The most similar of `others` to `text`, with its score.
pub fn most_similar<'a>(text: &str, others: impl IntoIterator<Item = &'a str>) -> Option<(&'a str, f64)> {
    others.into_iter().map(|o| (o, similarity(text, o))).max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_after_normalisation_is_one() {
        assert_eq!(similarity("Hello, World!", "hello world"), 1.0);
    }

    #[test]
    fn unrelated_texts_score_low_and_rewordings_high() {
        let a = "Lights first. Everything else can wait a month until you know your route.";
        let b = "Lights first! Everything else can wait a month until you know the route.";
        let c = "I bake bread with a 75 percent hydration dough every Sunday morning.";
        assert!(similarity(a, b) >= NEAR_DUPLICATE, "{}", similarity(a, b));
        assert!(similarity(a, c) < 0.1, "{}", similarity(a, c));
    }

    #[test]
    fn shingle_hashes_give_the_same_jaccard() {
        let (a, b) = ("the cat sat on the mat today", "the cat sat on a mat today");
        let (ha, hb) = (shingle_hashes(a), shingle_hashes(b));
        let shared = ha.iter().filter(|h| hb.binary_search(h).is_ok()).count() as f64;
        assert!((shared / ((ha.len() + hb.len()) as f64 - shared) - similarity(a, b)).abs() < 1e-12);
    }

    #[test]
    fn the_most_similar_is_found() {
        let (text, score) = most_similar("the cat sat on the mat", ["a dog ran", "the cat sat on a mat"]).unwrap();
        assert_eq!(text, "the cat sat on a mat");
        assert!(score > 0.3);
    }
}
