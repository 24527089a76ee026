//! Column builders for one chunk of the per-referral tables, finished into
//! record batches with the contract's schemas.

use crate::contract;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int32Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// The rows one chunk of referrals produces, column by column.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub person_id: Int64Builder,
    pub birth_date: Date32Builder,
    pub gender: StringBuilder,
    pub ethnicity: StringBuilder,

    pub referral_id: Int64Builder,
    pub referral_person_id: Int64Builder,
    pub service_id: Int64Builder,
    pub referral_date: Date32Builder,
    pub referral_source: StringBuilder,
    pub closure_date: Date32Builder,
    pub closure_reason: StringBuilder,

    pub contact_id: Int64Builder,
    pub contact_referral_id: Int64Builder,
    pub contact_date: Date32Builder,
    pub attendance: StringBuilder,
    pub direct: BooleanBuilder,

    pub questionnaire_id: Int64Builder,
    pub q_referral_id: Int64Builder,
    pub q_contact_id: Int64Builder,
    pub measure: StringBuilder,
    pub informant: StringBuilder,
    pub version: StringBuilder,
    pub completed_date: Date32Builder,

    pub item_qid: Int64Builder,
    pub item: StringBuilder,
    pub value: Int32Builder,
    pub text: StringBuilder,
}

/// The finished batches of one chunk, in the order of [`CHUNK_TABLES`].
pub(crate) type ChunkBatches = [RecordBatch; 5];

/// The tables written chunk by chunk, in the order of [`ChunkBatches`].
pub(crate) const CHUNK_TABLES: [contract::TableSpec; 5] = [
    contract::PERSON,
    contract::REFERRAL,
    contract::CONTACT,
    contract::QUESTIONNAIRE,
    contract::QUESTIONNAIRE_ITEM,
];

impl Rows {
    /// Builders sized for about `referrals` referrals.
    pub(crate) fn with_capacity(referrals: usize) -> Rows {
        let n = referrals;
        let contacts = n * 8;
        let qs = n * 8;
        let items = n * 230;
        Rows {
            person_id: Int64Builder::with_capacity(n),
            birth_date: Date32Builder::with_capacity(n),
            gender: StringBuilder::with_capacity(n, n),
            ethnicity: StringBuilder::with_capacity(n, n),
            referral_id: Int64Builder::with_capacity(n),
            referral_person_id: Int64Builder::with_capacity(n),
            service_id: Int64Builder::with_capacity(n),
            referral_date: Date32Builder::with_capacity(n),
            referral_source: StringBuilder::with_capacity(n, 2 * n),
            closure_date: Date32Builder::with_capacity(n),
            closure_reason: StringBuilder::with_capacity(n, 2 * n),
            contact_id: Int64Builder::with_capacity(contacts),
            contact_referral_id: Int64Builder::with_capacity(contacts),
            contact_date: Date32Builder::with_capacity(contacts),
            attendance: StringBuilder::with_capacity(contacts, contacts),
            direct: BooleanBuilder::with_capacity(contacts),
            questionnaire_id: Int64Builder::with_capacity(qs),
            q_referral_id: Int64Builder::with_capacity(qs),
            q_contact_id: Int64Builder::with_capacity(qs),
            measure: StringBuilder::with_capacity(qs, 5 * qs),
            informant: StringBuilder::with_capacity(qs, 6 * qs),
            version: StringBuilder::with_capacity(qs, 8 * qs),
            completed_date: Date32Builder::with_capacity(qs),
            item_qid: Int64Builder::with_capacity(items),
            item: StringBuilder::with_capacity(items, 7 * items),
            value: Int32Builder::with_capacity(items),
            text: StringBuilder::with_capacity(items, items / 8),
        }
    }

    /// Append one questionnaire_item row.
    pub(crate) fn push_item(
        &mut self,
        qid: i64,
        item: &str,
        value: Option<i32>,
        text: Option<&str>,
    ) {
        self.item_qid.append_value(qid);
        self.item.append_value(item);
        self.value.append_option(value);
        self.text.append_option(text);
    }

    /// Finish the builders into one batch per table (see [`CHUNK_TABLES`]).
    pub(crate) fn finish(mut self) -> Result<ChunkBatches, (&'static str, ArrowError)> {
        fn batch(
            spec: &contract::TableSpec,
            columns: Vec<ArrayRef>,
        ) -> Result<RecordBatch, (&'static str, ArrowError)> {
            RecordBatch::try_new(spec.schema(), columns).map_err(|e| (spec.name, e))
        }
        Ok([
            batch(
                &contract::PERSON,
                vec![
                    Arc::new(self.person_id.finish()),
                    Arc::new(self.birth_date.finish()),
                    Arc::new(self.gender.finish()),
                    Arc::new(self.ethnicity.finish()),
                ],
            )?,
            batch(
                &contract::REFERRAL,
                vec![
                    Arc::new(self.referral_id.finish()),
                    Arc::new(self.referral_person_id.finish()),
                    Arc::new(self.service_id.finish()),
                    Arc::new(self.referral_date.finish()),
                    Arc::new(self.referral_source.finish()),
                    Arc::new(self.closure_date.finish()),
                    Arc::new(self.closure_reason.finish()),
                ],
            )?,
            batch(
                &contract::CONTACT,
                vec![
                    Arc::new(self.contact_id.finish()),
                    Arc::new(self.contact_referral_id.finish()),
                    Arc::new(self.contact_date.finish()),
                    Arc::new(self.attendance.finish()),
                    Arc::new(self.direct.finish()),
                ],
            )?,
            batch(
                &contract::QUESTIONNAIRE,
                vec![
                    Arc::new(self.questionnaire_id.finish()),
                    Arc::new(self.q_referral_id.finish()),
                    Arc::new(self.q_contact_id.finish()),
                    Arc::new(self.measure.finish()),
                    Arc::new(self.informant.finish()),
                    Arc::new(self.version.finish()),
                    Arc::new(self.completed_date.finish()),
                ],
            )?,
            batch(
                &contract::QUESTIONNAIRE_ITEM,
                vec![
                    Arc::new(self.item_qid.finish()),
                    Arc::new(self.item.finish()),
                    Arc::new(self.value.finish()),
                    Arc::new(self.text.finish()),
                ],
            )?,
        ])
    }
}
