//! `esq_scores(item, value)`: Experience of Service Questionnaire
//! satisfaction with care and with the environment for one questionnaire.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StructArray};
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
use super::answers::{answer, numbered_item, record, EMPTY};
use super::DOC_SECTION_SCORING;

const NAME: &str = "esq_scores";
const USAGE: &str = "esq_scores(item, value)";
const SLOTS: usize = 12;
/// Environment items (1-based): facilities, appointment times, easy to get
/// to. All other items (1-7, 11, 12) are about care. Source: domain.md.
const ENVIRONMENT: [usize; 3] = [8, 9, 10];

/// The scores of one ESQ questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EsqScores {
    /// Mean answer (0-2) over the answered care items; `None` when none.
    pub care: Option<f64>,
    /// Mean answer (0-2) over the answered environment items; `None` when none.
    pub environment: Option<f64>,
    /// Number of items 1-12 with a valid 0-2 answer.
    pub answered: i64,
}

/// The answers of one ESQ questionnaire (the scoring kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EsqAnswers {
    codes: [u8; SLOTS],
}

impl Default for EsqAnswers {
    fn default() -> Self {
        Self::new()
    }
}

impl EsqAnswers {
    /// No answers yet.
    pub const fn new() -> Self {
        Self {
            codes: [EMPTY; SLOTS],
        }
    }

    /// Add one `(item, value)` row. NULL, 9 (don't know) and any value
    /// outside 0..=2 are missing; item codes other than `esq_01` ..
    /// `esq_12` (e.g. the free-text items) are ignored; a second, different
    /// valid answer to the same item makes the item missing.
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
    pub fn finish(&self) -> EsqScores {
        let (mut care_sum, mut care_n, mut env_sum, mut env_n) = (0i64, 0i64, 0i64, 0i64);
        for slot in 0..SLOTS {
            if let Some(v) = answer(&self.codes, slot) {
                if ENVIRONMENT.contains(&(slot + 1)) {
                    env_sum += i64::from(v);
                    env_n += 1;
                } else {
                    care_sum += i64::from(v);
                    care_n += 1;
                }
            }
        }
        let mean = |sum: i64, n: i64| (n > 0).then(|| sum as f64 / n as f64);
        EsqScores {
            care: mean(care_sum, care_n),
            environment: mean(env_sum, env_n),
            answered: care_n + env_n,
        }
    }
}

impl Questionnaire for EsqAnswers {
    const SLOTS: usize = SLOTS;

    fn empty() -> Self {
        Self::new()
    }

    #[inline]
    fn slot(item: &str) -> Option<usize> {
        numbered_item(item, "esq_")
            .filter(|n| (1..=SLOTS).contains(n))
            .map(|n| n - 1)
    }

    #[inline]
    fn answer(_slot: usize, value: i32) -> Option<u8> {
        u8::try_from(value).ok().filter(|v| *v <= 2)
    }

    fn codes(&self) -> &[u8] {
        &self.codes
    }

    fn codes_mut(&mut self) -> &mut [u8] {
        &mut self.codes
    }
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("care", DataType::Float64, true),
        Field::new("environment", DataType::Float64, true),
        Field::new("answered", DataType::Int64, true),
    ])
}

#[derive(Debug, Clone, Copy)]
struct EsqScorer;

impl Scorer for EsqScorer {
    const NAME: &'static str = NAME;
    type Answers = EsqAnswers;

    fn evaluate(&self, answers: &[EsqAnswers]) -> Result<ArrayRef> {
        let scores: Vec<EsqScores> = answers.iter().map(EsqAnswers::finish).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(scores.iter().map(|s| s.care).collect::<Float64Array>()),
            Arc::new(
                scores
                    .iter()
                    .map(|s| s.environment)
                    .collect::<Float64Array>(),
            ),
            Arc::new(
                scores
                    .iter()
                    .map(|s| Some(s.answered))
                    .collect::<Int64Array>(),
            ),
        ];
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_SCORING,
        "Scores one Experience of Service Questionnaire (ESQ) from its item rows. Returns a \
         struct {`care`: Float64, `environment`: Float64, `answered`: Int64}: satisfaction with \
         care is the mean answer (0 not true, 1 partly true, 2 certainly true) over the answered \
         care items (`esq_01` .. `esq_07`, `esq_11`, `esq_12`), satisfaction with the \
         environment the mean over the answered items `esq_08`, `esq_09`, `esq_10`; each is \
         NULL when none of its items is answered. `answered` counts the items with a valid \
         0-2 answer.\n\n\
         Missing answers: 9 (don't know), NULL and any other value outside 0-2 are missing; \
         other item codes (such as the free-text items `esq_good`, `esq_improve`, \
         `esq_other`) are ignored. Duplicate rows for one item: identical values count once; \
         different valid values make the item missing. The result therefore does not depend on \
         row order.",
        "esq_scores(item, value)",
    )
    .with_argument(
        "item",
        "ESQ item code `esq_01` .. `esq_12`: Utf8, LargeUtf8 or Utf8View.",
    )
    .with_argument(
        "value",
        "The item's answer (0, 1, 2, or 9 don't know), an integer.",
    )
    .with_sql_example(
        r#"```sql
> SELECT s['care'] AS care, s['environment'] AS environment, s['answered'] AS answered
  FROM (SELECT esq_scores(item, value) AS s
        FROM (VALUES ('esq_01', 2), ('esq_02', 1), ('esq_03', 2), ('esq_08', 9)) AS t(item, value));
+--------------------+-------------+----------+
| care               | environment | answered |
+--------------------+-------------+----------+
| 1.6666666666666667 |             | 3        |
+--------------------+-------------+----------+
```"#,
    )
    .with_related_udf("sdq_scores")
    .with_related_udf("rcads_scores")
    .build()
});

/// The `esq_scores` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EsqScoresFunc {
    signature: Signature,
}

impl Default for EsqScoresFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl EsqScoresFunc {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for EsqScoresFunc {
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
        Ok(Box::new(ScoresAccumulator::new(EsqScorer)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields::<EsqScorer>(args.name))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(ScoresGroupsAccumulator::new(EsqScorer)))
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

    fn score(rows: &[(&str, i32)]) -> EsqScores {
        let mut a = EsqAnswers::new();
        for &(item, v) in rows {
            a.update(item, Some(v));
        }
        a.finish()
    }

    #[test]
    fn care_and_environment_means() {
        // Care: 2, 1, 2 -> 5/3; environment: 0, 2 -> 1.0; 5 answered.
        let s = score(&[
            ("esq_01", 2),
            ("esq_02", 1),
            ("esq_12", 2),
            ("esq_08", 0),
            ("esq_10", 2),
        ]);
        assert_eq!(s.care, Some(5.0 / 3.0));
        assert_eq!(s.environment, Some(1.0));
        assert_eq!(s.answered, 5);
    }

    #[test]
    fn dont_know_is_missing() {
        // esq_09 = 9 (don't know) is excluded: environment = mean(1) over esq_08 only.
        let s = score(&[("esq_08", 1), ("esq_09", 9), ("esq_01", 2)]);
        assert_eq!(s.environment, Some(1.0));
        assert_eq!(s.answered, 2);
        // Only don't-know environment answers: NULL, not 0.
        let s = score(&[("esq_08", 9), ("esq_09", 9), ("esq_10", 9), ("esq_01", 0)]);
        assert_eq!(s.environment, None);
        assert_eq!(s.care, Some(0.0));
        assert_eq!(s.answered, 1);
        // A don't-know duplicate does not conflict with a real answer.
        let s = score(&[("esq_11", 2), ("esq_11", 9)]);
        assert_eq!((s.care, s.answered), (Some(2.0), 1));
    }

    #[test]
    fn out_of_range_and_other_items() {
        let s = score(&[
            ("esq_01", 3),
            ("esq_02", -1),
            ("esq_good", 1),
            ("esq_13", 1),
            ("esq_1", 1),
        ]);
        assert_eq!(s, EsqScores::default());
    }

    #[test]
    fn conflicting_duplicates() {
        // esq_01 answered 0 and 2: missing; care = esq_02 only.
        let s = score(&[("esq_01", 0), ("esq_01", 2), ("esq_02", 1)]);
        assert_eq!((s.care, s.answered), (Some(1.0), 1));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn rows() -> impl Strategy<Value = Vec<(String, Option<i32>)>> {
            let item = prop_oneof![
                8 => (0usize..15).prop_map(|n| format!("esq_{n:02}")),
                1 => "[a-z_0-9]{0,7}",
            ];
            let value = proptest::option::weighted(
                0.9,
                prop_oneof![4 => -1i32..4, 1 => Just(9), 1 => any::<i32>()],
            );
            proptest::collection::vec((item, value), 0..40)
        }

        fn score_rows(rows: &[(String, Option<i32>)]) -> EsqScores {
            let mut a = EsqAnswers::new();
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
            fn any_input_scores_in_range(rows in rows()) {
                let s = score_rows(&rows);
                prop_assert!(s.care.is_none_or(|v| (0.0..=2.0).contains(&v)));
                prop_assert!(s.environment.is_none_or(|v| (0.0..=2.0).contains(&v)));
                prop_assert!((0..=12).contains(&s.answered));
                prop_assert_eq!(s.answered == 0, s.care.is_none() && s.environment.is_none());
            }
        }
    }
}
