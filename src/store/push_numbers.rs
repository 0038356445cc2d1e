//! The numbers of pushes (their frames' `event.id`) when pushes travel through the
//! database's change streams: a push's number is its place in the database's change
//! history (the cluster time of its insert), so every process gives the same push the
//! same number, and numbers rise in the order every process delivers them. A client that
//! resumes after a number is sent exactly what followed it in that history.
//!
//! A number packs the cluster time's seconds (since 2026, 28 bits: until 2034 a number
//! stays below 2^53, exact in a JavaScript `number`), its increment within that second
//! (17 bits; a second with more writes than that shares its last place) and, in the low
//! 8 bits, the rank of a prop-board push among those one user received since the last
//! session push this process delivered (0 for a session push).

use bson::Timestamp;

/// The seconds the numbers count from: 2026-01-01T00:00:00Z.
const EPOCH: u32 = 1_767_225_600;
const INCREMENT_BITS: u32 = 17;
const RANK_BITS: u32 = 8;
const MAX_INCREMENT: u32 = (1 << INCREMENT_BITS) - 1;
/// The highest rank of a prop push after one session push (more share it).
pub const MAX_RANK: i64 = (1 << RANK_BITS) - 1;

/// A place in the change history, and the rank of a prop push after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushNumber {
    /// The cluster time of the session push at (or after) which it was sent.
    pub at: Timestamp,
    /// 0 for a session push; 1.. for the prop-board pushes that followed it.
    pub rank: i64,
}

impl PushNumber {
    /// The number of the session push inserted at cluster time `at`.
    pub fn of_insert(at: Timestamp) -> i64 {
        let seconds = i64::from(at.time.saturating_sub(EPOCH));
        let increment = i64::from(at.increment.min(MAX_INCREMENT));
        (seconds << (INCREMENT_BITS + RANK_BITS)) | (increment << RANK_BITS)
    }

    /// The place and rank a number names; `None` for a number no push can have.
    pub fn decode(number: i64) -> Option<PushNumber> {
        if number <= 0 {
            return None;
        }
        let seconds = u32::try_from(number >> (INCREMENT_BITS + RANK_BITS)).ok()?;
        let increment = ((number >> RANK_BITS) as u32) & MAX_INCREMENT;
        Some(PushNumber {
            at: Timestamp {
                time: EPOCH.checked_add(seconds)?,
                increment,
            },
            rank: number & MAX_RANK,
        })
    }

    /// The number of the session push this one is, or follows.
    pub fn session_push(self) -> i64 {
        PushNumber::of_insert(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rise_with_the_change_history() {
        let earlier = PushNumber::of_insert(Timestamp {
            time: 1_796_495_365,
            increment: 70_000,
        });
        let later_in_the_same_second = PushNumber::of_insert(Timestamp {
            time: 1_796_495_365,
            increment: 70_001,
        });
        let next_second = PushNumber::of_insert(Timestamp {
            time: 1_796_495_366,
            increment: 1,
        });
        assert!(earlier < later_in_the_same_second);
        assert!(later_in_the_same_second < next_second);
        assert!(next_second < 1 << 53, "exact in a JavaScript number");
    }

    #[test]
    fn a_number_decodes_to_its_place_and_rank() {
        let at = Timestamp {
            time: 1_796_495_365,
            increment: 6,
        };
        let number = PushNumber::of_insert(at);
        assert_eq!(PushNumber::decode(number), Some(PushNumber { at, rank: 0 }));
        assert_eq!(
            PushNumber::decode(number + 3),
            Some(PushNumber { at, rank: 3 })
        );
        assert_eq!(
            PushNumber::decode(number + 3).map(PushNumber::session_push),
            Some(number)
        );
        assert_eq!(PushNumber::decode(0), None);
        assert_eq!(PushNumber::decode(-5), None);
    }
}
