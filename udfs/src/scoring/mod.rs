//! Questionnaire scoring aggregates: `sdq_scores`, `rcads_scores`,
//! `esq_scores`.
//!
//! Each takes the long item table of one questionnaire (`item`, `value`
//! rows, typically `GROUP BY questionnaire_id`) and returns a struct of
//! scores, read in SQL as `s['field']`. The scoring rules live in plain-Rust
//! kernels ([`SdqAnswers`], [`RcadsAnswers`], [`EsqAnswers`]); the shared
//! Arrow plumbing (coercion, accumulators, state) is in `accumulator`.
//!
//! All three share the duplicate rule of `answers`: identical duplicate
//! rows count once, conflicting ones make the item missing, so results never
//! depend on row order or partitioning.

mod accumulator;
mod answers;
pub mod esq_scores;
pub mod rcads_scores;
pub mod sdq_scores;

use datafusion::logical_expr::{AggregateUDF, DocSection};
use datafusion::prelude::SessionContext;

pub use esq_scores::{EsqAnswers, EsqScores, EsqScoresFunc};
pub use rcads_scores::{RcadsAnswers, RcadsScores, RcadsScoresFunc};
pub use sdq_scores::{SdqAnswers, SdqScores, SdqScoresFunc};

/// Documentation section of the scoring functions.
pub const DOC_SECTION_SCORING: DocSection = DocSection {
    include: true,
    label: "Questionnaire scoring",
    description: Some("Aggregates that score one questionnaire from its long item rows."),
};

/// The scoring aggregates of this module.
pub fn functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(SdqScoresFunc::new()),
        AggregateUDF::from(RcadsScoresFunc::new()),
        AggregateUDF::from(EsqScoresFunc::new()),
    ]
}

/// Register this module's functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in functions() {
        ctx.register_udaf(f);
    }
}

#[cfg(test)]
mod tests;
