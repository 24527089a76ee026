-- title = "Use of goals"
-- description = """
-- For referrals closed in the period: the share with any goal rated
-- (goal_rated) and the share with a goal rated at least twice (goal_paired,
-- the headline funnel)."""
--
-- metrics = [
--     { code = "goal_rated", label = "Any goal rated" },
--     { code = "goal_paired", label = "A goal paired", headline = true, better = "higher", benchmark = "proportion" },
-- ]
--
-- [chart]
-- order = 3
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "proportion_funnel"]
-- metric.description = "goal_rated or goal_paired"
-- value.description = "Share of closed referrals"
-- x.description = "Referrals with a goal rated (goal_rated) or paired (goal_paired)"
-- n.description = "Referrals closed in the period"
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
      and metric in ('goal_rated', 'goal_paired')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
