-- title = "Satisfaction with the help"
-- description = """
-- Share of Experience of Service Questionnaires completed in the period that
-- answer `certainly true` to item 12 (overall, the help is good), for parents
-- and for children and young people separately (don't know and missing
-- excluded), as proportion funnels."""
-- needs_items = ["ESQ"]
--
-- [[params]]
-- name = "period_start"
-- type = "date"
-- default = "auto"
-- description = "First day of the reporting period (default: 12 months before period_end)"
--
-- [[params]]
-- name = "period_end"
-- type = "date"
-- default = "auto"
-- description = "Last day of the reporting period (default: the latest date in the data)"
--
-- [[params]]
-- name = "collaborative"
-- type = "text"
-- default = "all"
-- description = "Compare only the partnerships of this collaborative (`all`: every partnership)"
--
-- [[params]]
-- name = "partnership"
-- type = "int"
-- default = "0"
-- description = "Compare only the services of this partnership (0: all); use with level = service for a team drill-down"
--
-- [[params]]
-- name = "level"
-- type = "text"
-- default = "partnership"
-- description = "Unit of comparison: `partnership` or `service` (teams)"
--
-- [[params]]
-- name = "min_n"
-- type = "int"
-- default = "5"
-- description = "Small-number threshold of the `corc` disclosure policy: counts from 1 to min_n - 1 are withheld, and so is every share or mean over fewer than min_n cases (`--sdc`; docs/definitions.md)"
--
-- [[params]]
-- name = "coverage_inner"
-- type = "float"
-- default = "95"
-- description = "Coverage of the inner funnel limits (lower_95, upper_95), in percent"
--
-- [[params]]
-- name = "coverage_outer"
-- type = "float"
-- default = "99.8"
-- description = "Coverage of the outer funnel limits (lower_998, upper_998), in percent"
--
-- [[params]]
-- name = "funnel_kind"
-- type = "text"
-- default = "proportion_exact"
-- description = "Funnel limits: `proportion_exact` (Spiegelhalter interpolated binomial), `proportion` (normal approximation) or `proportion_arcsine`"
--
-- [[params]]
-- name = "overdispersion"
-- type = "bool"
-- default = "false"
-- description = "Widen the limits by the additive overdispersion (DerSimonian-Laird tau2) estimated over the compared units"
--
-- [[columns]]
-- name = "partnership_id"
-- type = "Int64"
-- role = "key"
-- description = "The partnership"
-- null_when = "the All row"
--
-- [[columns]]
-- name = "service_id"
-- type = "Int64"
-- role = "key"
-- description = "The service (team)"
-- null_when = "level = partnership, and the All row"
--
-- [[columns]]
-- name = "unit_name"
-- type = "Utf8"
-- role = "key"
-- description = "Name of the partnership or service; `All` for the compared set"
--
-- [[columns]]
-- name = "metric"
-- type = "Utf8"
-- role = "key"
-- description = "esq_satisfaction_parent or esq_satisfaction_self"
--
-- [[columns]]
-- name = "value"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- count = "x"
-- description = "Share answering certainly true"
-- unit = "proportion (0-1)"
-- null_when = "withheld by the disclosure policy, or n = 0"
--
-- [[columns]]
-- name = "x"
-- type = "Int64"
-- role = "numerator"
-- of = "n"
-- description = "ESQs answering certainly true"
-- unit = "cases"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "n"
-- type = "Int64"
-- role = "denominator"
-- description = "ESQs with item 12 answered"
-- unit = "cases"
--
-- [[columns]]
-- name = "centre"
-- type = "Float64"
-- role = "centre"
-- of = "value"
-- description = "The funnel's centre line: sum of x over sum of n across all compared units"
-- unit = "proportion (0-1)"
-- null_when = "no cases at all, or withheld on the All row"
--
-- [[columns]]
-- name = "tau2"
-- type = "Float64"
-- role = "derived"
-- from = ["centre"]
-- description = "The additive overdispersion in the limits (the tau2 argument of funnel_limits): DerSimonian-Laird tau2 over the compared units of the metric with overdispersion = true, else 0"
-- unit = "the funnel kind's comparison scale, squared"
-- null_when = "withheld with the centre"
--
-- [[columns]]
-- name = "lower_95"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "centre"]
-- description = "Inner lower limit (coverage_inner, default 95%)"
-- null_when = "n = 0 or withheld, and the All row"
--
-- [[columns]]
-- name = "upper_95"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "centre"]
-- description = "Inner upper limit (coverage_inner, default 95%)"
-- null_when = "n = 0 or withheld, and the All row"
--
-- [[columns]]
-- name = "lower_998"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "centre"]
-- description = "Outer lower limit (coverage_outer, default 99.8%)"
-- null_when = "n = 0 or withheld, and the All row"
--
-- [[columns]]
-- name = "upper_998"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "centre"]
-- description = "Outer upper limit (coverage_outer, default 99.8%)"
-- null_when = "n = 0 or withheld, and the All row"
--
-- [[columns]]
-- name = "position"
-- type = "Utf8"
-- role = "derived"
-- from = ["value"]
-- description = "Where the value lies: above_998, above_95, inside, below_95, below_998"
-- null_when = "the value is withheld, and the All row"
--
-- [[columns]]
-- name = "suppressed"
-- type = "Boolean"
-- role = "flag"
-- description = "True when the disclosure policy withheld a value of the row (`cypdash --sdc`; docs/definitions.md)"
--
-- [sdc]
-- unit = ["partnership_id", "service_id"]
-- series = ["metric"]
-- across = ["x", "n"]
--
-- [funnel]
-- kind = "$funnel_kind"
-- group = ["metric"]
-- tau2 = "tau2"

with metric as (
    select column1 as metric from (values ('esq_satisfaction_parent'), ('esq_satisfaction_self'))
),

per_unit as (
    -- x and n per compared unit and metric (definitions: _shared/metric_case.sql).
    select
        u.partnership_id, u.service_id, u.unit_name, m.metric,
        coalesce(sum(c.x), 0) as x,
        count(c.x) as n
    from compared_unit u
    cross join metric m
    left join metric_case c on c.unit_id = u.unit_id and c.metric = m.metric
    group by u.partnership_id, u.service_id, u.unit_name, m.metric
),

overall as (
    -- Centre over every case of the compared units, suppressed units included.
    select metric, sum(x) as x, sum(n) as n, cast(sum(x) as double) / nullif(sum(n), 0) as centre
    from per_unit
    group by metric
),

dispersion as (
    -- Additive overdispersion when asked (tau2 = 0 when phi <= 1).
    select
        pu.metric,
        case
            when $overdispersion then coalesce(
                funnel_overdispersion($funnel_kind, cast(pu.x as double) / pu.n, pu.n, o.centre)['tau2'],
                0.0)
            else 0.0
        end as tau2
    from per_unit pu
    join overall o using (metric)
    where pu.n > 0
    group by pu.metric
),

limits as (
    select
        pu.*,
        o.centre,
        coalesce(d.tau2, 0.0) as tau2,
        funnel_limits($funnel_kind, o.centre, pu.n, $coverage_inner, 0.0, coalesce(d.tau2, 0.0)) as inner_limits,
        funnel_limits($funnel_kind, o.centre, pu.n, $coverage_outer, 0.0, coalesce(d.tau2, 0.0)) as outer_limits
    from per_unit pu
    join overall o using (metric)
    left join dispersion d using (metric)
),

units as (
    select
        partnership_id,
        service_id,
        unit_name,
        metric,
        case when n > 0 then cast(x as double) / n end as value,
        x as x,
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
        partnership_id, service_id, unit_name, metric, value, x, n, centre, tau2,
        lower_95, upper_95, lower_998, upper_998,
        funnel_position(value, lower_95, upper_95, lower_998, upper_998) as position,
        suppressed
    from units
    union all
    select
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
    left join dispersion d using (metric)
)

select * from final
order by metric, partnership_id nulls last, service_id nulls first
