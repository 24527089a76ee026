//! Change between T1 and T2: reliable change (Jacobson & Truax 1991) and
//! pre-post effect sizes (Morris & DeShon 2002; metafor SMCR).
//!
//! | SQL | kind | file |
//! |---|---|---|
//! | `reliable_change(t1, t2, sd1, reliability, lower_is_better [, z])` | scalar -> Int64 | `reliable_change.rs` |
//! | `rci(t1, t2, sd1, reliability)` | scalar -> Float64 | `rci.rs` |
//! | `pre_post_effect_size(t1, t2)` | aggregate -> {d, se, n, r} | `pre_post_effect_size.rs` |
//! | `pre_post_hedges_g(t1, t2)` | aggregate -> {g, se, n, r} | `pre_post_effect_size.rs` (one implementation, keyed by estimator) |
//! | `score_sd(x)` | aggregate -> Float64 | `pre_post_effect_size.rs` (the same moments, x paired with itself) |
//! | `t1_t2(completed_date, questionnaire_id, score)` | aggregate -> {t1_questionnaire_id, t1_date, t1, t2_questionnaire_id, t2_date, t2} | `t1_t2.rs` |
//! | `first_last(completed_date, questionnaire_id, score)` | aggregate -> {first_questionnaire_id, first_date, first_score, last_questionnaire_id, last_date, last_score} | `t1_t2.rs` (one implementation, keyed by pairing rule) |
//! | `first_last_distinct(completed_date, questionnaire_id, score)` | aggregate -> {assessments, first_questionnaire_id, ..., last_score} | `first_last_distinct.rs` |

pub mod first_last_distinct;
pub mod pre_post_effect_size;
pub mod rci;
pub mod reliable_change;
pub mod t1_t2;

use datafusion::logical_expr::{AggregateUDF, DocSection, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Documentation section of the change functions.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Change functions",
    description: Some("T1/T2 pairing, reliable change and pre-post effect sizes."),
};

/// The scalar functions of this module.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(reliable_change::ReliableChange::new()),
        ScalarUDF::from(rci::Rci::new()),
    ]
}

/// The aggregate functions of this module.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::from(pre_post_effect_size::PrePostEffectSize::new(
            pre_post_effect_size::Estimate::D,
        )),
        AggregateUDF::from(pre_post_effect_size::PrePostEffectSize::new(
            pre_post_effect_size::Estimate::G,
        )),
        AggregateUDF::from(pre_post_effect_size::ScoreSd::new()),
        AggregateUDF::from(t1_t2::T1T2::new()),
        AggregateUDF::from(t1_t2::T1T2::with_pairing(t1_t2::Pairing::National)),
        AggregateUDF::from(first_last_distinct::FirstLastDistinct::new()),
    ]
}

/// Register this module's functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f);
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::doc_examples::check_doc_example;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn change_documentation_examples_run() {
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
    }
}
