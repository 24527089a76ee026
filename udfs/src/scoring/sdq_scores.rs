//! `sdq_scores(item, value)`: the Strengths and Difficulties Questionnaire
//! scale scores, total difficulties and impact of one questionnaire.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, Volatility,
};

use super::accumulator::{
    coerce_args, state_fields, Questionnaire, Scorer, ScoresAccumulator, ScoresGroupsAccumulator,
};
use super::answers::{answer, prorate, record, sum_all, EMPTY};
use super::DOC_SECTION_SCORING;

const NAME: &str = "sdq_scores";
const USAGE: &str = "sdq_scores(item, value)";

/// The five SDQ scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    Emotional = 0,
    Conduct = 1,
    Hyperactivity = 2,
    Peer = 3,
    Prosocial = 4,
}

use Scale::{Conduct, Emotional, Hyperactivity, Peer, Prosocial};

/// The 25 scale items in form order: (code, scale, reverse-scored).
/// Source: domain.md, SDQ item table.
const ITEMS: [(&str, Scale, bool); 25] = [
    ("consid", Prosocial, false),
    ("restles", Hyperactivity, false),
    ("somatic", Emotional, false),
    ("shares", Prosocial, false),
    ("tantrum", Conduct, false),
    ("loner", Peer, false),
    ("obeys", Conduct, true),
    ("worries", Emotional, false),
    ("caring", Prosocial, false),
    ("fidgety", Hyperactivity, false),
    ("friend", Peer, true),
    ("fights", Conduct, false),
    ("unhappy", Emotional, false),
    ("popular", Peer, true),
    ("distrac", Hyperactivity, false),
    ("clingy", Emotional, false),
    ("kind", Prosocial, false),
    ("lies", Conduct, false),
    ("bullied", Peer, false),
    ("helpout", Prosocial, false),
    ("reflect", Hyperactivity, true),
    ("steals", Conduct, false),
    ("oldbest", Peer, false),
    ("afraid", Emotional, false),
    ("attends", Hyperactivity, true),
];

/// Slots 25..30: the impact items (parent form; the teacher form has only
/// distres, impfrie and impclas), each 0..=3.
const IMPACT_ITEMS: [&str; 5] = ["distres", "imphome", "impfrie", "impclas", "impleis"];
const FIRST_IMPACT: usize = 25;
/// Slot 30: `ebddiff`, overall difficulties 0..=3.
const EBDDIFF: usize = 30;
const SLOTS: usize = 31;

/// Items per scale.
const SCALE_ITEMS: i64 = 5;
/// A scale is scored when at least this many of its items are answered.
const MIN_ANSWERED: i64 = 3;

/// Slot of an SDQ item code; `None` for codes that are not scored
/// (`better`, `helpful`, anything unknown).
#[inline]
fn slot(item: &str) -> Option<usize> {
    Some(match item {
        "consid" => 0,
        "restles" => 1,
        "somatic" => 2,
        "shares" => 3,
        "tantrum" => 4,
        "loner" => 5,
        "obeys" => 6,
        "worries" => 7,
        "caring" => 8,
        "fidgety" => 9,
        "friend" => 10,
        "fights" => 11,
        "unhappy" => 12,
        "popular" => 13,
        "distrac" => 14,
        "clingy" => 15,
        "kind" => 16,
        "lies" => 17,
        "bullied" => 18,
        "helpout" => 19,
        "reflect" => 20,
        "steals" => 21,
        "oldbest" => 22,
        "afraid" => 23,
        "attends" => 24,
        "distres" => 25,
        "imphome" => 26,
        "impfrie" => 27,
        "impclas" => 28,
        "impleis" => 29,
        "ebddiff" => 30,
        _ => return None,
    })
}

/// The scores of one SDQ questionnaire. Each is `None` (SQL NULL) when the
/// scoring rules make it unscorable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SdqScores {
    pub emotional: Option<i64>,
    pub conduct: Option<i64>,
    pub hyperactivity: Option<i64>,
    pub peer: Option<i64>,
    pub prosocial: Option<i64>,
    pub total_difficulties: Option<i64>,
    pub externalising: Option<i64>,
    pub internalising: Option<i64>,
    pub impact: Option<i64>,
}

/// The answers of one SDQ questionnaire (the scoring kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SdqAnswers {
    codes: [u8; SLOTS],
}

impl Default for SdqAnswers {
    fn default() -> Self {
        Self::new()
    }
}

impl SdqAnswers {
    /// No answers yet.
    pub const fn new() -> Self {
        Self {
            codes: [EMPTY; SLOTS],
        }
    }

    /// Add one `(item, value)` row. NULL values, unknown items and values
    /// out of range (scale items 0..=2, impact items and `ebddiff` 0..=3)
    /// are missing answers and change nothing. A second, different valid
    /// answer to the same item makes the item missing.
    pub fn update(&mut self, item: &str, value: Option<i32>) {
        if let Some((slot, v)) = value.and_then(|v| Self::encode(item, v)) {
            record(&mut self.codes, slot, v);
        }
    }

    /// Merge the answers of another part of the same questionnaire.
    pub fn merge(&mut self, other: &Self) {
        super::answers::merge(&mut self.codes, &other.codes);
    }

    /// Score the questionnaire.
    pub fn finish(&self) -> SdqScores {
        let mut sum = [0i64; 5];
        let mut answered = [0i64; 5];
        for (slot, &(_, scale, reverse)) in ITEMS.iter().enumerate() {
            if let Some(v) = answer(&self.codes, slot) {
                let v = i64::from(v);
                sum[scale as usize] += if reverse { 2 - v } else { v };
                answered[scale as usize] += 1;
            }
        }
        let scale = |s: Scale| {
            let (sum, n) = (sum[s as usize], answered[s as usize]);
            if n >= MIN_ANSWERED {
                prorate(sum, n, SCALE_ITEMS)
            } else {
                None
            }
        };
        let (emotional, conduct, hyperactivity, peer) = (
            scale(Emotional),
            scale(Conduct),
            scale(Hyperactivity),
            scale(Peer),
        );
        SdqScores {
            emotional,
            conduct,
            hyperactivity,
            peer,
            prosocial: scale(Prosocial),
            total_difficulties: sum_all(&[emotional, conduct, hyperactivity, peer]),
            externalising: sum_all(&[conduct, hyperactivity]),
            internalising: sum_all(&[emotional, peer]),
            impact: self.impact(),
        }
    }

    /// Impact supplement: 0 when `ebddiff` = 0; otherwise the recoded sum
    /// of the answered impact items, NULL when none is answered.
    fn impact(&self) -> Option<i64> {
        if answer(&self.codes, EBDDIFF) == Some(0) {
            return Some(0);
        }
        let mut any = false;
        let mut total = 0;
        for slot in FIRST_IMPACT..FIRST_IMPACT + IMPACT_ITEMS.len() {
            if let Some(v) = answer(&self.codes, slot) {
                any = true;
                // Recode 0,1 -> 0; 2 -> 1; 3 -> 2.
                total += i64::from(v.saturating_sub(1));
            }
        }
        any.then_some(total)
    }
}

impl Questionnaire for SdqAnswers {
    const SLOTS: usize = SLOTS;

    fn empty() -> Self {
        Self::new()
    }

    #[inline]
    fn slot(item: &str) -> Option<usize> {
        slot(item)
    }

    #[inline]
    fn answer(slot: usize, value: i32) -> Option<u8> {
        let max = if slot < FIRST_IMPACT { 2 } else { 3 };
        u8::try_from(value).ok().filter(|v| *v <= max)
    }

    fn codes(&self) -> &[u8] {
        &self.codes
    }

    fn codes_mut(&mut self) -> &mut [u8] {
        &mut self.codes
    }
}

const FIELDS: [&str; 9] = [
    "emotional",
    "conduct",
    "hyperactivity",
    "peer",
    "prosocial",
    "total_difficulties",
    "externalising",
    "internalising",
    "impact",
];

fn fields() -> Fields {
    FIELDS
        .iter()
        .map(|name| Field::new(*name, DataType::Int64, true))
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct SdqScorer;

impl Scorer for SdqScorer {
    const NAME: &'static str = NAME;
    type Answers = SdqAnswers;

    fn evaluate(&self, answers: &[SdqAnswers]) -> Result<ArrayRef> {
        let scores: Vec<SdqScores> = answers.iter().map(SdqAnswers::finish).collect();
        let column = |f: fn(&SdqScores) -> Option<i64>| -> ArrayRef {
            Arc::new(scores.iter().map(f).collect::<Int64Array>())
        };
        let columns = vec![
            column(|s| s.emotional),
            column(|s| s.conduct),
            column(|s| s.hyperactivity),
            column(|s| s.peer),
            column(|s| s.prosocial),
            column(|s| s.total_difficulties),
            column(|s| s.externalising),
            column(|s| s.internalising),
            column(|s| s.impact),
        ];
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_SCORING,
        "Scores one Strengths and Difficulties Questionnaire (SDQ) from its item rows. \
         Returns a struct of nullable Int64: `emotional`, `conduct`, `hyperactivity`, `peer`, \
         `prosocial` (0-10 each), `total_difficulties` (0-40), `externalising` and \
         `internalising` (0-20) and `impact` (0-10; teacher form 0-6).\n\n\
         Scale items are answered 0-2 (`obeys`, `friend`, `popular`, `reflect`, `attends` are \
         reverse-scored). A scale is scored when at least 3 of its 5 items are answered: \
         mean x 5 rounded half up (1,1,2,2 -> 7.5 -> 8); otherwise NULL. The totals are NULL \
         when any part is NULL; prosocial is not part of them.\n\n\
         Impact: `distres`, `imphome`, `impfrie`, `impclas`, `impleis` (0-3) recoded \
         0,1 -> 0; 2 -> 1; 3 -> 2 and summed over the answered items (teacher forms, which \
         lack `imphome` and `impleis`, need no special handling); NULL when none is answered; \
         0 when `ebddiff` = 0.\n\n\
         Missing answers: NULL values, values out of range (scale items outside 0-2, impact \
         items and `ebddiff` outside 0-3) and item codes that are not scored (`better`, \
         `helpful`, unknown codes) are ignored. Duplicate rows for one item: identical values \
         count once; different valid values make the item missing. The result therefore does \
         not depend on row order, and `DISTINCT` changes nothing.",
        "sdq_scores(item, value)",
    )
    .with_argument(
        "item",
        "SDQ item code (`consid`, `restles`, ... `attends`, `ebddiff`, `distres`, ...): Utf8, LargeUtf8 or Utf8View.",
    )
    .with_argument("value", "The item's raw answer, an integer.")
    .with_sql_example(
        r#"```sql
> SELECT s['emotional'] AS emotional, s['peer'] AS peer, s['total_difficulties'] AS total, s['impact'] AS impact
  FROM (SELECT sdq_scores(item, value) AS s
        FROM (VALUES ('somatic', 1), ('worries', 1), ('unhappy', 2), ('clingy', 2),
                     ('loner', 0), ('friend', 2), ('popular', 1), ('bullied', 0), ('oldbest', 1),
                     ('ebddiff', 0)) AS t(item, value));
+-----------+------+-------+--------+
| emotional | peer | total | impact |
+-----------+------+-------+--------+
| 8         | 2    |       | 0      |
+-----------+------+-------+--------+
```"#,
    )
    .with_related_udf("rcads_scores")
    .with_related_udf("esq_scores")
    .build()
});

/// The `sdq_scores` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SdqScoresFunc {
    signature: Signature,
}

impl Default for SdqScoresFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl SdqScoresFunc {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for SdqScoresFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_args(NAME, USAGE, arg_types, 0)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ScoresAccumulator::new(SdqScorer)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields::<SdqScorer>(args.name))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(ScoresGroupsAccumulator::new(SdqScorer)))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(rows: &[(&str, i32)]) -> SdqScores {
        let mut a = SdqAnswers::new();
        for &(item, value) in rows {
            a.update(item, Some(value));
        }
        a.finish()
    }

    /// All 25 scale items answered `value` (not reversed: raw value).
    fn all_items(value: i32) -> Vec<(&'static str, i32)> {
        ITEMS.iter().map(|&(code, _, _)| (code, value)).collect()
    }

    #[test]
    fn item_table_matches_lookup() {
        for (i, &(code, _, _)) in ITEMS.iter().enumerate() {
            assert_eq!(slot(code), Some(i), "{code}");
        }
        for (i, code) in IMPACT_ITEMS.iter().enumerate() {
            assert_eq!(slot(code), Some(FIRST_IMPACT + i), "{code}");
        }
        assert_eq!(slot("ebddiff"), Some(EBDDIFF));
        for scale in [Emotional, Conduct, Hyperactivity, Peer, Prosocial] {
            let items = ITEMS.iter().filter(|i| i.1 == scale).count();
            assert_eq!(items, 5, "{scale:?}");
        }
        let reversed: Vec<_> = ITEMS.iter().filter(|i| i.2).map(|i| i.0).collect();
        assert_eq!(
            reversed,
            ["obeys", "friend", "popular", "reflect", "attends"]
        );
    }

    #[test]
    fn full_form_sums() {
        // All items 1: reversed 1 stays 1, so each scale = 5, total = 20.
        let s = score(&all_items(1));
        assert_eq!(s.emotional, Some(5));
        assert_eq!(s.prosocial, Some(5));
        assert_eq!(s.total_difficulties, Some(20));
        assert_eq!(s.externalising, Some(10));
        assert_eq!(s.internalising, Some(10));
        // All items 2: each scale has one reversed item except emotional and
        // prosocial: emotional 10; conduct 4*2 + 0 = 8; hyperactivity
        // 3*2 + 0 + 0 = 6 (reflect, attends reversed); peer 3*2 + 0 + 0 = 6
        // (friend, popular reversed); prosocial 10.
        let s = score(&all_items(2));
        assert_eq!(
            (s.emotional, s.conduct, s.hyperactivity, s.peer, s.prosocial),
            (Some(10), Some(8), Some(6), Some(6), Some(10))
        );
        assert_eq!(s.total_difficulties, Some(30));
        assert_eq!(s.externalising, Some(14));
        assert_eq!(s.internalising, Some(16));
    }

    #[test]
    fn prorating_worked_example() {
        // domain.md: answers 1,1,2,2 and one missing -> 7.5 -> 8.
        let s = score(&[
            ("somatic", 1),
            ("worries", 1),
            ("unhappy", 2),
            ("clingy", 2),
        ]);
        assert_eq!(s.emotional, Some(8));
    }

    #[test]
    fn prorating_three_of_five() {
        // 0,1,1 answered: mean 2/3 x 5 = 3.33 -> 3.
        let s = score(&[("somatic", 0), ("worries", 1), ("unhappy", 1)]);
        assert_eq!(s.emotional, Some(3));
        // 1,1,2: mean 4/3 x 5 = 6.67 -> 7.
        let s = score(&[("somatic", 1), ("worries", 1), ("unhappy", 2)]);
        assert_eq!(s.emotional, Some(7));
        // 0,0,1,1: mean 0.5 x 5 = 2.5 -> 3 (half up, not to even).
        let s = score(&[
            ("somatic", 0),
            ("worries", 0),
            ("unhappy", 1),
            ("clingy", 1),
        ]);
        assert_eq!(s.emotional, Some(3));
    }

    #[test]
    fn two_of_five_is_null() {
        let s = score(&[("somatic", 2), ("worries", 2)]);
        assert_eq!(s.emotional, None);
    }

    #[test]
    fn reverse_items() {
        // Conduct: tantrum 0, fights 0, lies 0, steals 0, obeys 0 (reversed -> 2).
        let s = score(&[
            ("tantrum", 0),
            ("fights", 0),
            ("lies", 0),
            ("steals", 0),
            ("obeys", 0),
        ]);
        assert_eq!(s.conduct, Some(2));
        // obeys 2 (reversed -> 0): conduct 0.
        let s = score(&[
            ("tantrum", 0),
            ("fights", 0),
            ("lies", 0),
            ("steals", 0),
            ("obeys", 2),
        ]);
        assert_eq!(s.conduct, Some(0));
        // Peer with friend 0, popular 0 (both -> 2), loner 1, bullied 0, oldbest 0 = 5.
        let s = score(&[
            ("friend", 0),
            ("popular", 0),
            ("loner", 1),
            ("bullied", 0),
            ("oldbest", 0),
        ]);
        assert_eq!(s.peer, Some(5));
        // Hyperactivity: reflect 0, attends 0 (-> 2 each), restles 1, fidgety 0, distrac 0 = 5.
        let s = score(&[
            ("reflect", 0),
            ("attends", 0),
            ("restles", 1),
            ("fidgety", 0),
            ("distrac", 0),
        ]);
        assert_eq!(s.hyperactivity, Some(5));
    }

    #[test]
    fn null_propagates_to_totals() {
        // All items but two peer items: peer has 3 of 5, still scored.
        let rows: Vec<_> = all_items(1)
            .into_iter()
            .filter(|(c, _)| !matches!(*c, "loner" | "bullied"))
            .collect();
        assert_eq!(score(&rows).total_difficulties, Some(20));
        // Drop a third peer item: peer NULL -> total and internalising NULL,
        // externalising and prosocial still scored.
        let rows: Vec<_> = rows.into_iter().filter(|(c, _)| *c != "oldbest").collect();
        let s = score(&rows);
        assert_eq!(s.peer, None);
        assert_eq!(s.total_difficulties, None);
        assert_eq!(s.internalising, None);
        assert_eq!(s.externalising, Some(10));
        assert_eq!(s.prosocial, Some(5));
    }

    #[test]
    fn impact_recode() {
        // 0,1 -> 0; 2 -> 1; 3 -> 2: 0 + 0 + 1 + 2 + 2 = 5.
        let s = score(&[
            ("ebddiff", 2),
            ("distres", 0),
            ("imphome", 1),
            ("impfrie", 2),
            ("impclas", 3),
            ("impleis", 3),
        ]);
        assert_eq!(s.impact, Some(5));
        // Missing items count 0: 2 + 1 = 3.
        let s = score(&[("ebddiff", 3), ("distres", 3), ("impclas", 2)]);
        assert_eq!(s.impact, Some(3));
        // No impact item answered: NULL, even with ebddiff > 0.
        assert_eq!(score(&[("ebddiff", 2)]).impact, None);
        assert_eq!(score(&all_items(1)).impact, None);
        // Without ebddiff, the impact items still score.
        assert_eq!(score(&[("distres", 3)]).impact, Some(2));
    }

    #[test]
    fn ebddiff_zero_means_no_impact() {
        // ebddiff = 0: impact is 0 whether or not impact items were answered.
        assert_eq!(score(&[("ebddiff", 0)]).impact, Some(0));
        assert_eq!(score(&[("ebddiff", 0), ("distres", 3)]).impact, Some(0));
        // ebddiff = 1 (minor): the items count.
        assert_eq!(score(&[("ebddiff", 1), ("distres", 3)]).impact, Some(2));
    }

    #[test]
    fn teacher_impact_items_only() {
        // Teacher form: distres 3 (2), impfrie 2 (1), impclas 3 (2) = 5 of 6.
        let s = score(&[
            ("ebddiff", 2),
            ("distres", 3),
            ("impfrie", 2),
            ("impclas", 3),
        ]);
        assert_eq!(s.impact, Some(5));
    }

    #[test]
    fn out_of_range_is_missing() {
        // 3 is out of range for a scale item: emotional has 2 valid answers -> NULL.
        let s = score(&[("somatic", 2), ("worries", 2), ("unhappy", 3)]);
        assert_eq!(s.emotional, None);
        // Negative and huge values likewise.
        let s = score(&[
            ("somatic", 1),
            ("worries", -1),
            ("unhappy", i32::MAX),
            ("clingy", 1),
        ]);
        assert_eq!(s.emotional, None);
        // Impact items accept 3 but not 4; ebddiff 4 is not "0".
        let s = score(&[("distres", 4), ("ebddiff", 4)]);
        assert_eq!(s.impact, None);
        // An out-of-range duplicate does not conflict with a valid answer.
        let s = score(&[
            ("somatic", 1),
            ("somatic", 7),
            ("worries", 1),
            ("unhappy", 1),
        ]);
        assert_eq!(s.emotional, Some(5));
    }

    #[test]
    fn unscored_and_unknown_items_are_ignored() {
        let base = [("somatic", 1), ("worries", 1), ("unhappy", 1)];
        let mut rows = base.to_vec();
        rows.extend([
            ("better", 4),
            ("helpful", 3),
            ("SOMATIC", 2),
            ("rcads_01", 2),
            ("", 0),
        ]);
        assert_eq!(score(&rows), score(&base));
    }

    #[test]
    fn duplicates() {
        // Identical duplicate counts once: 1,1,1 -> 5.
        let s = score(&[
            ("somatic", 1),
            ("somatic", 1),
            ("worries", 1),
            ("unhappy", 1),
        ]);
        assert_eq!(s.emotional, Some(5));
        // Conflicting duplicate: somatic missing -> 2 answered -> NULL.
        let s = score(&[
            ("somatic", 1),
            ("somatic", 2),
            ("worries", 1),
            ("unhappy", 1),
        ]);
        assert_eq!(s.emotional, None);
        // A NULL duplicate is just a missing answer.
        let mut a = SdqAnswers::new();
        for (item, v) in [
            ("somatic", Some(1)),
            ("somatic", None),
            ("worries", Some(1)),
            ("unhappy", Some(1)),
        ] {
            a.update(item, v);
        }
        assert_eq!(a.finish().emotional, Some(5));
    }

    #[test]
    fn empty_questionnaire_is_all_null() {
        assert_eq!(SdqAnswers::new().finish(), SdqScores::default());
    }

    #[test]
    fn merge_equals_single_pass() {
        let rows = all_items(2);
        let mut whole = SdqAnswers::new();
        let (mut left, mut right) = (SdqAnswers::new(), SdqAnswers::new());
        for (i, &(item, v)) in rows.iter().enumerate() {
            whole.update(item, Some(v));
            if i % 2 == 0 { &mut left } else { &mut right }.update(item, Some(v));
        }
        left.merge(&right);
        assert_eq!(left, whole);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Any of the 31 scored codes, `better`, or an unknown code.
        fn item() -> impl Strategy<Value = String> {
            prop_oneof![
                8 => (0..SLOTS).prop_map(|i| if i < 25 {
                    ITEMS[i].0.to_string()
                } else if i < EBDDIFF {
                    IMPACT_ITEMS[i - FIRST_IMPACT].to_string()
                } else {
                    "ebddiff".to_string()
                }),
                1 => Just("better".to_string()),
                1 => "[a-z_0-9]{0,10}",
            ]
        }

        fn rows() -> impl Strategy<Value = Vec<(String, Option<i32>)>> {
            proptest::collection::vec(
                (
                    item(),
                    proptest::option::weighted(0.9, prop_oneof![4 => -1i32..5, 1 => any::<i32>()]),
                ),
                0..80,
            )
        }

        fn score_rows(rows: &[(String, Option<i32>)]) -> SdqScores {
            let mut a = SdqAnswers::new();
            for (item, v) in rows {
                a.update(item, *v);
            }
            a.finish()
        }

        proptest! {
            #[test]
            fn row_order_does_not_matter(
                (rows, shuffled) in rows().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle()))
            ) {
                prop_assert_eq!(score_rows(&rows), score_rows(&shuffled));
            }

            #[test]
            fn split_and_merge_equals_one_pass(rows in rows(), at in any::<prop::sample::Index>()) {
                let at = at.index(rows.len() + 1);
                let (mut left, mut right, mut whole) = (SdqAnswers::new(), SdqAnswers::new(), SdqAnswers::new());
                for (i, (item, v)) in rows.iter().enumerate() {
                    whole.update(item, *v);
                    if i < at { &mut left } else { &mut right }.update(item, *v);
                }
                right.merge(&left);
                prop_assert_eq!(right, whole);
            }

            #[test]
            fn any_input_scores_in_range(rows in rows()) {
                let s = score_rows(&rows);
                for v in [s.emotional, s.conduct, s.hyperactivity, s.peer, s.prosocial, s.impact] {
                    prop_assert!(v.is_none_or(|v| (0..=10).contains(&v)));
                }
                prop_assert!(s.total_difficulties.is_none_or(|v| (0..=40).contains(&v)));
                prop_assert!(s.externalising.is_none_or(|v| (0..=20).contains(&v)));
                prop_assert!(s.internalising.is_none_or(|v| (0..=20).contains(&v)));
            }

            /// Mirroring every answer (a -> 2 - a) mirrors every scale
            /// (s -> 10 - s), which holds only if reverse-scored items are
            /// reversed exactly once.
            #[test]
            fn mirrored_form_mirrors_scales(answers in proptest::collection::vec(0i32..=2, 25)) {
                let form: Vec<_> = ITEMS.iter().zip(&answers).map(|(i, &a)| (i.0.to_string(), Some(a))).collect();
                let mirror: Vec<_> = ITEMS.iter().zip(&answers).map(|(i, &a)| (i.0.to_string(), Some(2 - a))).collect();
                let (s, m) = (score_rows(&form), score_rows(&mirror));
                for (a, b) in [(s.emotional, m.emotional), (s.conduct, m.conduct), (s.hyperactivity, m.hyperactivity), (s.peer, m.peer), (s.prosocial, m.prosocial)] {
                    prop_assert_eq!(a.map(|a| 10 - a), b);
                }
            }

            /// A reverse-scored item answered `2 - v` contributes `v`: the
            /// scale equals the plain sum of the other items plus `v`.
            #[test]
            fn reversing_a_reversed_item_gives_the_original(
                reversed in prop::sample::select(vec!["obeys", "friend", "popular", "reflect", "attends"]),
                v in 0i32..=2,
                others in proptest::collection::vec(0i32..=2, 4),
            ) {
                let scale = ITEMS.iter().find(|i| i.0 == reversed).unwrap().1;
                let mut rows = vec![(reversed.to_string(), Some(2 - v))];
                let plain: Vec<_> = ITEMS.iter().filter(|i| i.1 == scale && !i.2).collect();
                rows.extend(plain.iter().zip(&others).map(|(i, &a)| (i.0.to_string(), Some(a))));
                // Peer and hyperactivity have two reversed items: answer the
                // other one with 2 (contributing 0).
                for i in ITEMS.iter().filter(|i| i.1 == scale && i.2 && i.0 != reversed) {
                    rows.push((i.0.to_string(), Some(2)));
                }
                let expected = i64::from(v) + others.iter().take(plain.len()).map(|&a| i64::from(a)).sum::<i64>();
                let s = score_rows(&rows);
                let got = [s.emotional, s.conduct, s.hyperactivity, s.peer, s.prosocial][scale as usize];
                prop_assert_eq!(got, Some(expected));
            }
        }
    }
}
