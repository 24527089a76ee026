//! `t1_t2(completed_date, questionnaire_id, score)`: the T1 and T2 scores of
//! a case (CYP IAPT pairing rule) in one pass, as a struct; and
//! `first_last(completed_date, questionnaire_id, score)`, the first and last
//! assessment of NHS England's national outcome measures (national.md
//! section 5), the same aggregate with the national pairing rule.
//!
//! T1 is the earliest scored questionnaire (ties on the date: the lowest
//! questionnaire id); T2 is the latest one completed on a later date than
//! T1 (ties: the highest id). Both are the minimum and the maximum of the
//! key `(completed_date, questionnaire_id)`, so the aggregate keeps two
//! keyed scores per group and never sorts: the T2 candidate is the maximum,
//! and it is T2 only when its date is after T1's (when it shares T1's date,
//! no questionnaire is later). The national last is the same maximum when
//! it is another questionnaire than the first (it may share its date).
//! One questionnaire scored twice (a data error) counts with its lower
//! score, at either end.

use std::mem::size_of;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, FixedSizeBinaryArray, Float64Array,
    Int64Array, StructArray,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Fields, Float64Type, Int64Type,
};
use datafusion::common::{internal_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::DOC_SECTION;

/// Which two of a case's scored questionnaires the aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pairing {
    /// `t1_t2`, the CYP IAPT rule: T2 is the latest questionnaire dated
    /// after T1.
    CypIapt,
    /// `first_last`, the national rule: the last is the latest
    /// questionnaire other than the first, whatever its date (the caller
    /// applies the national rule's date condition, on or after contact 2).
    National,
}

impl Pairing {
    fn name(self) -> &'static str {
        match self {
            Pairing::CypIapt => "t1_t2",
            Pairing::National => "first_last",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Pairing::CypIapt => "t1_t2(completed_date, questionnaire_id, score)",
            Pairing::National => "first_last(completed_date, questionnaire_id, score)",
        }
    }

    /// The result struct's field names: the first and the second
    /// questionnaire's id, date and score.
    fn field_names(self) -> [&'static str; 6] {
        match self {
            Pairing::CypIapt => [
                "t1_questionnaire_id",
                "t1_date",
                "t1",
                "t2_questionnaire_id",
                "t2_date",
                "t2",
            ],
            Pairing::National => [
                "first_questionnaire_id",
                "first_date",
                "first_score",
                "last_questionnaire_id",
                "last_date",
                "last_score",
            ],
        }
    }
}

// ---------------------------------------------------------------------------
// Kernel
// ---------------------------------------------------------------------------

/// One scored questionnaire: its date (days since 1970-01-01), id and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Completion date, days since the Unix epoch (Arrow `Date32`).
    pub date: i32,
    /// Questionnaire id.
    pub id: i64,
    /// The score.
    pub score: f64,
}

impl Scored {
    /// The first's order: date, then id, then the lower score first (the
    /// score only decides between two rows of the same questionnaire, a
    /// data error, so that the result never depends on row order).
    #[inline]
    fn before(&self, other: &Scored) -> bool {
        (self.date, self.id) < (other.date, other.id)
            || ((self.date, self.id) == (other.date, other.id) && self.score < other.score)
    }

    /// The last's order: date, then id, then the lower score last, so that
    /// a questionnaire scored twice counts with its lower score here too.
    #[inline]
    fn before_last(&self, other: &Scored) -> bool {
        (self.date, self.id) < (other.date, other.id)
            || ((self.date, self.id) == (other.date, other.id) && self.score > other.score)
    }
}

/// The running T1/T2 state of one case: the first and last scored
/// questionnaires seen so far, held field by field so that a case takes 40
/// bytes (two [`Scored`] in an `Option` take 56; `scale_t1_t2` holds nine
/// per case, for 1.7 million cases at 1M referrals). Empty while the first
/// score is NaN: no row with a NaN score is ever pushed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ends {
    ids: [i64; 2],
    scores: [f64; 2],
    dates: [i32; 2],
}

const _: () = assert!(size_of::<Ends>() == 40);

impl Default for Ends {
    fn default() -> Self {
        Self {
            ids: [0; 2],
            scores: [f64::NAN; 2],
            dates: [0; 2],
        }
    }
}

impl PartialEq for Ends {
    fn eq(&self, other: &Self) -> bool {
        self.ends() == other.ends()
    }
}

impl Ends {
    /// `(first, last)` by [`Scored`]'s key; `None` before any row.
    #[inline]
    pub fn ends(&self) -> Option<(Scored, Scored)> {
        (!self.scores[0].is_nan()).then(|| (self.get(0), self.get(1)))
    }

    #[inline]
    fn get(&self, end: usize) -> Scored {
        Scored {
            date: self.dates[end],
            id: self.ids[end],
            score: self.scores[end],
        }
    }

    #[inline]
    fn set(&mut self, end: usize, s: Scored) {
        self.dates[end] = s.date;
        self.ids[end] = s.id;
        self.scores[end] = s.score;
    }

    /// Adds one scored questionnaire.
    #[inline]
    pub fn push(&mut self, s: Scored) {
        self.push_ends(s, s);
    }

    /// Adds another case state's first and last.
    #[inline]
    fn push_ends(&mut self, first: Scored, last: Scored) {
        match self.ends() {
            None => {
                self.set(0, first);
                self.set(1, last);
            }
            Some((f, l)) => {
                if first.before(&f) {
                    self.set(0, first);
                }
                if l.before_last(&last) {
                    self.set(1, last);
                }
            }
        }
    }

    /// Combines another state into this one (the tests' model of a merge;
    /// the accumulators merge encoded states).
    #[cfg(test)]
    fn merge(&mut self, other: &Ends) {
        if let Some((f, l)) = other.ends() {
            self.push_ends(f, l);
        }
    }

    /// T1, and T2 when a questionnaire is dated after T1.
    #[cfg(test)]
    fn t1_t2(&self) -> (Option<Scored>, Option<Scored>) {
        self.pair(Pairing::CypIapt)
    }

    /// The first, and the second by `pairing`'s rule.
    pub fn pair(&self, pairing: Pairing) -> (Option<Scored>, Option<Scored>) {
        match (self.ends(), pairing) {
            (None, _) => (None, None),
            (Some((first, last)), Pairing::CypIapt) => {
                (Some(first), (last.date > first.date).then_some(last))
            }
            (Some((first, last)), Pairing::National) => {
                (Some(first), (last.id != first.id).then_some(last))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Arrow plumbing
// ---------------------------------------------------------------------------

/// The result struct's fields.
pub(crate) fn fields(pairing: Pairing) -> Fields {
    let types = [DataType::Int64, DataType::Date32, DataType::Float64];
    pairing
        .field_names()
        .iter()
        .zip(types.iter().cycle())
        .map(|(name, t)| Field::new(*name, t.clone(), true))
        .collect()
}

/// Date, id and score columns of optional scored questionnaires (one
/// validity mask for the three).
fn scored_columns(rows: &[Option<Scored>]) -> [ArrayRef; 3] {
    let nulls = Some(NullBuffer::from_iter(rows.iter().map(Option::is_some)));
    let dates: Vec<i32> = rows.iter().map(|r| r.map_or(0, |s| s.date)).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.map_or(0, |s| s.id)).collect();
    let scores: Vec<f64> = rows.iter().map(|r| r.map_or(0.0, |s| s.score)).collect();
    [
        Arc::new(Date32Array::new(dates.into(), nulls.clone())),
        Arc::new(Int64Array::new(ids.into(), nulls.clone())),
        Arc::new(Float64Array::new(scores.into(), nulls)),
    ]
}

/// Result rows: NULL struct when the case has no scored questionnaire; the
/// second's fields NULL when it has none.
pub(crate) fn evaluate_array(states: &[Ends], pairing: Pairing) -> Result<ArrayRef> {
    let (t1, t2): (Vec<_>, Vec<_>) = states.iter().map(|e| e.pair(pairing)).unzip();
    let [date1, id1, score1] = scored_columns(&t1);
    let [date2, id2, score2] = scored_columns(&t2);
    let valid = NullBuffer::from_iter(states.iter().map(|s| s.ends().is_some()));
    Ok(Arc::new(StructArray::try_new(
        fields(pairing),
        vec![id1, date1, score1, id2, date2, score2],
        Some(valid),
    )?))
}

/// Bytes of one [`Scored`] in the state: date (4), id (8), score (8).
pub(crate) const SCORED_BYTES: usize = 20;
/// The state of one group: its first and last [`Scored`], NULL when empty.
const STATE_BYTES: i32 = 2 * SCORED_BYTES as i32;

pub(crate) fn encode(s: &Scored, out: &mut Vec<u8>) {
    out.extend_from_slice(&s.date.to_le_bytes());
    out.extend_from_slice(&s.id.to_le_bytes());
    out.extend_from_slice(&s.score.to_le_bytes());
}

/// Reads a [`Scored`] from `SCORED_BYTES` bytes (the caller has checked the
/// state width).
pub(crate) fn decode(b: &[u8]) -> Scored {
    fn le<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0; N];
        a.copy_from_slice(&b[..N]);
        a
    }
    Scored {
        date: i32::from_le_bytes(le(b)),
        id: i64::from_le_bytes(le(&b[4..])),
        score: f64::from_le_bytes(le(&b[12..])),
    }
}

/// The intermediate state: one `FixedSizeBinary` value per group holding
/// its first and last (date, id, score); NULL for a group with no row.
fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![Arc::new(Field::new(
        format_state_name(name, "ends"),
        DataType::FixedSizeBinary(STATE_BYTES),
        true,
    ))]
}

fn state_arrays(states: &[Ends]) -> Result<Vec<ArrayRef>> {
    let mut bytes = Vec::with_capacity(states.len() * 2 * SCORED_BYTES);
    for s in states {
        match s.ends() {
            Some((first, last)) => {
                encode(&first, &mut bytes);
                encode(&last, &mut bytes);
            }
            None => bytes.extend_from_slice(&[0; 2 * SCORED_BYTES]),
        }
    }
    let nulls = NullBuffer::from_iter(states.iter().map(|s| s.ends().is_some()));
    Ok(vec![Arc::new(FixedSizeBinaryArray::try_new(
        STATE_BYTES,
        Buffer::from_vec(bytes),
        Some(nulls),
    )?)])
}

/// The typed input columns of one batch.
pub(crate) struct Input<'a> {
    date: &'a Date32Array,
    id: &'a Int64Array,
    score: &'a Float64Array,
}

impl<'a> Input<'a> {
    /// The columns of `values`; an error names the function `name`.
    pub(crate) fn new(values: &'a [ArrayRef], name: &str) -> Result<Self> {
        let [date, id, score] = values else {
            return internal_err!("{name}: expected 3 input arrays, got {}", values.len());
        };
        match (
            date.as_primitive_opt::<Date32Type>(),
            id.as_primitive_opt::<Int64Type>(),
            score.as_primitive_opt::<Float64Type>(),
        ) {
            (Some(date), Some(id), Some(score)) => Ok(Self { date, id, score }),
            _ => internal_err!(
                "{name}: unexpected input types {}, {}, {}",
                date.data_type(),
                id.data_type(),
                score.data_type()
            ),
        }
    }

    /// Calls `f(row, scored)` for every row with a date, an id and a
    /// non-NaN score that passes `opt_filter`.
    #[inline]
    pub(crate) fn for_each(
        &self,
        opt_filter: Option<&BooleanArray>,
        mut f: impl FnMut(usize, Scored),
    ) {
        let (dates, ids, scores) = (self.date.values(), self.id.values(), self.score.values());
        let check_nulls =
            self.date.null_count() > 0 || self.id.null_count() > 0 || self.score.null_count() > 0;
        for row in 0..dates.len() {
            if check_nulls
                && (self.date.is_null(row) || self.id.is_null(row) || self.score.is_null(row))
            {
                continue;
            }
            if let Some(filter) = opt_filter {
                if !filter.is_valid(row) || !filter.value(row) {
                    continue;
                }
            }
            let score = scores[row];
            if score.is_nan() {
                continue;
            }
            f(
                row,
                Scored {
                    date: dates[row],
                    id: ids[row],
                    score,
                },
            );
        }
    }
}

/// Calls `f(row, first, last)` for every non-NULL state row; an error
/// names the function of `pairing`.
fn for_each_state(
    states: &[ArrayRef],
    pairing: Pairing,
    mut f: impl FnMut(usize, Scored, Scored),
) -> Result<()> {
    let name = pairing.name();
    let [state] = states else {
        return internal_err!("{name}: expected 1 state array, got {}", states.len());
    };
    let Some(state) = state.as_fixed_size_binary_opt() else {
        return internal_err!("{name}: unexpected state type {}", state.data_type());
    };
    if state.value_length() != STATE_BYTES {
        return internal_err!(
            "{name}: state is {} bytes wide, expected {STATE_BYTES}",
            state.value_length()
        );
    }
    for row in 0..state.len() {
        if state.is_valid(row) {
            let b = state.value(row);
            f(row, decode(b), decode(&b[SCORED_BYTES..]));
        }
    }
    Ok(())
}

/// Accumulator without GROUP BY.
#[derive(Debug)]
struct T1T2Accumulator {
    ends: Ends,
    pairing: Pairing,
}

impl Accumulator for T1T2Accumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ends = &mut self.ends;
        Input::new(values, self.pairing.name())?.for_each(None, |_, s| ends.push(s));
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(
            &evaluate_array(std::slice::from_ref(&self.ends), self.pairing)?,
            0,
        )
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        state_arrays(std::slice::from_ref(&self.ends))?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let ends = &mut self.ends;
        for_each_state(states, self.pairing, |_, f, l| ends.push_ends(f, l))
    }
}

/// Accumulator for many cases: one [`Ends`] per group.
#[derive(Debug)]
struct T1T2GroupsAccumulator {
    ends: Vec<Ends>,
    pairing: Pairing,
}

impl T1T2GroupsAccumulator {
    fn new(pairing: Pairing) -> Self {
        Self {
            ends: Vec::new(),
            pairing,
        }
    }

    fn resize(&mut self, total_num_groups: usize) {
        if self.ends.len() < total_num_groups {
            self.ends.resize(total_num_groups, Ends::default());
        }
    }
}

impl GroupsAccumulator for T1T2GroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let ends = &mut self.ends;
        Input::new(values, self.pairing.name())?
            .for_each(opt_filter, |row, s| ends[group_indices[row]].push(s));
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        evaluate_array(&emit_to.take_needed(&mut self.ends), self.pairing)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        state_arrays(&emit_to.take_needed(&mut self.ends))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let ends = &mut self.ends;
        for_each_state(values, self.pairing, |row, f, l| {
            ends[group_indices[row]].push_ends(f, l)
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut states = vec![Ends::default(); rows];
        Input::new(values, self.pairing.name())?.for_each(opt_filter, |row, s| states[row].push(s));
        state_arrays(&states)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.ends.capacity() * size_of::<Ends>()
    }
}

/// The argument types of `name(completed_date, questionnaire_id, score)`
/// (`usage`): a date, an integer and a number, coerced to Date32, Int64 and
/// Float64.
pub(crate) fn coerce_args(
    name: &str,
    usage: &str,
    arg_types: &[DataType],
) -> Result<Vec<DataType>> {
    let [date, id, score] = arg_types else {
        return plan_err!(
            "{name} expects {}, got {} argument(s)",
            usage,
            arg_types.len()
        );
    };
    let date = match date {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) | DataType::Null => {
            DataType::Date32
        }
        other => return plan_err!("{name}: completed_date must be a date, got {other}"),
    };
    let id = match id {
        t if t.is_integer() || t.is_null() => DataType::Int64,
        other => return plan_err!("{name}: questionnaire_id must be an integer, got {other}"),
    };
    let score = match score {
        t if t.is_numeric() || t.is_null() => DataType::Float64,
        other => return plan_err!("{name}: score must be a number, got {other}"),
    };
    Ok(vec![date, id, score])
}

/// The `t1_t2` and `first_last` aggregate functions: one implementation
/// keyed by the pairing rule.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct T1T2 {
    signature: Signature,
    pairing: Pairing,
}

impl Default for T1T2 {
    fn default() -> Self {
        Self::new()
    }
}

impl T1T2 {
    /// `t1_t2`, the CYP IAPT pairing.
    pub fn new() -> Self {
        Self::with_pairing(Pairing::CypIapt)
    }

    /// The aggregate for `pairing`'s rule.
    pub fn with_pairing(pairing: Pairing) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            pairing,
        }
    }
}

impl AggregateUDFImpl for T1T2 {
    fn name(&self) -> &str {
        self.pairing.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_args(self.pairing.name(), self.pairing.usage(), arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields(self.pairing)))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(T1T2Accumulator {
            ends: Ends::default(),
            pairing: self.pairing,
        }))
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
        Ok(Box::new(T1T2GroupsAccumulator::new(self.pairing)))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.pairing {
            Pairing::CypIapt => doc(),
            Pairing::National => national_doc(),
        })
    }
}

fn doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "T1 and T2 of a case in one pass (CYP IAPT pairing rule), as a struct \
             {t1_questionnaire_id, t1_date, t1, t2_questionnaire_id, t2_date, t2}. T1 is \
             the earliest scored questionnaire (same date: the lowest id); T2 the latest \
             one completed on a date after T1's (same date: the highest id). Rows with a \
             NULL date, id or score are skipped: group the scores of one referral, \
             measure, informant and scale. The struct is NULL when no row has a score; \
             the T2 fields are NULL when no questionnaire is dated after T1.",
            Pairing::CypIapt.usage(),
        )
        .with_sql_example(
            r#"```sql
> SELECT e['t1_questionnaire_id'] AS q1, e['t1'] AS t1, e['t2_questionnaire_id'] AS q2, e['t2'] AS t2 FROM (SELECT t1_t2(d, q, s) AS e FROM (VALUES (DATE '2024-03-01', 7, 18), (DATE '2024-01-10', 5, 20), (DATE '2024-01-10', 4, NULL), (DATE '2024-03-01', 6, 15)) AS x(d, q, s));
+----+------+----+------+
| q1 | t1   | q2 | t2   |
+----+------+----+------+
| 5  | 20.0 | 7  | 18.0 |
+----+------+----+------+
```"#,
        )
        .with_argument("completed_date", "Date the questionnaire was completed.")
        .with_argument("questionnaire_id", "The questionnaire (breaks ties on a date).")
        .with_argument("score", "The scale's score; NULL when not scorable.")
        .with_related_udf("reliable_change")
        .build()
    })
}

fn national_doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
            DOC_SECTION,
            "First and last assessment of a referral and concept in one pass (NHS \
             England's national outcome measures, national.md section 5), as a struct \
             {first_questionnaire_id, first_date, first_score, last_questionnaire_id, \
             last_date, last_score}. The first is the earliest (same date: the lowest \
             id); the last the latest (same date: the highest id) when it is another \
             questionnaire than the first, whatever its date: the national rule's \
             condition on contact 2 is the caller's. A questionnaire scored twice \
             counts with its lower score. Rows with a NULL date, id or score are \
             skipped; the struct is NULL when no row has a score.",
            Pairing::National.usage(),
        )
        .with_sql_example(
            r#"```sql
> SELECT e['first_questionnaire_id'] AS q1, e['last_questionnaire_id'] AS q2, e['last_score'] AS last FROM (SELECT first_last(d, q, s) AS e FROM (VALUES (DATE '2024-01-10', 5, 20), (DATE '2024-01-10', 6, 18), (DATE '2024-01-10', 6, 12)) AS x(d, q, s));
+----+----+------+
| q1 | q2 | last |
+----+----+------+
| 5  | 6  | 12.0 |
+----+----+------+
```"#,
        )
        .with_argument("completed_date", "Date of the assessment.")
        .with_argument("questionnaire_id", "The questionnaire (breaks ties on a date).")
        .with_argument("score", "The concept's score; NULL when not scorable.")
        .with_related_udf("t1_t2")
        .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An internal error (input or state of the wrong shape) names the
    /// function the query called: `first_last` shares this code.
    #[test]
    fn internal_errors_name_the_function_called() {
        let date: ArrayRef = Arc::new(Date32Array::from(vec![1]));
        for pairing in [Pairing::CypIapt, Pairing::National] {
            let name = pairing.name();
            let mut groups = T1T2GroupsAccumulator::new(pairing);
            let inputs = [
                groups
                    .update_batch(std::slice::from_ref(&date), &[0], None, 1)
                    .unwrap_err(),
                groups
                    .update_batch(&[date.clone(), date.clone(), date.clone()], &[0], None, 1)
                    .unwrap_err(),
                groups
                    .merge_batch(std::slice::from_ref(&date), &[0], 1)
                    .unwrap_err(),
            ];
            for e in inputs {
                let text = e.to_string();
                assert!(text.contains(&format!("{name}: ")), "{text}");
            }
        }
    }

    fn s(date: i32, id: i64, score: f64) -> Scored {
        Scored { date, id, score }
    }

    fn pair(rows: &[Scored]) -> (Option<Scored>, Option<Scored>) {
        let mut e = Ends::default();
        for &r in rows {
            e.push(r);
        }
        e.t1_t2()
    }

    // Expected values below follow the pairing rule in domain.md ("T1 ...
    // the earliest scorable questionnaire (ties: lowest questionnaire_id).
    // T2 = the latest scorable one with a completed_date later than T1's
    // (ties: highest id)"), worked by hand.

    #[test]
    fn earliest_and_latest() {
        let (t1, t2) = pair(&[s(20, 3, 9.0), s(10, 2, 15.0), s(30, 1, 7.0)]);
        assert_eq!(t1, Some(s(10, 2, 15.0)));
        assert_eq!(t2, Some(s(30, 1, 7.0)));
    }

    #[test]
    fn ties_on_a_date() {
        // T1: lowest id on the first date; T2: highest id on the last date.
        let rows = [
            s(10, 8, 1.0),
            s(10, 4, 2.0),
            s(40, 5, 3.0),
            s(40, 9, 4.0),
            s(40, 6, 5.0),
        ];
        let (t1, t2) = pair(&rows);
        assert_eq!(t1.map(|s| s.id), Some(4));
        assert_eq!(t2.map(|s| s.id), Some(9));
    }

    #[test]
    fn no_t2_when_every_questionnaire_shares_the_first_date() {
        let (t1, t2) = pair(&[s(10, 2, 1.0), s(10, 1, 2.0)]);
        assert_eq!(t1.map(|s| s.id), Some(1));
        assert_eq!(t2, None);
        assert_eq!(pair(&[]), (None, None));
    }

    // national.md section 5: the last is "the final one, provided it is not
    // the first"; it may share the first's date (the contact-2 condition is
    // applied in national_concept.sql). Worked by hand.
    #[test]
    fn the_national_last_may_share_the_first_date() {
        let rows = [s(10, 4, 2.0), s(10, 8, 1.0)];
        let mut e = Ends::default();
        rows.iter().for_each(|&r| e.push(r));
        assert_eq!(e.pair(Pairing::CypIapt), (Some(s(10, 4, 2.0)), None));
        assert_eq!(
            e.pair(Pairing::National),
            (Some(s(10, 4, 2.0)), Some(s(10, 8, 1.0)))
        );
        // One questionnaire (scored twice): a first, no last.
        let mut one = Ends::default();
        [s(10, 4, 2.0), s(10, 4, 1.0)]
            .iter()
            .for_each(|&r| one.push(r));
        assert_eq!(one.pair(Pairing::National), (Some(s(10, 4, 1.0)), None));
    }

    /// The compact state: empty until a row comes, and any score that is
    /// not NaN (infinities, zero of either sign) is kept as given.
    #[test]
    fn a_state_is_empty_until_a_row_and_keeps_every_score() {
        let mut e = Ends::default();
        assert_eq!(e.ends(), None);
        assert_eq!(e, Ends::default());
        e.push(s(10, 1, f64::NEG_INFINITY));
        e.push(s(20, 2, -0.0));
        let (first, last) = e.ends().unwrap();
        assert_eq!(first, s(10, 1, f64::NEG_INFINITY));
        assert_eq!((last.id, last.score.to_bits()), (2, (-0.0f64).to_bits()));
        assert_ne!(e, Ends::default());
    }

    #[test]
    fn merging_equals_one_pass_in_any_split() {
        let rows = [
            s(12, 3, 1.0),
            s(10, 9, 2.0),
            s(15, 1, 3.0),
            s(10, 2, 4.0),
            s(15, 7, 5.0),
        ];
        let whole = pair(&rows);
        for cut in 0..=rows.len() {
            let (mut a, mut b) = (Ends::default(), Ends::default());
            rows[..cut].iter().for_each(|&r| a.push(r));
            rows[cut..].iter().for_each(|&r| b.push(r));
            b.merge(&a);
            assert_eq!(b.t1_t2(), whole, "split at {cut}");
        }
    }

    #[test]
    fn result_does_not_depend_on_row_order() {
        // The same questionnaire twice (a data error) still gives one answer.
        let rows = [s(10, 1, 5.0), s(10, 1, 3.0), s(20, 2, 1.0), s(20, 2, 8.0)];
        let forward = pair(&rows);
        let mut reversed = rows;
        reversed.reverse();
        assert_eq!(pair(&reversed), forward);
        // The lower score at either end (national.md: "the lower score is
        // taken"), whichever row comes first.
        assert_eq!(forward.0, Some(s(10, 1, 3.0)));
        assert_eq!(forward.1, Some(s(20, 2, 1.0)));
    }

    #[test]
    fn groups_accumulator_state_round_trip_and_nulls() {
        let date: ArrayRef = Arc::new(Date32Array::from(vec![Some(10), Some(20), None, Some(5)]));
        let id: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(3), Some(4)]));
        let score: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(2.0),
            Some(3.0),
            Some(f64::NAN),
        ]));
        let values = [date, id, score];
        let mut acc = T1T2GroupsAccumulator::new(Pairing::CypIapt);
        acc.update_batch(&values, &[0, 0, 0, 1], None, 3).unwrap();
        let state = acc.state(EmitTo::All).unwrap();
        let mut merged = T1T2GroupsAccumulator::new(Pairing::CypIapt);
        merged.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        // Skipped partial aggregation gives the same states row by row.
        let converted = acc.convert_to_state(&values, None).unwrap();
        assert_eq!(
            converted[0].null_count(),
            2,
            "NULL date and NaN score skipped"
        );
        let out = merged.evaluate(EmitTo::All).unwrap();
        let out = out.as_struct();
        assert_eq!(out.null_count(), 2, "groups without a score are NULL");
        let t1 = out
            .column_by_name("t1")
            .unwrap()
            .as_primitive::<Float64Type>();
        let t2 = out
            .column_by_name("t2")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert_eq!((t1.value(0), t2.value(0)), (1.0, 2.0));
    }
}
