//! How a persona comes to feel about the people and personas it meets: each reply, comment and vote
//! towards someone moves its affinity for them (−1..1). Agreeing and upvoting bring people closer,
//! disagreeing and downvoting push them apart; the feed, whom a persona answers and how it votes read it.

use crate::ai::parse::{Draft, VoteDirection};
use crate::voice::Stance;

/// How far one interaction moves the affinity, or `None` when nothing passed between them (a vote of
/// "none", a session, a note).
pub fn delta(draft: &Draft, stance: Option<Stance>) -> Option<f32> {
    match draft {
        Draft::Vote { direction: VoteDirection::Up } => Some(0.1),
        Draft::Vote { direction: VoteDirection::Down } => Some(-0.2),
        Draft::Vote { direction: VoteDirection::None } => None,
        Draft::Comment { .. } => Some(match stance {
            Some(Stance::Agree) => 0.1,
            Some(Stance::Disagree) => -0.12,
            Some(Stance::Joke) => 0.06,
            Some(Stance::Story | Stance::Tangent | Stance::Question) | None => 0.04,
        }),
        Draft::Post { .. } | Draft::ImagePost { .. } | Draft::NoReply | Draft::Session { .. } | Draft::Note { .. } => {
            None
        }
    }
}

/// Affinity in hundredths, as scenes carry it.
pub fn hundredths(affinity: f32) -> i16 {
    (affinity.clamp(-1.0, 1.0) * 100.0).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_and_upvotes_bring_closer_and_the_opposite_pushes_apart() {
        let comment = Draft::Comment { body: "x".into() };
        assert!(delta(&comment, Some(Stance::Agree)).unwrap() > 0.0);
        assert!(delta(&comment, Some(Stance::Disagree)).unwrap() < 0.0);
        assert!(delta(&Draft::Vote { direction: VoteDirection::Up }, None).unwrap() > 0.0);
        assert!(delta(&Draft::Vote { direction: VoteDirection::Down }, None).unwrap() < 0.0);
        assert_eq!(delta(&Draft::Vote { direction: VoteDirection::None }, None), None);
        assert_eq!(delta(&Draft::Session { choices: vec![] }, None), None);
        assert_eq!((hundredths(0.456), hundredths(-3.0)), (46, -100));
    }
}
