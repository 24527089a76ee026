-- title = "Pre-post effect size"
-- description = """
-- Pre-post effect size per unit over the paired cases of one measure, scale
-- and informant (default: SDQ total difficulties, parent): d = (mean T1 - mean
-- T2) / SD of T1, signed so that positive is improvement. Effect-size funnel:
-- centre = the pooled d of all compared cases, limits = centre +- z x sqrt(2(1 -
-- r)/n + centre^2/(2n)) with r the pooled T1-T2 correlation."""
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
-- name = "informant"
-- type = "text"
-- default = "parent"
-- description = "Whose questionnaires"
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
-- name = "n"
-- type = "Int64"
-- role = "denominator"
-- description = "Paired cases of the unit"
-- unit = "cases"
--
-- [[columns]]
-- name = "centre"
-- type = "Float64"
-- role = "centre"
-- of = "value"
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
