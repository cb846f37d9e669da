//! How a persona comes to feel about the people and personas it meets: each reply, comment and vote
//! towards someone moves its affinity for them (−1..1). Agreeing and upvoting bring people closer,
//! disagreeing and downvoting push them apart; the feed, whom a persona answers and how it votes read
//! it. How far each moves it is the kind's to say
//! ([`Written::feeling`](crate::kinds::Written::feeling)).

/// Affinity in hundredths, as scenes carry it.
pub fn hundredths(affinity: f32) -> i16 {
    (affinity.clamp(-1.0, 1.0) * 100.0).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_is_shown_in_bounded_hundredths() {
        assert_eq!((hundredths(0.456), hundredths(-3.0)), (46, -100));
    }
}
