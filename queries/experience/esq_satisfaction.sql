-- title = "Satisfaction with the help"
-- description = """
-- Share of Experience of Service Questionnaires completed in the period that
-- answer `certainly true` to item 12 (overall, the help is good), for parents
-- and for children and young people separately (don't know and missing
-- excluded), as proportion funnels."""
-- needs_items = ["ESQ"]
--
-- metrics = [
--     { code = "esq_satisfaction_parent", label = "Parents: the help is good", headline = true, better = "higher", benchmark = "proportion" },
--     { code = "esq_satisfaction_self", label = "Children and young people: the help is good", headline = true, better = "higher", benchmark = "proportion" },
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
-- metric.description = "esq_satisfaction_parent or esq_satisfaction_self"
-- value.description = "Share answering certainly true"
-- x.description = "ESQs answering certainly true"
-- n.description = "ESQs with item 12 answered"
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
      and metric in ('esq_satisfaction_parent', 'esq_satisfaction_self')
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
