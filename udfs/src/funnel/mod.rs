//! Funnel plots (Spiegelhalter 2005; FunnelPlotR; PHEindicatormethods):
//! control limits, a unit's position, overdispersion, the limit curve as a
//! table, and the Wilson interval of a single proportion.
//!
//! | SQL | kind | file |
//! |---|---|---|
//! | `funnel_limits(kind, target, n, coverage [, spread [, tau2]])` | scalar -> {lower, upper} | `funnel_limits.rs` |
//! | `funnel_position(value, lower_95, upper_95, lower_998, upper_998)` | scalar -> Utf8 | `funnel_position.rs` |
//! | `funnel_overdispersion(kind, value, n, target [, spread])` | aggregate -> {phi, tau2} | `funnel_overdispersion.rs` |
//! | `funnel_curve(kind, target, max_n [, spread [, tau2]])` | table | `funnel_curve.rs` |
//! | `proportion_ci(x, n, coverage)` | scalar -> {lower, upper} | `proportion_ci.rs` |
//!
//! Kinds and their scales are in [`kind`]; the distribution maths in
//! [`crate::stats`].

pub mod funnel_curve;
pub mod funnel_limits;
pub mod funnel_overdispersion;
pub mod funnel_position;
pub mod kind;
pub mod proportion_ci;

#[cfg(test)]
mod proptests;

use datafusion::logical_expr::{AggregateUDF, DocSection, ScalarUDF};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub use kind::FunnelKind;

/// Documentation section of the funnel functions.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Funnel plot functions",
    description: Some(
        "Funnel-plot limits, positions and overdispersion (Spiegelhalter 2005, FunnelPlotR, \
         PHEindicatormethods).",
    ),
};

/// The scalar functions of this module.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(funnel_limits::FunnelLimits::new()),
        ScalarUDF::from(funnel_position::FunnelPositionFunc::new()),
        ScalarUDF::from(proportion_ci::ProportionCi::new()),
    ]
}

/// The aggregate functions of this module.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![AggregateUDF::from(
        funnel_overdispersion::FunnelOverdispersion::new(),
    )]
}

/// Register this module's functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f);
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
    ctx.register_udtf(
        funnel_curve::FunnelCurve::NAME,
        Arc::new(funnel_curve::FunnelCurve),
    );
}

#[cfg(test)]
mod doc_tests {
    use crate::doc_examples::check_doc_example;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn funnel_documentation_examples_run() {
        let ctx = SessionContext::new();
        super::register(&ctx);
        for f in super::scalar_functions() {
            let doc = f.documentation().expect("documented");
            check_doc_example(&ctx, f.name(), doc).await;
        }
        for f in super::aggregate_functions() {
            let doc = f.documentation().expect("documented");
            check_doc_example(&ctx, f.name(), doc).await;
        }
        let curve = super::funnel_curve::FunnelCurve;
        check_doc_example(
            &ctx,
            super::funnel_curve::FunnelCurve::NAME,
            curve.documentation(),
        )
        .await;
    }
}
