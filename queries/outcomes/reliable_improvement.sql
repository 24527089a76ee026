-- title = "Reliable improvement"
-- description = """
-- The CORC case-level roll-up over the paired totals that have reliable-change
-- parameters (SDQ total difficulties and RCADS total, every informant): the
-- share of cases with reliable improvement (at least one total reliably
-- improved, none reliably deteriorated), with reliable deterioration, recovery
-- and reliable recovery as further metrics. Each metric is a proportion funnel;
-- the headline is reliable_improvement."""
--
-- metrics = [
--     { code = "reliable_improvement", label = "Reliable improvement", headline = true, better = "higher", benchmark = "proportion" },
--     { code = "reliable_deterioration", label = "Reliable deterioration", better = "lower" },
--     { code = "recovery", label = "Recovery", better = "higher" },
--     { code = "reliable_recovery", label = "Reliable recovery", better = "higher" },
-- ]
--
-- [chart]
-- order = 4
-- kind = "funnel"
--
-- [[chart.cover]]
-- label = "Cases with a paired outcome"
-- column = "n"
-- metric = "reliable_improvement"
--
-- [[params]]
-- use = ["period", "units", "min_n", "funnel"]
--
-- [[columns]]
-- use = ["unit", "proportion_funnel"]
-- metric.description = "reliable_improvement, reliable_deterioration (denominator: cases with a paired total), recovery, reliable_recovery (denominator: cases with a paired total in the clinical range at T1)"
-- n.description = "Cases in the metric's denominator"
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
      and metric in ('reliable_improvement', 'reliable_deterioration', 'recovery', 'reliable_recovery')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
