//! `first_last_distinct(completed_date, questionnaire_id, score)`: NHS
//! England's first and last assessment of a referral and concept
//! (national.md sections 3 and 4) with duplicates dropped, and how many
//! assessments that leaves, in one pass.
//!
//! Duplicates are assessments of the same date and score (national.md
//! section 3: "keep only the lowest `questionnaire_id`"): the aggregate
//! keeps each distinct (date, score) once, with its lowest id, and pairs
//! what it kept as `first_last` does. The first is unaffected by the rule
//! (the earliest row by date and id is the lowest id of its date, so of its
//! duplicates too); the last and the count are not: of three assessments on
//! one date, ids 1, 2 and 3 scoring 5, 7 and 5, id 3 duplicates id 1, so the
//! last is id 2 and there are two assessments. Computing both here replaces
//! a grouping of every assessment by (referral, concept, date, score)
//! before the pairing: at 1M referrals 8.8 million groups, which spilled
//! (docs/performance.md, session 16).
//!
//! A group holds its distinct assessments inline while it has one (the
//! common case) and in a vector beyond that, so that most groups never
//! allocate.

use std::mem::size_of;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, LargeBinaryArray, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{internal_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::t1_t2::{
    coerce_args, decode, encode, evaluate_array as pair_array, fields as pair_fields, Ends, Input,
    Pairing, Scored, SCORED_BYTES,
};
use super::DOC_SECTION;

const NAME: &str = "first_last_distinct";
const USAGE: &str = "first_last_distinct(completed_date, questionnaire_id, score)";

/// Whether two assessments are duplicates of each other: the same date and
/// an equal score.
#[inline]
fn duplicates(a: &Scored, b: &Scored) -> bool {
    a.date == b.date && a.score == b.score
}

/// The distinct assessments of one group, each (date, score) once with its
/// lowest questionnaire id.
#[derive(Debug, Clone, Default)]
enum Distinct {
    #[default]
    Empty,
    One(Scored),
    Many(Vec<Scored>),
}

impl Distinct {
    /// Adds one assessment; returns the heap bytes this added.
    #[inline]
    pub fn insert(&mut self, s: Scored) -> usize {
        match self {
            Distinct::Empty => {
                *self = Distinct::One(s);
                0
            }
            Distinct::One(kept) if duplicates(kept, &s) => {
                kept.id = kept.id.min(s.id);
                0
            }
            Distinct::One(kept) => {
                let v = vec![*kept, s];
                let bytes = v.capacity() * size_of::<Scored>();
                *self = Distinct::Many(v);
                bytes
            }
            Distinct::Many(v) => {
                if let Some(kept) = v.iter_mut().find(|k| duplicates(k, &s)) {
                    kept.id = kept.id.min(s.id);
                    return 0;
                }
                let before = v.capacity();
                v.push(s);
                (v.capacity() - before) * size_of::<Scored>()
            }
        }
    }

    /// The assessments kept.
    pub fn entries(&self) -> &[Scored] {
        match self {
            Distinct::Empty => &[],
            Distinct::One(s) => std::slice::from_ref(s),
            Distinct::Many(v) => v,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Distinct::Many(v) => v.capacity() * size_of::<Scored>(),
            _ => 0,
        }
    }

    /// The first and the last of the kept assessments, by `first_last`'s
    /// rule.
    pub fn ends(&self) -> Ends {
        let mut ends = Ends::default();
        self.entries().iter().for_each(|&s| ends.push(s));
        ends
    }
}

/// The result struct: the number of distinct assessments, then
/// `first_last`'s six fields.
fn fields() -> Fields {
    let mut fields = vec![Arc::new(Field::new("assessments", DataType::Int64, true))];
    fields.extend(pair_fields(Pairing::National).iter().cloned());
    Fields::from(fields)
}

/// Result rows: the number of distinct assessments, then `first_last`'s
/// result over them (built by its own code); NULL when a group has no
/// assessment.
fn evaluate_array(groups: &[Distinct]) -> Result<ArrayRef> {
    let ends: Vec<Ends> = groups.iter().map(Distinct::ends).collect();
    let pairs = pair_array(&ends, Pairing::National)?;
    let (_, pair_columns, valid) = pairs.as_struct().clone().into_parts();
    let counts: Vec<i64> = groups.iter().map(|g| g.entries().len() as i64).collect();
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::new(counts.into(), valid.clone()))];
    columns.extend(pair_columns);
    Ok(Arc::new(StructArray::try_new(fields(), columns, valid)?))
}

/// The intermediate state: one `LargeBinary` value per group, its
/// assessments one after another (date, id, score: `SCORED_BYTES` each);
/// NULL for a group with none. Large (64-bit offsets): a spill emits
/// every group's state in one array, about 1.7 GB for the 58 million
/// groups 10M referrals would give, near the 2 GiB that 32-bit offsets
/// allow.
fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![Arc::new(Field::new(
        format_state_name(name, "distinct"),
        DataType::LargeBinary,
        true,
    ))]
}

fn state_arrays(groups: &[Distinct]) -> Result<Vec<ArrayRef>> {
    let total: usize = groups.iter().map(|g| g.entries().len()).sum();
    let mut bytes = Vec::with_capacity(total * SCORED_BYTES);
    let mut offsets = Vec::with_capacity(groups.len() + 1);
    offsets.push(0i64);
    for g in groups {
        g.entries().iter().for_each(|s| encode(s, &mut bytes));
        offsets.push(bytes.len() as i64);
    }
    let nulls = NullBuffer::from_iter(groups.iter().map(|g| !g.entries().is_empty()));
    Ok(vec![Arc::new(LargeBinaryArray::try_new(
        OffsetBuffer::new(offsets.into()),
        bytes.into(),
        Some(nulls),
    )?)])
}

/// Calls `f(row, assessment)` for every assessment of every non-NULL state
/// row.
fn for_each_state(states: &[ArrayRef], mut f: impl FnMut(usize, Scored)) -> Result<()> {
    let [state] = states else {
        return internal_err!("{NAME}: expected 1 state array, got {}", states.len());
    };
    let Some(state) = state.as_binary_opt::<i64>() else {
        return internal_err!("{NAME}: unexpected state type {}", state.data_type());
    };
    for row in 0..state.len() {
        if state.is_null(row) {
            continue;
        }
        let b = state.value(row);
        if b.len() % SCORED_BYTES != 0 {
            return internal_err!(
                "{NAME}: a state of {} bytes is not a whole number of assessments",
                b.len()
            );
        }
        b.chunks_exact(SCORED_BYTES)
            .for_each(|chunk| f(row, decode(chunk)));
    }
    Ok(())
}

/// Accumulator without GROUP BY.
#[derive(Debug, Default)]
struct DistinctAccumulator {
    distinct: Distinct,
}

impl Accumulator for DistinctAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let distinct = &mut self.distinct;
        Input::new(values, NAME)?.for_each(None, |_, s| {
            distinct.insert(s);
        });
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&evaluate_array(std::slice::from_ref(&self.distinct))?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.distinct.heap_bytes()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        state_arrays(std::slice::from_ref(&self.distinct))?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let distinct = &mut self.distinct;
        for_each_state(states, |_, s| {
            distinct.insert(s);
        })
    }
}

/// Accumulator for many groups: one [`Distinct`] each, and the heap bytes
/// their vectors hold (for [`GroupsAccumulator::size`], which DataFusion
/// calls after every batch).
#[derive(Debug, Default)]
struct DistinctGroupsAccumulator {
    groups: Vec<Distinct>,
    heap: usize,
}

impl DistinctGroupsAccumulator {
    fn resize(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize(total_num_groups, Distinct::Empty);
        }
    }

    /// The groups `emit_to` asks for, taken out.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Distinct> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.heap -= taken.iter().map(Distinct::heap_bytes).sum::<usize>();
        taken
    }
}

impl GroupsAccumulator for DistinctGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (groups, heap) = (&mut self.groups, &mut self.heap);
        Input::new(values, NAME)?.for_each(opt_filter, |row, s| {
            *heap += groups[group_indices[row]].insert(s);
        });
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        evaluate_array(&self.take(emit_to))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        state_arrays(&self.take(emit_to))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (groups, heap) = (&mut self.groups, &mut self.heap);
        for_each_state(values, |row, s| {
            *heap += groups[group_indices[row]].insert(s);
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut states = vec![Distinct::Empty; rows];
        Input::new(values, NAME)?.for_each(opt_filter, |row, s| {
            states[row].insert(s);
        });
        state_arrays(&states)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.groups.capacity() * size_of::<Distinct>() + self.heap
    }
}

/// The `first_last_distinct` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstLastDistinct {
    signature: Signature,
}

impl Default for FirstLastDistinct {
    fn default() -> Self {
        Self::new()
    }
}

impl FirstLastDistinct {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for FirstLastDistinct {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_args(NAME, USAGE, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<DistinctAccumulator>::default())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::<DistinctGroupsAccumulator>::default())
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(doc())
    }
}

fn doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "First and last assessment of a referral and concept with duplicates dropped \
             (NHS England's national outcome measures, national.md sections 3 and 4), as \
             a struct {assessments, first_questionnaire_id, first_date, first_score, \
             last_questionnaire_id, last_date, last_score}. Assessments of the same date \
             and an equal score count once, with the lowest questionnaire id; \
             `assessments` is how many are left. Of those, the first is the earliest \
             (same date: the lowest id) and the last the latest (same date: the highest \
             id) when it is another questionnaire than the first, as in `first_last`. \
             Rows with a NULL date, id or score are skipped; the struct is NULL when no \
             row has a score.",
            USAGE,
        )
        .with_sql_example(
            r#"```sql
> SELECT e['assessments'] AS n, e['first_questionnaire_id'] AS q1, e['last_questionnaire_id'] AS q2, e['last_score'] AS last FROM (SELECT first_last_distinct(d, q, s) AS e FROM (VALUES (DATE '2024-01-10', 4, 3), (DATE '2024-03-01', 1, 5), (DATE '2024-03-01', 2, 7), (DATE '2024-03-01', 3, 5)) AS x(d, q, s));
+---+----+----+------+
| n | q1 | q2 | last |
+---+----+----+------+
| 3 | 4  | 2  | 7.0  |
+---+----+----+------+
```"#,
        )
        .with_argument("completed_date", "Date of the assessment.")
        .with_argument("questionnaire_id", "The questionnaire (breaks ties on a date).")
        .with_argument(
            "score",
            "The concept's score (duplicates share date and score); NULL when not scorable.",
        )
        .with_related_udf("first_last")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Float64Array};
    use datafusion::arrow::datatypes::{Float64Type, Int64Type};
    use proptest::prelude::*;

    fn s(date: i32, id: i64, score: f64) -> Scored {
        Scored { date, id, score }
    }

    fn distinct(rows: &[Scored]) -> Distinct {
        let mut d = Distinct::Empty;
        rows.iter().for_each(|&r| {
            d.insert(r);
        });
        d
    }

    /// (assessments, first, last) of `rows` by the national rule.
    fn result(rows: &[Scored]) -> (usize, Option<Scored>, Option<Scored>) {
        let d = distinct(rows);
        let (first, last) = d.ends().pair(Pairing::National);
        (d.entries().len(), first, last)
    }

    /// The rule written out as national.md states it: drop every
    /// assessment with an earlier-id duplicate (same date and score), then
    /// the first is the least (date, id), the last the greatest (date, id)
    /// if another questionnaire, a questionnaire scored twice counting with
    /// its lower score at either end.
    fn by_the_book(rows: &[Scored]) -> (usize, Option<Scored>, Option<Scored>) {
        let kept: Vec<Scored> = rows
            .iter()
            .copied()
            .filter(|r| {
                !rows
                    .iter()
                    .any(|o| o.date == r.date && o.score == r.score && o.id < r.id)
            })
            .fold(Vec::new(), |mut kept, r| {
                // Rows equal in all three fields are one assessment.
                if !kept.iter().any(|k: &Scored| k == &r) {
                    kept.push(r);
                }
                kept
            });
        let first = kept.iter().copied().min_by(|a, b| {
            (a.date, a.id)
                .cmp(&(b.date, b.id))
                .then(a.score.total_cmp(&b.score))
        });
        let last = kept.iter().copied().max_by(|a, b| {
            (a.date, a.id)
                .cmp(&(b.date, b.id))
                .then(b.score.total_cmp(&a.score))
        });
        let last = last.filter(|l| Some(l.id) != first.map(|f| f.id));
        (kept.len(), first, last)
    }

    // The example of the module documentation, worked by hand: on day 20,
    // ids 1, 2 and 3 score 5, 7 and 5; id 3 duplicates id 1 and is dropped,
    // so the last is id 2 (7.0), where `first_last` over every row would
    // give id 3; with id 4 on day 10 there are three assessments.
    #[test]
    fn a_duplicate_on_the_last_date_is_not_the_last() {
        let rows = [s(20, 1, 5.0), s(20, 2, 7.0), s(20, 3, 5.0), s(10, 4, 3.0)];
        assert_eq!(result(&rows), (3, Some(s(10, 4, 3.0)), Some(s(20, 2, 7.0))));
        let mut every_row = Ends::default();
        rows.iter().for_each(|&r| every_row.push(r));
        assert_eq!(every_row.pair(Pairing::National).1, Some(s(20, 3, 5.0)));
    }

    // A duplicate keeps the lowest id whichever comes first, and counts
    // once; a duplicate on another date, or with another score, is not one.
    #[test]
    fn duplicates_count_once_with_the_lowest_id() {
        let rows = [s(10, 9, 4.0), s(10, 2, 4.0), s(11, 5, 4.0), s(10, 7, 6.0)];
        let d = distinct(&rows);
        assert_eq!(d.entries(), &[s(10, 2, 4.0), s(11, 5, 4.0), s(10, 7, 6.0)]);
        assert_eq!(result(&rows), (3, Some(s(10, 2, 4.0)), Some(s(11, 5, 4.0))));
        // Only duplicates of one assessment: a first, no last.
        assert_eq!(
            result(&[s(10, 3, 4.0), s(10, 1, 4.0)]),
            (1, Some(s(10, 1, 4.0)), None)
        );
        assert_eq!(result(&[]), (0, None, None));
    }

    // One questionnaire with two scores (a data error) is two assessments
    // and counts with its lower score at either end, as in `first_last`.
    #[test]
    fn a_questionnaire_scored_twice_is_two_assessments() {
        assert_eq!(
            result(&[s(10, 1, 6.0), s(10, 1, 2.0)]),
            (2, Some(s(10, 1, 2.0)), None)
        );
        assert_eq!(
            result(&[s(10, 1, 6.0), s(20, 2, 9.0), s(20, 2, 3.0)]),
            (3, Some(s(10, 1, 6.0)), Some(s(20, 2, 3.0)))
        );
    }

    fn arrays(rows: &[Scored]) -> [ArrayRef; 3] {
        [
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.date))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.score))),
        ]
    }

    /// (assessments, first id, last id, last score) of row `i` of a result.
    fn row(out: &ArrayRef, i: usize) -> Option<(i64, i64, Option<i64>, Option<f64>)> {
        let out = out.as_struct();
        if out.is_null(i) {
            return None;
        }
        let int = |name: &str| {
            out.column_by_name(name)
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone()
        };
        let last_score = out
            .column_by_name("last_score")
            .unwrap()
            .as_primitive::<Float64Type>();
        let last_id = int("last_questionnaire_id");
        Some((
            int("assessments").value(i),
            int("first_questionnaire_id").value(i),
            last_id.is_valid(i).then(|| last_id.value(i)),
            last_score.is_valid(i).then(|| last_score.value(i)),
        ))
    }

    fn expected(rows: &[Scored]) -> Option<(i64, i64, Option<i64>, Option<f64>)> {
        let (n, first, last) = by_the_book(rows);
        first.map(|f| (n as i64, f.id, last.map(|l| l.id), last.map(|l| l.score)))
    }

    /// Groups, split into a partial and a final aggregate, with NULL and
    /// NaN rows skipped and a group left empty.
    #[test]
    fn groups_state_round_trip_skips_nulls_and_emits_in_parts() {
        let date: ArrayRef = Arc::new(Date32Array::from(vec![
            Some(10),
            Some(10),
            None,
            Some(5),
            Some(12),
        ]));
        let id: ArrayRef = Arc::new(Int64Array::from(vec![3, 1, 2, 4, 5]));
        let score: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(2.0),
            Some(2.0),
            Some(1.0),
            Some(f64::NAN),
            None,
        ]));
        let values = [date, id, score];
        let mut partial = DistinctGroupsAccumulator::default();
        partial
            .update_batch(&values, &[0, 0, 0, 1, 1], None, 3)
            .unwrap();
        let state = partial.state(EmitTo::All).unwrap();
        assert_eq!(
            partial.size(),
            size_of::<DistinctGroupsAccumulator>()
                + partial.groups.capacity() * size_of::<Distinct>()
        );
        let mut merged = DistinctGroupsAccumulator::default();
        merged.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        // Skipped partial aggregation: one state per row, NULL where skipped.
        let converted = merged.convert_to_state(&values, None).unwrap();
        assert_eq!(converted[0].null_count(), 3);
        let first = merged.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(row(&first, 0), Some((1, 1, None, None)));
        let rest = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!((row(&rest, 0), row(&rest, 1)), (None, None));
        assert_eq!(merged.heap, 0);
    }

    #[test]
    fn internal_errors_name_the_function() {
        let date: ArrayRef = Arc::new(Date32Array::from(vec![1]));
        let mut groups = DistinctGroupsAccumulator::default();
        let bad_state: ArrayRef = Arc::new(LargeBinaryArray::from(vec![&[1u8, 2, 3][..]]));
        let errors = [
            groups
                .update_batch(std::slice::from_ref(&date), &[0], None, 1)
                .unwrap_err(),
            groups
                .merge_batch(std::slice::from_ref(&date), &[0], 1)
                .unwrap_err(),
            groups.merge_batch(&[bad_state], &[0], 1).unwrap_err(),
        ];
        for e in errors {
            assert!(e.to_string().contains("first_last_distinct: "), "{e}");
        }
    }

    fn rows_strategy() -> impl Strategy<Value = Vec<Scored>> {
        // Few dates, ids and scores, so that duplicates, shared dates and
        // questionnaires scored twice are common.
        prop::collection::vec(
            (0i32..4, 0i64..6, 0u8..3).prop_map(|(d, q, v)| s(d, q, f64::from(v))),
            0..12,
        )
    }

    proptest! {
        /// Any rows, in any split between a partial and a final aggregate
        /// and in either accumulator, give what the rule written out gives.
        #[test]
        fn any_rows_in_any_split_follow_the_rule(rows in rows_strategy(), cut in 0usize..12) {
            let want = expected(&rows);
            let cut = cut.min(rows.len());
            let (a, b) = rows.split_at(cut);
            let mut left = DistinctGroupsAccumulator::default();
            left.update_batch(&arrays(a), &vec![0; a.len()], None, 1).unwrap();
            let mut right = DistinctGroupsAccumulator::default();
            right.update_batch(&arrays(b), &vec![0; b.len()], None, 1).unwrap();
            let mut total = DistinctGroupsAccumulator::default();
            total.merge_batch(&left.state(EmitTo::All).unwrap(), &[0], 1).unwrap();
            total.merge_batch(&right.state(EmitTo::All).unwrap(), &[0], 1).unwrap();
            prop_assert_eq!(row(&total.evaluate(EmitTo::All).unwrap(), 0), want);

            let mut single = DistinctAccumulator::default();
            single.update_batch(&arrays(&rows)).unwrap();
            let state: Vec<ArrayRef> = single
                .state()
                .unwrap()
                .iter()
                .map(|v| v.to_array().unwrap())
                .collect();
            let mut again = DistinctAccumulator::default();
            again.merge_batch(&state).unwrap();
            let out = again.evaluate().unwrap().to_array().unwrap();
            prop_assert_eq!(row(&out, 0), want);
        }
    }
}
