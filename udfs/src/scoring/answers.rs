//! The answer store shared by the questionnaire scoring functions: one byte
//! per scored item ("slot") of one questionnaire.
//!
//! A slot holds one of:
//! - [`EMPTY`]: no valid answer seen;
//! - `value + 1` for a valid answer `value` (0..=3, so codes 1..=4);
//! - [`CONFLICT`]: two different valid answers seen for the same item.
//!
//! Combining two codes ([`combine`]) is commutative, associative and
//! idempotent, so the result never depends on row order, on how rows are
//! split between partitions, or on how often a row is repeated: identical
//! duplicates count once, conflicting duplicates make the item missing.
//! Rows whose value is NULL or outside the item's valid range never reach
//! the store (they are missing answers, not scores).
//!
//! The same bytes are the aggregate's intermediate state (one
//! `FixedSizeBinary(slots)` value per questionnaire).

/// Slot code: no valid answer seen.
pub(crate) const EMPTY: u8 = 0;
/// Slot code: conflicting valid answers seen (scored as missing).
pub(crate) const CONFLICT: u8 = u8::MAX;
/// Highest answer value any instrument stores (0..=3).
const MAX_VALUE: u8 = 3;

/// Combine two slot codes (a join: `EMPTY` is the identity, `CONFLICT`
/// absorbs, equal codes stay, different answers conflict).
#[inline]
pub(crate) fn combine(a: u8, b: u8) -> u8 {
    if b == EMPTY || a == b {
        a
    } else if a == EMPTY {
        b
    } else {
        CONFLICT
    }
}

/// Record the valid answer `value` (0..=3) for `slot`.
#[inline]
pub(crate) fn record(codes: &mut [u8], slot: usize, value: u8) {
    debug_assert!(value <= MAX_VALUE);
    let code = &mut codes[slot];
    *code = combine(*code, value + 1);
}

/// Merge another store's codes (e.g. an intermediate state row) into `codes`.
/// Codes that cannot come from [`record`] are treated as conflicts, so a
/// malformed state can make items missing but never produce a score.
#[inline]
pub(crate) fn merge(codes: &mut [u8], other: &[u8]) {
    for (code, &o) in codes.iter_mut().zip(other) {
        let o = if o <= MAX_VALUE + 1 { o } else { CONFLICT };
        *code = combine(*code, o);
    }
}

/// The answer stored in `slot`, or `None` when missing or conflicting.
#[inline]
pub(crate) fn answer(codes: &[u8], slot: usize) -> Option<u8> {
    match codes[slot] {
        c @ 1..=4 => Some(c - 1),
        _ => None,
    }
}

/// Parse a numbered item code `<prefix>NN` (exactly two digits) to its
/// number, e.g. `numbered_item("rcads_07", "rcads_") == Some(7)`.
#[inline]
pub(crate) fn numbered_item(item: &str, prefix: &str) -> Option<usize> {
    let rest = item.strip_prefix(prefix)?.as_bytes();
    match rest {
        [t @ b'0'..=b'9', u @ b'0'..=b'9'] => {
            Some(usize::from(t - b'0') * 10 + usize::from(u - b'0'))
        }
        _ => None,
    }
}

/// `floor(sum * items / answered + 1/2)` in exact integer arithmetic: the
/// mean of the answered items scaled to the full scale, rounded half up.
/// `None` when nothing was answered.
pub(crate) fn prorate(sum: i64, answered: i64, items: i64) -> Option<i64> {
    (answered > 0).then(|| (2 * sum * items + answered).div_euclid(2 * answered))
}

/// Sum of the parts, `None` if any part is `None`.
pub(crate) fn sum_all(parts: &[Option<i64>]) -> Option<i64> {
    parts.iter().try_fold(0, |acc, p| p.map(|p| acc + p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_rules() {
        assert_eq!(combine(EMPTY, 3), 3);
        assert_eq!(combine(3, EMPTY), 3);
        assert_eq!(combine(3, 3), 3); // identical duplicates count once
        assert_eq!(combine(3, 2), CONFLICT); // conflicting duplicates
        assert_eq!(combine(CONFLICT, 2), CONFLICT);
        assert_eq!(combine(2, CONFLICT), CONFLICT);
        assert_eq!(combine(CONFLICT, EMPTY), CONFLICT);
    }

    #[test]
    fn combine_is_a_join() {
        let codes = [EMPTY, 1, 2, 3, 4, CONFLICT];
        for a in codes {
            assert_eq!(combine(a, a), a);
            for b in codes {
                assert_eq!(combine(a, b), combine(b, a));
                for c in codes {
                    assert_eq!(combine(combine(a, b), c), combine(a, combine(b, c)));
                }
            }
        }
    }

    #[test]
    fn answers_and_conflicts() {
        let mut codes = [EMPTY; 3];
        record(&mut codes, 0, 0);
        record(&mut codes, 1, 2);
        record(&mut codes, 1, 1);
        assert_eq!(answer(&codes, 0), Some(0));
        assert_eq!(answer(&codes, 1), None); // conflict
        assert_eq!(answer(&codes, 2), None); // never answered
    }

    #[test]
    fn malformed_state_is_missing() {
        let mut codes = [EMPTY; 2];
        merge(&mut codes, &[7, 2]);
        assert_eq!(answer(&codes, 0), None);
        assert_eq!(answer(&codes, 1), Some(1));
    }

    #[test]
    fn numbered_items() {
        assert_eq!(numbered_item("rcads_07", "rcads_"), Some(7));
        assert_eq!(numbered_item("esq_12", "esq_"), Some(12));
        assert_eq!(numbered_item("rcads_7", "rcads_"), None);
        assert_eq!(numbered_item("rcads_007", "rcads_"), None);
        assert_eq!(numbered_item("rcads_x7", "rcads_"), None);
        assert_eq!(numbered_item("esq_01", "rcads_"), None);
    }

    #[test]
    fn prorate_rounds_half_up() {
        // SDQ worked example from domain.md: 1,1,2,2 answered of 5 -> 7.5 -> 8.
        assert_eq!(prorate(6, 4, 5), Some(8));
        // 1,1,1 of 5 -> 5.0 exactly.
        assert_eq!(prorate(3, 3, 5), Some(5));
        // 0,0,1 of 5 -> 1.666.. -> 2.
        assert_eq!(prorate(1, 3, 5), Some(2));
        // 0,0,0,1 of 5 -> 1.25 -> 1.
        assert_eq!(prorate(1, 4, 5), Some(1));
        // Complete scale: the plain sum.
        assert_eq!(prorate(7, 5, 5), Some(7));
        assert_eq!(prorate(0, 0, 5), None);
    }

    #[test]
    fn sum_all_propagates_null() {
        assert_eq!(sum_all(&[Some(1), Some(2)]), Some(3));
        assert_eq!(sum_all(&[Some(1), None]), None);
    }
}
