//! Arrow plumbing shared by the questionnaire scoring aggregates: argument
//! coercion, the row loop over `(item, value)`, the intermediate state and
//! the [`Accumulator`] / [`GroupsAccumulator`] implementations.
//!
//! A scoring aggregate is described by a [`Scorer`]: its per-questionnaire
//! answer store (a [`Questionnaire`]) and how a slice of stores becomes the
//! result struct array. Everything here is generic over it.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, PrimitiveArray,
    RecordBatch,
};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowDictionaryKeyType, ArrowNativeType, ArrowPrimitiveType, DataType, Field, FieldRef,
    Int16Type, Int32Type, Int64Type, Int8Type, Schema, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use datafusion::common::{exec_err, internal_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, ColumnarValue, EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;

use super::answers;

/// The answers of one questionnaire, one byte per scored item.
pub(crate) trait Questionnaire: Copy + Debug + Send + Sync + 'static {
    /// Number of scored item slots.
    const SLOTS: usize;
    /// A questionnaire with no answers.
    fn empty() -> Self;
    /// The slot of `item`, or `None` when it is not a scored item of this
    /// questionnaire.
    fn slot(item: &str) -> Option<usize>;
    /// The stored answer for `value` in `slot`, or `None` when it is out of
    /// the item's range.
    fn answer(slot: usize, value: i32) -> Option<u8>;
    /// The slot of `item` and the answer `value`, or `None` when the row is
    /// not a valid answer to a scored item (unknown item, out of range).
    #[inline]
    fn encode(item: &str, value: i32) -> Option<(usize, u8)> {
        let slot = Self::slot(item)?;
        Self::answer(slot, value).map(|v| (slot, v))
    }
    /// The slot codes (see [`answers`]).
    fn codes(&self) -> &[u8];
    /// The slot codes, mutable.
    fn codes_mut(&mut self) -> &mut [u8];
}

/// One scoring aggregate: its answer store and its result.
pub(crate) trait Scorer: Clone + Debug + Send + Sync + 'static {
    /// SQL name, for error messages.
    const NAME: &'static str;
    /// Per-questionnaire answers.
    type Answers: Questionnaire;
    /// The result struct array, one row per questionnaire.
    fn evaluate(&self, answers: &[Self::Answers]) -> Result<ArrayRef>;
}

/// Coerce `(item, value [, int...])` arguments: `item` any string type
/// (read natively: Utf8, LargeUtf8, Utf8View, or a dictionary of them),
/// `value` an integer (Int32,
/// Int64, UInt64 natively; narrower types widened losslessly), up to
/// `max_extra` trailing integer literals as Int64. `usage` is the SQL
/// signature shown in the error message.
pub(crate) fn coerce_args(
    name: &str,
    usage: &str,
    arg_types: &[DataType],
    max_extra: usize,
) -> Result<Vec<DataType>> {
    if arg_types.len() < 2 || arg_types.len() > 2 + max_extra {
        return plan_err!(
            "{name} expects {usage}, got {} argument(s)",
            arg_types.len()
        );
    }
    let item = match &arg_types[0] {
        t @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => t.clone(),
        // Read as it is: its codes are matched once per batch.
        t @ DataType::Dictionary(k, v)
            if k.is_dictionary_key_type()
                && matches!(
                    v.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
        {
            t.clone()
        }
        DataType::Null => DataType::Utf8,
        other => {
            return plan_err!(
                "{name}: item must be a string (Utf8, LargeUtf8 or Utf8View), got {other}"
            )
        }
    };
    let value = match &arg_types[1] {
        t @ (DataType::Int32 | DataType::Int64 | DataType::UInt64) => t.clone(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 | DataType::Null => {
            DataType::Int32
        }
        DataType::UInt32 => DataType::Int64,
        other => return plan_err!("{name}: value must be an integer, got {other}"),
    };
    let mut coerced = vec![item, value];
    for t in &arg_types[2..] {
        if t.is_integer() || t.is_null() {
            coerced.push(DataType::Int64);
        } else {
            return plan_err!(
                "{name} expects {usage}: trailing argument must be an integer literal, got {t}"
            );
        }
    }
    Ok(coerced)
}

/// The value of a constant argument (a literal, possibly folded), or a
/// planning error naming the function and argument.
pub(crate) fn literal_i64(
    name: &str,
    arg: &str,
    expr: &Arc<dyn PhysicalExpr>,
) -> Result<Option<i64>> {
    let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let value = match expr.evaluate(&batch) {
        Ok(ColumnarValue::Scalar(s)) => s,
        _ => {
            return plan_err!(
                "{name}: {arg} must be a constant integer, not a column or expression"
            )
        }
    };
    match value.cast_to(&DataType::Int64) {
        Ok(ScalarValue::Int64(v)) => Ok(v),
        _ => plan_err!("{name}: {arg} must be an integer literal, got {value}"),
    }
}

/// The state field: one `FixedSizeBinary(slots)` value per questionnaire.
pub(crate) fn state_fields<S: Scorer>(name: &str) -> Vec<FieldRef> {
    vec![Arc::new(Field::new(
        format_state_name(name, "answers"),
        DataType::FixedSizeBinary(state_width::<S>()),
        true,
    ))]
}

fn state_width<S: Scorer>() -> i32 {
    // SLOTS is a small constant (at most 47).
    i32::try_from(S::Answers::SLOTS).expect("slot count fits i32")
}

/// A dictionary of item codes is matched code by code when it holds at
/// most this many codes or no more than the batch has rows (a Parquet row
/// group's dictionary of item codes holds a few hundred).
const MATCHED_CODES: usize = 4096;

/// Call `f(row, slot, answer)` for every row that passes `opt_filter` and
/// holds a valid answer (non-NULL, in range) to a scored item of `S`.
///
/// A dictionary-encoded item column (as Parquet files written with a
/// dictionary type arrive, e.g. by `cypdash sort`) is matched once per
/// distinct code of the batch, not once per row.
#[inline]
fn for_each_answer<S: Scorer>(
    values: &[ArrayRef],
    opt_filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, usize, u8),
) -> Result<()> {
    let [items, vals, ..] = values else {
        return internal_err!("{}: expected item and value arrays", S::NAME);
    };
    if let DataType::Dictionary(_, codes) = items.data_type() {
        // A dictionary far larger than its batch (a slice of a large
        // one): matching every code would cost more than the rows do.
        let distinct = items.as_any_dictionary().values().len();
        if distinct > items.len().max(MATCHED_CODES) {
            let plain = cast(items, codes)?;
            return for_each_answer::<S>(&[plain, Arc::clone(vals)], opt_filter, f);
        }
    }
    let mut by_text = |row: usize, item: &str, value: i32| {
        if let Some((slot, v)) = S::Answers::encode(item, value) {
            f(row, slot, v);
        }
    };
    match items.data_type() {
        DataType::Utf8 => rows_of::<S, _>(items.as_string::<i32>(), vals, opt_filter, &mut by_text),
        DataType::LargeUtf8 => {
            rows_of::<S, _>(items.as_string::<i64>(), vals, opt_filter, &mut by_text)
        }
        DataType::Utf8View => {
            rows_of::<S, _>(items.as_string_view(), vals, opt_filter, &mut by_text)
        }
        DataType::Dictionary(key, _) => {
            let f = &mut f;
            match key.as_ref() {
                DataType::Int8 => dictionary_rows::<Int8Type, S>(items, vals, opt_filter, f),
                DataType::Int16 => dictionary_rows::<Int16Type, S>(items, vals, opt_filter, f),
                DataType::Int32 => dictionary_rows::<Int32Type, S>(items, vals, opt_filter, f),
                DataType::Int64 => dictionary_rows::<Int64Type, S>(items, vals, opt_filter, f),
                DataType::UInt8 => dictionary_rows::<UInt8Type, S>(items, vals, opt_filter, f),
                DataType::UInt16 => dictionary_rows::<UInt16Type, S>(items, vals, opt_filter, f),
                DataType::UInt32 => dictionary_rows::<UInt32Type, S>(items, vals, opt_filter, f),
                DataType::UInt64 => dictionary_rows::<UInt64Type, S>(items, vals, opt_filter, f),
                other => internal_err!("{}: unexpected dictionary key type {other}", S::NAME),
            }
        }
        other => internal_err!("{}: unexpected item type {other}", S::NAME),
    }
}

/// [`for_each_answer`] over a dictionary of item codes with keys `K`.
fn dictionary_rows<K: ArrowDictionaryKeyType, S: Scorer>(
    items: &ArrayRef,
    vals: &ArrayRef,
    opt_filter: Option<&BooleanArray>,
    f: &mut impl FnMut(usize, usize, u8),
) -> Result<()> {
    let dictionary = items.as_dictionary::<K>();
    let codes = dictionary.values();
    let slot_of = |item: Option<&str>| item.and_then(S::Answers::slot);
    // The slot of each distinct code, found once.
    let slots: Vec<Option<usize>> = match codes.data_type() {
        DataType::Utf8 => codes.as_string::<i32>().iter().map(slot_of).collect(),
        DataType::LargeUtf8 => codes.as_string::<i64>().iter().map(slot_of).collect(),
        DataType::Utf8View => codes.as_string_view().iter().map(slot_of).collect(),
        other => return internal_err!("{}: unexpected item type {other}", S::NAME),
    };
    let keys = dictionary.keys();
    let mut by_key = |row: usize, key: K::Native, value: i32| {
        let slot = key.as_usize();
        if let Some(slot) = slots.get(slot).copied().flatten() {
            if let Some(v) = S::Answers::answer(slot, value) {
                f(row, slot, v);
            }
        }
    };
    rows_of::<S, _>(keys, vals, opt_filter, &mut by_key)
}

/// Call `f(row, item, value)` for every row of `items` (any array whose
/// values are read by index) with a non-NULL item and value that passes
/// `opt_filter`. A value that does not fit an `i32` is passed as
/// `i32::MIN` (it can then only be out of range).
#[inline]
fn rows_of<S: Scorer, I: ArrayAccessor>(
    items: I,
    vals: &ArrayRef,
    opt_filter: Option<&BooleanArray>,
    f: &mut impl FnMut(usize, I::Item, i32),
) -> Result<()> {
    match vals.data_type() {
        DataType::Int32 => rows_typed(items, vals.as_primitive::<Int32Type>(), opt_filter, f),
        DataType::Int64 => rows_typed(items, vals.as_primitive::<Int64Type>(), opt_filter, f),
        DataType::UInt64 => rows_typed(items, vals.as_primitive::<UInt64Type>(), opt_filter, f),
        other => return internal_err!("{}: unexpected value type {other}", S::NAME),
    }
    Ok(())
}

#[inline]
fn rows_typed<I, T>(
    items: I,
    vals: &PrimitiveArray<T>,
    opt_filter: Option<&BooleanArray>,
    f: &mut impl FnMut(usize, I::Item, i32),
) where
    I: ArrayAccessor,
    T: ArrowPrimitiveType,
    T::Native: TryInto<i32>,
{
    let raw = vals.values();
    let no_nulls = items.null_count() == 0 && vals.null_count() == 0 && opt_filter.is_none();
    for (row, &v) in raw.iter().enumerate() {
        if !no_nulls {
            if items.is_null(row) || vals.is_null(row) {
                continue;
            }
            if let Some(filter) = opt_filter {
                if !filter.is_valid(row) || !filter.value(row) {
                    continue;
                }
            }
        }
        let v = v.try_into().unwrap_or(i32::MIN);
        f(row, items.value(row), v);
    }
}

fn merge_rows<S: Scorer>(states: &[ArrayRef], mut f: impl FnMut(usize, &[u8])) -> Result<()> {
    let Some(state) = states.first() else {
        return internal_err!("{}: missing state array", S::NAME);
    };
    let Some(state) = state.as_fixed_size_binary_opt() else {
        return internal_err!(
            "{}: state must be FixedSizeBinary, got {}",
            S::NAME,
            state.data_type()
        );
    };
    if state.value_length() != state_width::<S>() {
        return internal_err!(
            "{}: state has {} slots, expected {}",
            S::NAME,
            state.value_length(),
            state_width::<S>()
        );
    }
    for row in 0..state.len() {
        if state.is_valid(row) {
            f(row, state.value(row));
        }
    }
    Ok(())
}

fn state_array<S: Scorer>(answers: &[S::Answers]) -> Result<ArrayRef> {
    let mut bytes = Vec::with_capacity(answers.len() * S::Answers::SLOTS);
    for a in answers {
        bytes.extend_from_slice(a.codes());
    }
    Ok(Arc::new(FixedSizeBinaryArray::try_new(
        state_width::<S>(),
        Buffer::from_vec(bytes),
        None,
    )?))
}

/// Accumulator for one questionnaire (no GROUP BY, window frames).
#[derive(Debug)]
pub(crate) struct ScoresAccumulator<S: Scorer> {
    scorer: S,
    answers: S::Answers,
}

impl<S: Scorer> ScoresAccumulator<S> {
    pub(crate) fn new(scorer: S) -> Self {
        Self {
            scorer,
            answers: S::Answers::empty(),
        }
    }
}

impl<S: Scorer> Accumulator for ScoresAccumulator<S> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let answers = &mut self.answers;
        for_each_answer::<S>(values, None, |_, slot, v| {
            answers::record(answers.codes_mut(), slot, v);
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let array = self.scorer.evaluate(std::slice::from_ref(&self.answers))?;
        ScalarValue::try_from_array(&array, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::FixedSizeBinary(
            state_width::<S>(),
            Some(self.answers.codes().to_vec()),
        )])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let answers = &mut self.answers;
        merge_rows::<S>(states, |_, codes| {
            answers::merge(answers.codes_mut(), codes)
        })
    }
}

/// Accumulator for many questionnaires (`GROUP BY questionnaire_id`): a
/// flat vector of answer stores indexed by group.
#[derive(Debug)]
pub(crate) struct ScoresGroupsAccumulator<S: Scorer> {
    scorer: S,
    answers: Vec<S::Answers>,
}

impl<S: Scorer> ScoresGroupsAccumulator<S> {
    pub(crate) fn new(scorer: S) -> Self {
        Self {
            scorer,
            answers: Vec::new(),
        }
    }

    fn resize(&mut self, total_num_groups: usize) {
        if self.answers.len() < total_num_groups {
            self.answers.resize(total_num_groups, S::Answers::empty());
        }
    }
}

impl<S: Scorer> GroupsAccumulator for ScoresGroupsAccumulator<S> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let answers = &mut self.answers;
        for_each_answer::<S>(values, opt_filter, |row, slot, v| {
            answers::record(answers[group_indices[row]].codes_mut(), slot, v);
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let answers = emit_to.take_needed(&mut self.answers);
        self.scorer.evaluate(&answers)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let answers = emit_to.take_needed(&mut self.answers);
        Ok(vec![state_array::<S>(&answers)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        if values
            .first()
            .is_some_and(|v| v.len() != group_indices.len())
        {
            return exec_err!("{}: state and group index lengths differ", S::NAME);
        }
        let answers = &mut self.answers;
        merge_rows::<S>(values, |row, codes| {
            answers::merge(answers[group_indices[row]].codes_mut(), codes);
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let slots = S::Answers::SLOTS;
        let rows = values.first().map_or(0, |v| v.len());
        let mut bytes = vec![answers::EMPTY; rows * slots];
        for_each_answer::<S>(values, opt_filter, |row, slot, v| {
            answers::record(&mut bytes[row * slots..(row + 1) * slots], slot, v);
        })?;
        Ok(vec![Arc::new(FixedSizeBinaryArray::try_new(
            state_width::<S>(),
            Buffer::from_vec(bytes),
            None,
        )?)])
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.answers.capacity() * size_of::<S::Answers>()
    }
}
