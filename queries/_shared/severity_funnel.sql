-- title = "Severity at intake"
-- description = """
-- A mean funnel per measure and scale of the T1 scores of the in-scope
-- referrals with a T1 from the chosen informant, dated by period_end (a T1
-- after the period is not known yet): per compared unit the mean and n,
-- the centre = the mean of all compared cases and sigma = their sample SD,
-- limits = centre +- z x sigma / sqrt(n). A severity chart selects its scale:
-- `select * exclude (measure, scale) from severity_funnel where measure = 'SDQ'
-- and scale = 'total_difficulties'`."""
-- kind = "bound_view"
-- stage = 11
--
-- [[params]]
-- use = ["period_end"]
--
-- [[params]]
-- use = "informant"
-- description = "Whose questionnaires (each severity chart sets its own)"
--
-- [[params]]
-- use = ["coverage"]

with t1 as (
    -- T1 scores of each in-scope referral with a T1 from the chosen informant.
    select p.measure, p.scale, r.unit_id, p.t1
    from in_scope_referral r
    join outcome_pair p using (referral_id)
    where p.informant = $informant
      and p.t1_date <= $period_end  -- a T1 after the period is not known yet
),

scale as (
    select measure, scale
    from ref_scale
),

-- One pass over the T1s for both groupings: each unit's cases, and every
-- case of the compared units (suppressed units included) for the centre
-- and sigma. Two groupings over `t1` read and joined every T1 twice (a
-- CTE is planned once per reference; docs/performance.md, session 17).
-- sigma is the sample SD of the individual T1 scores (score_sd:
-- stddev_samp that gives the same bits in any row order).
t1_grouped as (
    select
        measure, scale, unit_id, grouping(unit_id) = 1 as is_all,
        count(t1) as n, avg(t1) as mean, score_sd(t1) as sigma
    from t1
    group by grouping sets ((measure, scale, unit_id), (measure, scale))
),

-- Every compared unit and the All row for each scale, with its grouping
-- (none when it has no T1).
unit_and_all as (
    select
        x.measure, x.scale, x.partnership_id, x.service_id, x.unit_name, x.is_all,
        coalesce(g.n, 0) as n, g.mean, g.sigma
    from (
        select s.measure, s.scale, u.partnership_id, u.service_id, u.unit_id, u.unit_name,
            false as is_all
        from compared_unit u
        cross join scale s
        union all
        select measure, scale, cast(null as bigint), cast(null as bigint), cast(null as bigint),
            'All', true
        from scale
    ) x
    left join t1_grouped g
        on g.measure = x.measure and g.scale = x.scale and g.is_all = x.is_all
        and (x.is_all or g.unit_id = x.unit_id)
),

-- The All row's figures beside every row of its scale: one evaluation of
-- the aggregate, so every row has the same bits of centre and sigma (the
-- limits file of the export draws each unit's limits from them).
with_overall as (
    select *,
        max(case when is_all then mean end) over (partition by measure, scale) as centre,
        max(case when is_all then sigma end) over (partition by measure, scale) as overall_sigma,
        max(case when is_all then n end) over (partition by measure, scale) as overall_n
    from unit_and_all
),

limits as (
    select
        measure,
        scale,
        partnership_id,
        service_id,
        unit_name,
        -- The All row: value = centre, n = all cases, no limits.
        case when is_all then centre else mean end as value,
        case when is_all then overall_n else n end as n,
        centre,
        overall_sigma as sigma,
        case when not is_all then funnel_limits('mean', centre, n, $coverage_inner, overall_sigma) end as inner_limits,
        case when not is_all then funnel_limits('mean', centre, n, $coverage_outer, overall_sigma) end as outer_limits
    from with_overall
),

final as (
    select
        measure,
        scale,
        partnership_id,
        service_id,
        unit_name,
        value,
        n,
        centre,
        sigma as spread,
        inner_limits['lower'] as lower_95,
        inner_limits['upper'] as upper_95,
        outer_limits['lower'] as lower_998,
        outer_limits['upper'] as upper_998,
        funnel_position(value, inner_limits['lower'], inner_limits['upper'], outer_limits['lower'], outer_limits['upper']) as position,
        false as suppressed
    from limits
)

select * from final
