-- title = "Benchmarking"
-- description = """
-- The headline value of each funnel chart for every partnership, beside the
-- value of its collaborative and the national value (all partnerships in the
-- data), with the partnership's position on its collaborative's funnel
-- (centre = the collaborative's value). The headlines are the metrics the
-- chart headers declare with a `benchmark` kind, in dashboard order: a
-- proportion's cases come from _shared/metric_case.sql; a mean's from the
-- T1s and an effect size's from the pairs of the scores its header names
-- (`scores`: measure, scale, informant)."""
--
-- [chart]
-- order = 4
-- kind = "benchmark"
--
-- [[params]]
-- use = ["period", "idle_days", "min_n", "coverage", "funnel_kind"]
--
-- [[columns]]
-- name = "partnership_id"
-- type = "Int64"
-- role = "key"
-- description = "The partnership"
--
-- [[columns]]
-- use = "partnership_name"
--
-- [[columns]]
-- use = "collaborative"
-- description = "Its collaborative"
--
-- [[columns]]
-- name = "chart"
-- type = "Utf8"
-- role = "key"
-- description = "The chart the headline comes from (section/chart)"
--
-- [[columns]]
-- use = "metric"
-- description = "The headline metric"
--
-- [[columns]]
-- use = "value"
-- description = "The partnership's value"
-- unit = "as the chart: a proportion (0-1), a mean score, or an effect size"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = "x"
-- description = "Cases meeting a proportion headline (the numerator of value)"
-- null_when = "the headline is a mean or an effect size; withheld by the disclosure policy"
--
-- [[columns]]
-- use = "n"
-- description = "The partnership's denominator"
--
-- [[columns]]
-- name = "collaborative_value"
-- type = "Float64"
-- role = "proportion"
-- of = "collaborative_n"
-- count = "collaborative_x"
-- description = "The value over all partnerships of the collaborative (the funnel's centre)"
-- null_when = "no cases in the collaborative"
--
-- [[columns]]
-- name = "collaborative_x"
-- type = "Int64"
-- role = "numerator"
-- of = "collaborative_n"
-- description = "Numerator of collaborative_value for a proportion headline"
-- unit = "cases"
-- null_when = "the headline is a mean or an effect size; withheld by the disclosure policy"
--
-- [[columns]]
-- name = "collaborative_n"
-- type = "Int64"
-- role = "denominator"
-- description = "Cases of the collaborative behind collaborative_value"
-- unit = "cases"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "national_value"
-- type = "Float64"
-- role = "proportion"
-- of = "national_n"
-- count = "national_x"
-- description = "The value over all partnerships in the data"
-- null_when = "no cases at all, or withheld on the All row"
--
-- [[columns]]
-- name = "national_x"
-- type = "Int64"
-- role = "numerator"
-- of = "national_n"
-- description = "Numerator of national_value for a proportion headline"
-- unit = "cases"
-- null_when = "the headline is a mean or an effect size; withheld by the disclosure policy"
--
-- [[columns]]
-- name = "national_n"
-- type = "Int64"
-- role = "denominator"
-- description = "Cases behind national_value"
-- unit = "cases"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "lower_95"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "collaborative_value"]
-- description = "Inner lower limit of the collaborative's funnel at n"
-- null_when = "n = 0"
--
-- [[columns]]
-- name = "upper_95"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "collaborative_value"]
-- description = "Inner upper limit of the collaborative's funnel at n"
-- null_when = "n = 0"
--
-- [[columns]]
-- name = "lower_998"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "collaborative_value"]
-- description = "Outer lower limit of the collaborative's funnel at n"
-- null_when = "n = 0"
--
-- [[columns]]
-- name = "upper_998"
-- type = "Float64"
-- role = "derived"
-- from = ["n", "collaborative_value"]
-- description = "Outer upper limit of the collaborative's funnel at n"
-- null_when = "n = 0"
--
-- [[columns]]
-- use = "position"
-- description = "Position on the collaborative's funnel"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = ["suppressed"]

with partnership_row as (
    -- Every partnership in the data (this chart always compares them all).
    select unit_id as partnership_id, unit_name as partnership_name, collaborative
    from compared_unit
),

headline as (
    -- The headlines the chart headers declare ([[metrics]] with a benchmark
    -- kind; the view chart_metric), in dashboard order, with the scores a
    -- mean or an effect size summarises (its `scores`).
    select chart, metric, benchmark as kind, measure, scale, informant,
        row_number() over (order by chart_order, metric_order) as chart_order
    from chart_metric
    where benchmark is not null
),

case_value as (
    -- One value per case and metric: a 0/1 for proportions, a score for
    -- means (the T1s of the in-scope referrals known by period_end).
    select unit_id as partnership_id, metric, cast(x as double) as y
    from metric_case
    union all
    select r.unit_id, h.metric, p.t1
    from headline h
    join outcome_pair p
        on p.measure = h.measure and p.informant = h.informant and p.scale = h.scale
    join in_scope_referral r using (referral_id)
    where h.kind = 'mean'
      and p.t1_date <= $period_end
),

es_case as (
    -- The pairs of each effect-size headline.
    select p.unit_id as partnership_id, h.metric, p.t1, p.t2
    from headline h
    join paired_outcome p
        on p.measure = h.measure and p.informant = h.informant and p.scale = h.scale
    where h.kind = 'effect_size'
),

partnership_value as (
    select pr.partnership_id, pr.collaborative, h.metric, h.kind,
        avg(v.y) as value, sum(v.y) as y_sum, count(v.y) as n
    from partnership_row pr
    cross join headline h
    left join case_value v on v.partnership_id = pr.partnership_id and v.metric = h.metric
    where h.kind <> 'effect_size'
    group by pr.partnership_id, pr.collaborative, h.metric, h.kind
    union all
    select pr.partnership_id, pr.collaborative, h.metric, h.kind,
        pre_post_effect_size(e.t1, e.t2)['d'], cast(null as double),
        coalesce(pre_post_effect_size(e.t1, e.t2)['n'], 0)
    from partnership_row pr
    cross join headline h
    left join es_case e on e.partnership_id = pr.partnership_id and e.metric = h.metric
    where h.kind = 'effect_size'
    group by pr.partnership_id, pr.collaborative, h.metric, h.kind
),

collaborative_value as (
    -- Centre and spread of each collaborative's funnel: the mean and SD of
    -- its cases (sigma for mean funnels), or the pooled d and r.
    select pr.collaborative, v.metric, avg(v.y) as centre, score_sd(v.y) as spread,
        sum(v.y) as y_sum, count(v.y) as n
    from case_value v
    join partnership_row pr using (partnership_id)
    group by pr.collaborative, v.metric
    union all
    select pr.collaborative, e.metric,
        pre_post_effect_size(e.t1, e.t2)['d'], pre_post_effect_size(e.t1, e.t2)['r'],
        cast(null as double), coalesce(pre_post_effect_size(e.t1, e.t2)['n'], 0)
    from es_case e
    join partnership_row pr using (partnership_id)
    group by pr.collaborative, e.metric
),

national_value as (
    select metric, avg(y) as value, sum(y) as y_sum, count(y) as n
    from case_value
    group by metric
    union all
    select h.metric, pre_post_effect_size(e.t1, e.t2)['d'],
        cast(null as double), coalesce(pre_post_effect_size(e.t1, e.t2)['n'], 0)
    from headline h
    left join es_case e using (metric)
    where h.kind = 'effect_size'
    group by h.metric
),

limits as (
    select
        pv.*,
        cv.centre,
        cv.y_sum as collaborative_y_sum,
        cv.n as collaborative_n,
        nv.value as national_value,
        nv.y_sum as national_y_sum,
        nv.n as national_n,
        case
            when pv.kind = 'proportion' then funnel_limits($funnel_kind, cv.centre, pv.n, $coverage_inner)
            else funnel_limits(pv.kind, cv.centre, pv.n, $coverage_inner, cv.spread)
        end as inner_limits,
        case
            when pv.kind = 'proportion' then funnel_limits($funnel_kind, cv.centre, pv.n, $coverage_outer)
            else funnel_limits(pv.kind, cv.centre, pv.n, $coverage_outer, cv.spread)
        end as outer_limits
    from partnership_value pv
    left join collaborative_value cv on cv.collaborative = pv.collaborative and cv.metric = pv.metric
    left join national_value nv on nv.metric = pv.metric
),

final as (
    select
        l.partnership_id,
        pr.partnership_name,
        l.collaborative,
        h.chart,
        l.metric,
        l.value as value,
        -- The counts behind a proportion (NULL for a mean or an effect size):
        -- disclosure control reads them (src/disclosure.rs).
        case when l.kind = 'proportion' then cast(coalesce(l.y_sum, 0) as bigint) end as x,
        cast(l.n as bigint) as n,
        l.centre as collaborative_value,
        case when l.kind = 'proportion' then cast(coalesce(l.collaborative_y_sum, 0) as bigint) end as collaborative_x,
        cast(l.collaborative_n as bigint) as collaborative_n,
        l.national_value,
        case when l.kind = 'proportion' then cast(coalesce(l.national_y_sum, 0) as bigint) end as national_x,
        cast(l.national_n as bigint) as national_n,
        l.inner_limits['lower'] as lower_95,
        l.inner_limits['upper'] as upper_95,
        l.outer_limits['lower'] as lower_998,
        l.outer_limits['upper'] as upper_998,
        funnel_position(
            l.value,
            l.inner_limits['lower'], l.inner_limits['upper'],
            l.outer_limits['lower'], l.outer_limits['upper']) as position,
        false as suppressed,
        h.chart_order
    from limits l
    join partnership_row pr using (partnership_id)
    join headline h using (metric)
)

select partnership_id, partnership_name, collaborative, chart, metric, value, x, n,
    collaborative_value, collaborative_x, collaborative_n, national_value, national_x, national_n, lower_95, upper_95, lower_998, upper_998,
    position, suppressed
from final
order by partnership_id, chart_order
