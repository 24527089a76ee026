-- title = "Idle cases"
-- description = """
-- Referrals open at period_end whose last attended contact on or before
-- period_end (or, with none, the referral date) is more than idle_days before
-- period_end, as a share of the open referrals (proportion funnel). A high
-- share may mean cases that ended but were never closed."""
--
-- metrics = [
--     { code = "idle", label = "Idle cases", headline = true, better = "lower", benchmark = "proportion" },
-- ]
--
-- [chart]
-- order = 2
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "idle_days", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "proportion_funnel"]
-- metric.description = "idle"
-- value.description = "Share of open referrals that are idle"
-- x.description = "Idle referrals"
-- n.description = "Referrals open at period_end"
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
      and metric in ('idle')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
