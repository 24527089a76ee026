//! DataFusion functions for the outcome measures of children's mental-health
//! services (CYP IAPT): questionnaire scoring, reliable change, effect sizes
//! and funnel-plot limits.
//!
//! The crate depends on DataFusion only. Call [`register_all`] on a
//! `SessionContext` to make every function
//! available to SQL.
//!
//! Each SQL function lives in its own file with its documentation, its
//! signature, a plain-Rust kernel and unit tests.

pub(crate) mod args;
pub mod change;
#[cfg(test)]
pub(crate) mod doc_examples;
pub mod funnel;
pub mod scoring;
pub mod stats;

use datafusion::prelude::SessionContext;

/// Register every cypdash function (scalar, aggregate and table functions)
/// on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    scoring::register(ctx);
    change::register(ctx);
    funnel::register(ctx);
}
