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

with per_unit as (
    -- x and n per compared unit and metric.
    select
        'metric_case' as source,
        u.partnership_id, u.service_id, u.unit_name, m.metric,
        coalesce(sum(c.x), 0) as x,
        count(c.x) as n
    from compared_unit u
    cross join (select distinct metric from chart_metric) m
    left join metric_case c on c.unit_id = u.unit_id and c.metric = m.metric
    group by u.partnership_id, u.service_id, u.unit_name, m.metric
    union all
    select
        'national' as source,
        partnership_id, service_id, unit_name,
        'improvement_' || rater as metric,
        improvement as x,
        paired as n
    from national_unit_measure
    where rater in ('self', 'parent') and partnership_id is not null
),

overall as (
    -- Centre over every case of the compared units, suppressed units included.
    select source, metric, sum(x) as x, sum(n) as n, cast(sum(x) as double) / nullif(sum(n), 0) as centre
    from per_unit
    group by source, metric
),

dispersion as (
    -- Additive overdispersion when asked (tau2 = 0 when phi <= 1).
    select
        pu.source,
        pu.metric,
        case
            when $overdispersion then coalesce(
                funnel_overdispersion($funnel_kind, cast(pu.x as double) / pu.n, pu.n, o.centre)['tau2'],
                0.0)
            else 0.0
        end as tau2
    from per_unit pu
    join overall o using (source, metric)
    where pu.n > 0
    group by pu.source, pu.metric
),

limits as (
    select
        pu.*,
        o.centre,
        coalesce(d.tau2, 0.0) as tau2,
        funnel_limits($funnel_kind, o.centre, pu.n, $coverage_inner, 0.0, coalesce(d.tau2, 0.0)) as inner_limits,
        funnel_limits($funnel_kind, o.centre, pu.n, $coverage_outer, 0.0, coalesce(d.tau2, 0.0)) as outer_limits
    from per_unit pu
    join overall o using (source, metric)
    left join dispersion d using (source, metric)
),

units as (
    select
        source,
        partnership_id,
        service_id,
        unit_name,
        metric,
        case when n > 0 then cast(x as double) / n end as value,
        x,
        n,
        centre,
        tau2,
        inner_limits['lower'] as lower_95,
        inner_limits['upper'] as upper_95,
        outer_limits['lower'] as lower_998,
        outer_limits['upper'] as upper_998,
        false as suppressed
    from limits
),

final as (
    select
        source, partnership_id, service_id, unit_name, metric, value, x, n, centre, tau2,
        lower_95, upper_95, lower_998, upper_998,
        funnel_position(value, lower_95, upper_95, lower_998, upper_998) as position,
        suppressed
    from units
    union all
    select
        source,
        cast(null as bigint) as partnership_id,
        cast(null as bigint) as service_id,
        'All' as unit_name,
        metric,
        centre as value,
        x,
        n,
        centre,
        coalesce(d.tau2, 0.0) as tau2,
        cast(null as double) as lower_95,
        cast(null as double) as upper_95,
        cast(null as double) as lower_998,
        cast(null as double) as upper_998,
        cast(null as varchar) as position,
        false as suppressed
    from overall
    left join dispersion d using (source, metric)
)

select * from final
