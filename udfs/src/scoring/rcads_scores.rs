//! `rcads_scores(item, value [, max_missing_per_scale])`: the Revised
//! Children's Anxiety and Depression Scale subscale and total raw scores of
//! one questionnaire.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, Volatility,
};

use super::accumulator::{
    coerce_args, literal_i64, state_fields, Questionnaire, Scorer, ScoresAccumulator,
    ScoresGroupsAccumulator,
};
use super::answers::{answer, numbered_item, prorate, record, sum_all, EMPTY};
use super::DOC_SECTION_SCORING;

const NAME: &str = "rcads_scores";
const USAGE: &str = "rcads_scores(item, value [, max_missing_per_scale])";
const SLOTS: usize = 47;
/// Default missing-item allowance per scale (domain.md: the official rule
/// could not be confirmed; assumed default).
pub const DEFAULT_MAX_MISSING: u32 = 2;

/// Scale index of each item, rcads_01 first. Source: domain.md, RCADS table.
/// 0 separation anxiety, 1 generalised anxiety, 2 panic, 3 social phobia,
/// 4 OCD, 5 depression.
const SCALE_OF_ITEM: [u8; SLOTS] = {
    const SCALES: [&[usize]; 6] = [
        &[5, 9, 17, 18, 33, 45, 46],
        &[1, 13, 22, 27, 35, 37],
        &[3, 14, 24, 26, 28, 34, 36, 39, 41],
        &[4, 7, 8, 12, 20, 30, 32, 38, 43],
        &[10, 16, 23, 31, 42, 44],
        &[2, 6, 11, 15, 19, 21, 25, 29, 40, 47],
    ];
    let mut table = [u8::MAX; SLOTS];
    let mut s = 0;
    while s < SCALES.len() {
        let mut i = 0;
        while i < SCALES[s].len() {
            table[SCALES[s][i] - 1] = s as u8;
            i += 1;
        }
        s += 1;
    }
    table
};

/// Number of items in each scale.
const SCALE_SIZE: [i64; 6] = [7, 6, 9, 9, 6, 10];

/// The raw scores of one RCADS questionnaire; `None` (SQL NULL) when too
/// many items are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RcadsScores {
    pub separation_anxiety: Option<i64>,
    pub generalised_anxiety: Option<i64>,
    pub panic: Option<i64>,
    pub social_phobia: Option<i64>,
    pub ocd: Option<i64>,
    pub depression: Option<i64>,
    pub total_anxiety: Option<i64>,
    pub total: Option<i64>,
}

/// The answers of one RCADS questionnaire (the scoring kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RcadsAnswers {
    codes: [u8; SLOTS],
}

impl Default for RcadsAnswers {
    fn default() -> Self {
        Self::new()
    }
}

impl RcadsAnswers {
    /// No answers yet.
    pub const fn new() -> Self {
        Self {
            codes: [EMPTY; SLOTS],
        }
    }

    /// Add one `(item, value)` row. NULL values, values outside 0..=3 and
    /// item codes other than `rcads_01` .. `rcads_47` are ignored; a second,
    /// different valid answer to the same item makes the item missing.
    pub fn update(&mut self, item: &str, value: Option<i32>) {
        if let Some((slot, v)) = value.and_then(|v| Self::encode(item, v)) {
            record(&mut self.codes, slot, v);
        }
    }

    /// Merge the answers of another part of the same questionnaire.
    pub fn merge(&mut self, other: &Self) {
        super::answers::merge(&mut self.codes, &other.codes);
    }

    /// Score the questionnaire, prorating a scale with at most
    /// `max_missing` missing items.
    pub fn finish(&self, max_missing: u32) -> RcadsScores {
        let mut sum = [0i64; 6];
        let mut answered = [0i64; 6];
        for (slot, &scale) in SCALE_OF_ITEM.iter().enumerate() {
            if let Some(v) = answer(&self.codes, slot) {
                sum[usize::from(scale)] += i64::from(v);
                answered[usize::from(scale)] += 1;
            }
        }
        let scale = |s: usize| {
            if SCALE_SIZE[s] - answered[s] <= i64::from(max_missing) {
                prorate(sum[s], answered[s], SCALE_SIZE[s])
            } else {
                None
            }
        };
        let scales = [scale(0), scale(1), scale(2), scale(3), scale(4), scale(5)];
        let total_anxiety = sum_all(&scales[..5]);
        RcadsScores {
            separation_anxiety: scales[0],
            generalised_anxiety: scales[1],
            panic: scales[2],
            social_phobia: scales[3],
            ocd: scales[4],
            depression: scales[5],
            total_anxiety,
            total: sum_all(&[total_anxiety, scales[5]]),
        }
    }
}

impl Questionnaire for RcadsAnswers {
    const SLOTS: usize = SLOTS;

    fn empty() -> Self {
        Self::new()
    }

    #[inline]
    fn slot(item: &str) -> Option<usize> {
        numbered_item(item, "rcads_")
            .filter(|n| (1..=SLOTS).contains(n))
            .map(|n| n - 1)
    }

    #[inline]
    fn answer(_slot: usize, value: i32) -> Option<u8> {
        u8::try_from(value).ok().filter(|v| *v <= 3)
    }

    fn codes(&self) -> &[u8] {
        &self.codes
    }

    fn codes_mut(&mut self) -> &mut [u8] {
        &mut self.codes
    }
}

const FIELDS: [&str; 8] = [
    "separation_anxiety",
    "generalised_anxiety",
    "panic",
    "social_phobia",
    "ocd",
    "depression",
    "total_anxiety",
    "total",
];

fn fields() -> Fields {
    FIELDS
        .iter()
        .map(|name| Field::new(*name, DataType::Int64, true))
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct RcadsScorer {
    max_missing: u32,
}

impl Scorer for RcadsScorer {
    const NAME: &'static str = NAME;
    type Answers = RcadsAnswers;

    fn evaluate(&self, answers: &[RcadsAnswers]) -> Result<ArrayRef> {
        let scores: Vec<RcadsScores> = answers.iter().map(|a| a.finish(self.max_missing)).collect();
        let column = |f: fn(&RcadsScores) -> Option<i64>| -> ArrayRef {
            Arc::new(scores.iter().map(f).collect::<Int64Array>())
        };
        let columns = vec![
            column(|s| s.separation_anxiety),
            column(|s| s.generalised_anxiety),
            column(|s| s.panic),
            column(|s| s.social_phobia),
            column(|s| s.ocd),
            column(|s| s.depression),
            column(|s| s.total_anxiety),
            column(|s| s.total),
        ];
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }
}

/// The scorer for a call: reads the optional allowance literal.
fn scorer(args: &AccumulatorArgs) -> Result<RcadsScorer> {
    let max_missing = match args.exprs.get(2) {
        None => DEFAULT_MAX_MISSING,
        Some(expr) => match literal_i64(NAME, "max_missing_per_scale", expr)? {
            None => return plan_err!("{NAME}: max_missing_per_scale must not be NULL"),
            Some(v) if v < 0 => {
                return plan_err!("{NAME}: max_missing_per_scale must be >= 0, got {v}")
            }
            // Any allowance of at least the largest scale (10 items) allows
            // everything; clamp so the value fits.
            Some(v) => u32::try_from(v.min(1000)).unwrap_or(1000),
        },
    };
    Ok(RcadsScorer { max_missing })
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_SCORING,
        "Scores one Revised Children's Anxiety and Depression Scale (RCADS or RCADS-P) \
         questionnaire from its item rows. Returns a struct of nullable Int64 raw scores: \
         `separation_anxiety`, `generalised_anxiety`, `panic`, `social_phobia`, `ocd`, \
         `depression`, `total_anxiety` (the five anxiety scales, 0-111) and `total` (all six, \
         0-141).\n\n\
         Items `rcads_01` .. `rcads_47` are answered 0-3; none is reverse-scored. A scale with at \
         most `max_missing_per_scale` missing items (default 2: the official rule could not be \
         confirmed, so this is an assumed default) is prorated: mean of the answered items x \
         number of items, rounded half up; with more missing it is NULL. The totals are NULL \
         when any part is NULL.\n\n\
         Missing answers: NULL values, values outside 0-3 and other item codes are ignored. \
         Duplicate rows for one item: identical values count once; different valid values make \
         the item missing. The result therefore does not depend on row order.",
        "rcads_scores(item, value [, max_missing_per_scale])",
    )
    .with_argument(
        "item",
        "RCADS item code `rcads_01` .. `rcads_47`: Utf8, LargeUtf8 or Utf8View.",
    )
    .with_argument(
        "value",
        "The item's answer (0 never .. 3 always), an integer.",
    )
    .with_argument(
        "max_missing_per_scale",
        "Optional constant integer >= 0: the most missing items a scale may have and still be \
         prorated. Default 2.",
    )
    .with_sql_example(
        r#"```sql
> SELECT s['generalised_anxiety'] AS gad, s['ocd'] AS ocd, s['total'] AS total
  FROM (SELECT rcads_scores(item, value) AS s
        FROM (VALUES ('rcads_01', 1), ('rcads_13', 2), ('rcads_22', 2), ('rcads_27', 3),
                     ('rcads_10', 1)) AS t(item, value));
+-----+-----+-------+
| gad | ocd | total |
+-----+-----+-------+
| 12  |     |       |
+-----+-----+-------+
```"#,
    )
    .with_related_udf("sdq_scores")
    .with_related_udf("esq_scores")
    .build()
});

/// The `rcads_scores` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RcadsScoresFunc {
    signature: Signature,
}

impl Default for RcadsScoresFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl RcadsScoresFunc {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for RcadsScoresFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_args(NAME, USAGE, arg_types, 1)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ScoresAccumulator::new(scorer(&args)?)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields::<RcadsScorer>(args.name))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(ScoresGroupsAccumulator::new(scorer(&args)?)))
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

    fn item(n: usize) -> String {
        format!("rcads_{n:02}")
    }

    fn answers(rows: &[(usize, i32)]) -> RcadsAnswers {
        let mut a = RcadsAnswers::new();
        for &(n, v) in rows {
            a.update(&item(n), Some(v));
        }
        a
    }

    /// Items of scale `s` (1-based item numbers).
    fn scale_items(s: u8) -> Vec<usize> {
        (1..=SLOTS).filter(|&n| SCALE_OF_ITEM[n - 1] == s).collect()
    }

    #[test]
    fn every_item_in_exactly_one_scale() {
        assert!(SCALE_OF_ITEM.iter().all(|&s| s < 6));
        for (s, &size) in SCALE_SIZE.iter().enumerate() {
            assert_eq!(scale_items(s as u8).len() as i64, size);
        }
        assert_eq!(SCALE_SIZE.iter().sum::<i64>(), 47);
        assert_eq!(scale_items(5), [2, 6, 11, 15, 19, 21, 25, 29, 40, 47]);
    }

    #[test]
    fn complete_form() {
        // Every item 1: each scale = its item count; anxiety 7+6+9+9+6 = 37;
        // total 37 + 10 = 47.
        let a = answers(&(1..=47).map(|n| (n, 1)).collect::<Vec<_>>());
        let s = a.finish(DEFAULT_MAX_MISSING);
        assert_eq!(s.separation_anxiety, Some(7));
        assert_eq!(s.depression, Some(10));
        assert_eq!(s.total_anxiety, Some(37));
        assert_eq!(s.total, Some(47));
        // Every item 3: maxima 111 and 141 (domain.md).
        let a = answers(&(1..=47).map(|n| (n, 3)).collect::<Vec<_>>());
        let s = a.finish(DEFAULT_MAX_MISSING);
        assert_eq!((s.total_anxiety, s.total), (Some(111), Some(141)));
    }

    #[test]
    fn allowance_edges() {
        // GAD (6 items: 1, 13, 22, 27, 35, 37). 4 answered (2 missing):
        // 1,2,2,3 -> mean 2 x 6 = 12.
        let a = answers(&[(1, 1), (13, 2), (22, 2), (27, 3)]);
        assert_eq!(a.finish(2).generalised_anxiety, Some(12));
        // 3 answered (3 missing): NULL with the default allowance.
        let a = answers(&[(1, 1), (13, 2), (22, 2)]);
        assert_eq!(a.finish(2).generalised_anxiety, None);
        // Custom allowance 3: 1,2,2 -> mean 5/3 x 6 = 10.
        assert_eq!(a.finish(3).generalised_anxiety, Some(10));
        // Allowance 0: only complete scales.
        let a = answers(&[(1, 1), (13, 2), (22, 2), (27, 3), (35, 0)]);
        assert_eq!(a.finish(0).generalised_anxiety, None);
        // 5 of 6: 1,2,2,3,0 -> 8/5 x 6 = 9.6 -> 10.
        assert_eq!(a.finish(1).generalised_anxiety, Some(10));
        // An allowance larger than the scale never divides by zero.
        assert_eq!(RcadsAnswers::new().finish(100), RcadsScores::default());
    }

    #[test]
    fn rounding_half_up() {
        // Separation anxiety (7 items: 5, 9, 17, 18, 33, 45, 46). 6 answered
        // 0,0,0,0,1,2: mean 0.5 x 7 = 3.5 -> 4.
        let a = answers(&[(5, 0), (9, 0), (17, 0), (18, 0), (33, 1), (45, 2)]);
        assert_eq!(a.finish(2).separation_anxiety, Some(4));
        // Depression (10 items). 8 answered summing 3: 3/8 x 10 = 3.75 -> 4.
        let dep = scale_items(5);
        let rows: Vec<_> = dep[..8]
            .iter()
            .zip([1, 1, 1, 0, 0, 0, 0, 0])
            .map(|(&n, v)| (n, v))
            .collect();
        assert_eq!(answers(&rows).finish(2).depression, Some(4));
    }

    #[test]
    fn null_propagates_to_totals() {
        // Everything answered but 3 panic items: panic NULL -> both totals NULL.
        let panic = scale_items(2);
        let rows: Vec<_> = (1..=47)
            .filter(|n| !panic[..3].contains(n))
            .map(|n| (n, 1))
            .collect();
        let s = answers(&rows).finish(2);
        assert_eq!(s.panic, None);
        assert_eq!(s.total_anxiety, None);
        assert_eq!(s.total, None);
        assert_eq!(s.depression, Some(10));
        // Only depression missing: anxiety total scored, total NULL.
        let dep = scale_items(5);
        let rows: Vec<_> = (1..=47)
            .filter(|n| !dep[..3].contains(n))
            .map(|n| (n, 1))
            .collect();
        let s = answers(&rows).finish(2);
        assert_eq!((s.total_anxiety, s.total), (Some(37), None));
    }

    #[test]
    fn invalid_rows_are_missing() {
        let mut a = RcadsAnswers::new();
        for (item, v) in [
            ("rcads_01", Some(4)),
            ("rcads_13", Some(-1)),
            ("rcads_00", Some(1)),
            ("rcads_48", Some(1)),
            ("rcads_1", Some(1)),
            ("rcads_22", None),
        ] {
            a.update(item, v);
        }
        assert_eq!(a, RcadsAnswers::new());
        // Conflicting duplicates make the item missing.
        let a = answers(&[(1, 1), (1, 2), (13, 2), (22, 2), (27, 3), (35, 0)]);
        // 13,22,27,35 answered: 7/4 x 6 = 10.5 -> 11.
        assert_eq!(a.finish(2).generalised_anxiety, Some(11));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn rows() -> impl Strategy<Value = Vec<(String, Option<i32>)>> {
            let item = prop_oneof![
                8 => (0usize..50).prop_map(|n| format!("rcads_{n:02}")),
                1 => "[a-z_0-9]{0,9}",
            ];
            let value =
                proptest::option::weighted(0.9, prop_oneof![4 => -1i32..5, 1 => any::<i32>()]);
            proptest::collection::vec((item, value), 0..120)
        }

        fn answers_of(rows: &[(String, Option<i32>)]) -> RcadsAnswers {
            let mut a = RcadsAnswers::new();
            for (item, v) in rows {
                a.update(item, *v);
            }
            a
        }

        fn parts(s: &RcadsScores) -> [Option<i64>; 8] {
            [
                s.separation_anxiety,
                s.generalised_anxiety,
                s.panic,
                s.social_phobia,
                s.ocd,
                s.depression,
                s.total_anxiety,
                s.total,
            ]
        }

        proptest! {
            #[test]
            fn row_order_does_not_matter(
                (rows, shuffled) in rows().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
                max_missing in 0u32..12,
            ) {
                prop_assert_eq!(answers_of(&rows).finish(max_missing), answers_of(&shuffled).finish(max_missing));
            }

            #[test]
            fn any_input_scores_in_range(rows in rows(), max_missing in 0u32..12) {
                let s = answers_of(&rows).finish(max_missing);
                let maxima = [21, 18, 27, 27, 18, 30, 111, 141];
                for (v, max) in parts(&s).into_iter().zip(maxima) {
                    prop_assert!(v.is_none_or(|v| (0..=max).contains(&v)));
                }
            }

            /// A larger allowance never loses a score and never changes one.
            #[test]
            fn allowance_is_monotone(rows in rows(), max_missing in 0u32..11) {
                let a = answers_of(&rows);
                let (strict, lax) = (a.finish(max_missing), a.finish(max_missing + 1));
                for (s, l) in parts(&strict).into_iter().zip(parts(&lax)) {
                    if s.is_some() {
                        prop_assert_eq!(s, l);
                    }
                }
            }
        }
    }
}
