-- title = "National measure: measurable improvement"
-- description = """
-- Of the referrals closed in the period with a paired score of the rater
-- (MHS112b, 112d, 112f), the share that showed measurable improvement by
-- NHS England's method (MHS113b, 114b, 115b: a paired score reliably
-- improved on the national threshold and none reliably deteriorated), per
-- compared unit and rater, as a proportion funnel. Metrics:
-- improvement_self and improvement_parent; no cypdash measure maps to a
-- national clinician-rated concept, so there is no clinician funnel
-- (national/outcome_measures shows its zeros)."""
--
-- metrics = [
--     { code = "improvement_self", label = "Self-rated: measurable improvement (MHS113b)", headline = true, better = "higher" },
--     { code = "improvement_parent", label = "Parent-rated: measurable improvement (MHS114b)", headline = true, better = "higher" },
-- ]
--
-- [chart]
-- order = 2
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "metric", "rater", "value", "x", "n", "centre", "tau2", "limits", "suppressed"]
-- metric.description = "improvement_self or improvement_parent"
-- rater.description = "self or parent"
-- value.description = "Share of paired referrals with measurable improvement"
-- x.description = "Referrals with measurable improvement (MHS113a, 114a, 115a)"
-- x.unit = "referrals"
-- n.description = "Referrals with a paired score of the rater (MHS112b, 112d, 112f)"
-- n.unit = "referrals"
-- centre.description = "The funnel's centre line: sum of x over sum of n across all compared units (the All row's value)"
--
-- [sdc]
-- series = ["metric"]
-- across = ["x", "n"]
--
-- [funnel]
-- kind = "$funnel_kind"
-- group = ["metric", "rater"]
-- tau2 = "tau2"

with final as (
    -- The national metrics of the shared proportion funnel
    -- (_shared/proportion_funnel.sql; counts: _shared/national_unit_measure.sql).
    select
        partnership_id, service_id, unit_name, metric,
        substr(metric, length('improvement_') + 1) as rater,
        value, x, n, centre, tau2, lower_95, upper_95, lower_998, upper_998, position, suppressed
    from proportion_funnel
    where source = 'national'
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
