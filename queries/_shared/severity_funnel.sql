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

overall as (
    -- Centre and sigma over every case of the compared units (suppressed
    -- units included); sigma is the sample SD of the individual T1 scores
    -- (score_sd: stddev_samp that gives the same bits in any row order).
    select s.measure, s.scale, avg(t1.t1) as centre, score_sd(t1.t1) as sigma, count(t1.t1) as n
    from scale s
    left join t1 on t1.measure = s.measure and t1.scale = s.scale
    group by s.measure, s.scale
),

per_unit as (
    select
        s.measure, s.scale, u.partnership_id, u.service_id, u.unit_name,
        count(t1.t1) as n, avg(t1.t1) as mean
    from compared_unit u
    cross join scale s
    left join t1 on t1.unit_id = u.unit_id and t1.measure = s.measure and t1.scale = s.scale
    group by s.measure, s.scale, u.partnership_id, u.service_id, u.unit_name
),

unit_and_all as (
    -- The units and the All row in one set, so that the single evaluation
    -- of `overall` joined below gives every row the same centre and sigma: an
    -- aggregate over doubles evaluated twice may differ in its last bits,
    -- and the limits file of the export draws each unit's limits from them.
    select measure, scale, partnership_id, service_id, unit_name, n, mean, false as is_all
    from per_unit
    union all
    select measure, scale, cast(null as bigint), cast(null as bigint), 'All', cast(0 as bigint), cast(null as double), true
    from scale
),

limits as (
    select
        u.measure,
        u.scale,
        u.partnership_id,
        u.service_id,
        u.unit_name,
        -- The All row: value = centre, n = all cases, no limits.
        case when u.is_all then o.centre else u.mean end as value,
        case when u.is_all then o.n else u.n end as n,
        o.centre,
        o.sigma,
        case when not u.is_all then funnel_limits('mean', o.centre, u.n, $coverage_inner, o.sigma) end as inner_limits,
        case when not u.is_all then funnel_limits('mean', o.centre, u.n, $coverage_outer, o.sigma) end as outer_limits
    from unit_and_all u
    join overall o using (measure, scale)
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
