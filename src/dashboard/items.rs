//! Charts that need item-level data (issue 13).
//!
//! A chart declares in its header the measures whose items it reads
//! (`needs_items = ["ESQ"]`: ESQ answers, Current View ratings and problem
//! descriptors have no scale score to stand in for them). Over data with no
//! items of such a measure (an MHSDS extract, a contract directory of scale
//! scores only) the chart's result has no rows and carries a note saying
//! why, which the export manifest and the report show: an empty chart is
//! never mistaken for zeros.

use crate::engine::Engine;
use datafusion::error::DataFusionError;
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// Which measures have items in the session's data, found on first use.
#[derive(Debug, Default)]
pub(super) struct ItemData {
    known: Mutex<BTreeMap<String, bool>>,
}

impl ItemData {
    /// The note of a chart that needs the items of `measures`, when the data
    /// has none of one of them (`None`: the chart can run).
    pub(super) async fn note(
        &self,
        engine: &Engine,
        measures: &[String],
    ) -> Result<Option<String>, DataFusionError> {
        let mut missing = Vec::new();
        for measure in measures {
            if !self.has_items(engine, measure).await? {
                missing.push(measure_name(measure));
            }
        }
        Ok((!missing.is_empty()).then(|| missing_note(&missing)))
    }

    async fn has_items(&self, engine: &Engine, measure: &str) -> Result<bool, DataFusionError> {
        let mut known = self.known.lock().await;
        if let Some(has) = known.get(measure) {
            return Ok(*has);
        }
        // LIMIT 1: the scan stops at the first item found.
        let sql = format!(
            "SELECT 1 FROM questionnaire q JOIN questionnaire_item i USING (questionnaire_id) \
             WHERE q.measure = '{}' LIMIT 1",
            measure.replace('\'', "''")
        );
        let rows: usize = engine.sql(&sql).await?.iter().map(|b| b.num_rows()).sum();
        known.insert(measure.to_string(), rows > 0);
        Ok(rows > 0)
    }
}

/// A measure as readers know it.
fn measure_name(code: &str) -> &str {
    match code {
        "CURRENT_VIEW" => "Current View",
        other => other,
    }
}

/// The note of a chart whose needed items are missing.
pub fn missing_note(measures: &[&str]) -> String {
    format!(
        "No rows: this chart reads {} items, and the data holds none (an MHSDS \
         extract, for one, has scale scores only).",
        measures.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_measures_as_readers_know_them() {
        assert_eq!(
            missing_note(&[measure_name("CURRENT_VIEW")]),
            "No rows: this chart reads Current View items, and the data holds none \
             (an MHSDS extract, for one, has scale scores only)."
        );
    }
}
