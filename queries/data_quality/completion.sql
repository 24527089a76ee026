-- title = "Outcome measure completion"
-- description = """
-- For referrals closed in the period after at least 2 attended contacts: the
-- share with a T1 and the share with a paired T1/T2, for SDQ, RCADS and goals
-- (any informant, any scale) and for any of them. Each is a proportion funnel;
-- the headline is paired_any."""
--
-- metrics = [
--     { code = "t1_sdq", label = "SDQ at T1" },
--     { code = "paired_sdq", label = "SDQ paired" },
--     { code = "t1_rcads", label = "RCADS at T1" },
--     { code = "paired_rcads", label = "RCADS paired" },
--     { code = "t1_gbo", label = "Goals at T1" },
--     { code = "paired_gbo", label = "Goals paired" },
--     { code = "t1_any", label = "Any measure at T1" },
--     { code = "paired_any", label = "Any measure paired", headline = true, better = "higher", benchmark = "proportion" },
-- ]
--
-- [chart]
-- order = 1
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "proportion_funnel"]
-- metric.description = "t1_<measure> or paired_<measure> for sdq, rcads, gbo and any"
-- value.description = "Share of eligible closed referrals with the measure"
-- x.description = "Referrals with the measure at T1 (t1_) or paired (paired_)"
-- n.description = "Referrals closed in the period with 2 or more attended contacts"
--
-- [sdc]
-- series = ["metric"]
-- across = ["x", "n"]
--
-- [funnel]
-- kind = "$funnel_kind"
-- group = ["metric"]
-- tau2 = "tau2"

with final as (
    -- This chart's metrics of the shared proportion funnel
    -- (_shared/proportion_funnel.sql; cases: _shared/metric_case.sql).
    select * exclude (source)
    from proportion_funnel
    where source = 'metric_case'
      and metric in ('t1_sdq', 'paired_sdq', 't1_rcads', 'paired_rcads', 't1_gbo', 'paired_gbo', 't1_any', 'paired_any')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
