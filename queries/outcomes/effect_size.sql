-- title = "Pre-post effect size"
-- description = """
-- Pre-post effect size per unit over the paired cases of one measure, scale
-- and informant (default: SDQ total difficulties, parent): d = (mean T1 - mean
-- T2) / SD of T1, signed so that positive is improvement. Effect-size funnel:
-- centre = the pooled d of all compared cases, limits = centre +- z x sqrt(2(1 -
-- r)/n + centre^2/(2n)) with r the pooled T1-T2 correlation."""
--
-- metrics = [
--     { code = "effect_size_sdq_total_parent", label = "Effect size: SDQ total difficulties (parent)", better = "higher", benchmark = "effect_size", scores = { measure = "SDQ", scale = "total_difficulties", informant = "parent" } },
-- ]
--
-- [chart]
-- order = 3
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[params]]
-- name = "measure"
-- type = "text"
-- default = "SDQ"
-- description = "Measure: `SDQ`, `RCADS` or `GBO`"
--
-- [[params]]
-- name = "scale"
-- type = "text"
-- default = "total_difficulties"
-- description = "Scale of the measure (see ref_scale)"
--
-- [[params]]
-- use = ["informant", "coverage"]
--
-- [[columns]]
-- use = ["unit"]
--
-- [[columns]]
-- name = "value"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Effect size d of the unit (positive = improvement)"
-- unit = "standard deviations"
-- null_when = "withheld by the disclosure policy, or fewer than 2 cases or no spread at T1"
--
-- [[columns]]
-- name = "se"
-- type = "Float64"
-- role = "derived"
-- from = ["value", "n"]
-- description = "Standard error of d: sqrt(2(1 - r)/n + d^2/(2n))"
-- unit = "standard deviations"
-- null_when = "value is NULL"
--
-- [[columns]]
-- use = "n"
-- description = "Paired cases of the unit"
-- unit = "cases"
--
-- [[columns]]
-- use = "centre"
-- description = "Pooled d over all compared cases"
-- unit = "standard deviations"
-- null_when = "fewer than 2 paired cases in all"
--
-- [[columns]]
-- name = "spread"
-- type = "Float64"
-- role = "derived"
-- from = ["centre"]
-- description = "The funnel's r (the spread argument of funnel_limits): the pooled T1-T2 correlation of all compared paired cases"
-- unit = "correlation (-1 to 1)"
-- null_when = "fewer than 2 paired cases in all, or withheld with the centre"
--
-- [[columns]]
-- use = ["limits", "suppressed"]
--
-- [sdc]
-- across = ["n"]
--
-- [funnel]
-- kind = "effect_size"
-- spread = "spread"

with case_score as (
    select unit_id, t1, t2
    from paired_outcome
    where measure = $measure
      and scale = $scale
      and informant = $informant
),

direction as (
    -- d = (mean T1 - mean T2) / SD1 is positive when scores fall: flip the
    -- sign on scales where higher is better (ref_scale).
    select coalesce(max(case when lower_is_better then 1.0 else -1.0 end), 1.0) as sign
    from ref_scale
    where measure = $measure and scale = $scale
),

overall as (
    select pre_post_effect_size(t1, t2) as es
    from case_score
),

pooled as (
    select o.es['d'] * d.sign as centre, o.es['se'] as se, o.es['r'] as r, coalesce(o.es['n'], 0) as n
    from overall o
    cross join direction d
),

per_unit as (
    select u.partnership_id, u.service_id, u.unit_name, pre_post_effect_size(c.t1, c.t2) as es
    from compared_unit u
    left join case_score c on c.unit_id = u.unit_id
    group by u.partnership_id, u.service_id, u.unit_name
),

unit_and_all as (
    -- The units and the All row in one set, so that the single evaluation
    -- of `pooled` joined below gives every row the same centre and r: an
    -- aggregate over doubles evaluated twice may differ in its last bits,
    -- and the limits file of the export draws each unit's limits from them.
    select partnership_id, service_id, unit_name, es['d'] as d, es['se'] as se, coalesce(es['n'], 0) as n, false as is_all
    from per_unit
    union all
    select cast(null as bigint), cast(null as bigint), 'All', cast(null as double), cast(null as double), cast(0 as bigint), true
),

limits as (
    select
        u.partnership_id,
        u.service_id,
        u.unit_name,
        u.is_all,
        -- The All row: value = centre (the pooled d), its se and n, no limits.
        case when u.is_all then p.centre else u.d * d.sign end as d,
        case when u.is_all then p.se else u.se end as se,
        case when u.is_all then p.n else u.n end as n,
        p.centre,
        p.r,
        case when not u.is_all then funnel_limits('effect_size', p.centre, u.n, $coverage_inner, p.r) end as inner_limits,
        case when not u.is_all then funnel_limits('effect_size', p.centre, u.n, $coverage_outer, p.r) end as outer_limits
    from unit_and_all u
    cross join pooled p
    cross join direction d
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        d as value,
        se,
        cast(n as bigint) as n,
        centre,
        r as spread,
        inner_limits['lower'] as lower_95,
        inner_limits['upper'] as upper_95,
        outer_limits['lower'] as lower_998,
        outer_limits['upper'] as upper_998,
        funnel_position(d, inner_limits['lower'], inner_limits['upper'], outer_limits['lower'], outer_limits['upper']) as position,
        false as suppressed
    from limits
)

select * from final
order by partnership_id nulls last, service_id nulls first
