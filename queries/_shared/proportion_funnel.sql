-- title = "Proportion funnels"
-- description = """
-- Every proportion funnel of the dashboard, per source, metric and compared
-- unit, with the All row of each metric: value = x / n, the centre = sum of x
-- over sum of n across the compared units (suppressed units included), and
-- the funnel_limits of each unit at the chart's kind, coverages and, with
-- overdispersion = true, the DerSimonian-Laird tau2 over the units.
-- A chart selects its metrics: `select * exclude (source) from
-- proportion_funnel where source = 'metric_case' and metric in (...)`.
--
-- Sources: `metric_case`, every metric declared in a chart header
-- ([[metrics]], the view chart_metric) counted over _shared/metric_case.sql
-- (a metric with no case yet has its rows, with n = 0); `national`,
-- improvement_<rater> for the self and parent raters from
-- _shared/national_unit_measure.sql (x = improvement, n = paired)."""
-- kind = "bound_view"
-- stage = 10
--
-- [[params]]
-- use = ["funnel"]

-- Each step below reads the one before it once: a CTE is planned once per
-- reference, and the centre and the overdispersion, each a grouping of
-- the units' rows joined back to them, computed the units' counts over
-- the cases again for every reference (docs/performance.md, session 17).
with unit_count as (
    -- x and n per compared unit and metric, and over every compared unit
    -- (suppressed units included), is_all: the centre's counts.
    select
        'metric_case' as source,
        u.partnership_id, u.service_id, u.unit_name, m.metric,
        grouping(u.unit_id) = 1 as is_all,
        coalesce(sum(c.x), 0) as x,
        count(c.x) as n
    from compared_unit u
    cross join (select distinct metric from chart_metric) m
    left join metric_case c on c.unit_id = u.unit_id and c.metric = m.metric
    group by grouping sets (
        (m.metric, u.unit_id, u.partnership_id, u.service_id, u.unit_name),
        (m.metric)
    )
    union all
    select
        'national' as source,
        partnership_id, service_id, unit_name,
        'improvement_' || rater as metric,
        grouping(unit_name) = 1 as is_all,
        sum(improvement) as x,
        sum(paired) as n
    from national_unit_measure
    where rater in ('self', 'parent') and partnership_id is not null
    group by grouping sets ((rater, partnership_id, service_id, unit_name), (rater))
),

-- The metric's centre beside every row, from its is_all row; and, when
-- asked, the additive overdispersion over its units (tau2 = 0 when phi <=
-- 1; funnel_overdispersion skips a unit with no case, and the is_all row).
with_centre as (
    select *,
        max(case when is_all then cast(x as double) / nullif(n, 0) end)
            over (partition by source, metric) as centre
    from unit_count
),

with_dispersion as (
    select *,
        funnel_overdispersion(
            $funnel_kind, case when not is_all and n > 0 then cast(x as double) / n end,
            n, centre
        ) over (partition by source, metric) as dispersion
    from with_centre
),

limits as (
    select *,
        case when $overdispersion then coalesce(dispersion['tau2'], 0.0) else 0.0 end as tau2
    from with_dispersion
),

final as (
    select
        source,
        partnership_id,
        service_id,
        case when is_all then 'All' else unit_name end as unit_name,
        metric,
        value,
        x,
        n,
        centre,
        tau2,
        inner_limits['lower'] as lower_95,
        inner_limits['upper'] as upper_95,
        outer_limits['lower'] as lower_998,
        outer_limits['upper'] as upper_998,
        case when not is_all then
            funnel_position(value, inner_limits['lower'], inner_limits['upper'],
                outer_limits['lower'], outer_limits['upper'])
        end as position,
        false as suppressed
    from (
        select *,
            -- The All row: value = centre, x and n over every case, no limits.
            case when is_all then centre when n > 0 then cast(x as double) / n end as value,
            case when not is_all then
                funnel_limits($funnel_kind, centre, n, $coverage_inner, 0.0, tau2)
            end as inner_limits,
            case when not is_all then
                funnel_limits($funnel_kind, centre, n, $coverage_outer, 0.0, tau2)
            end as outer_limits
        from limits
    )
)

select * from final
