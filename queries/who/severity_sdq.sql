-- title = "Severity at intake: SDQ"
-- description = """
-- Mean SDQ total difficulties (0-40) at T1 of the in-scope referrals, per unit,
-- as a mean funnel: centre = mean of all compared cases, limits = centre +- z x
-- sigma / sqrt(n) with sigma the SD of all compared cases. Higher means more
-- severe difficulties at intake."""
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
-- name = "informant"
-- type = "text"
-- default = "parent"
-- description = "Whose SDQ: `parent`, `self` or `teacher`"
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
-- description = "Mean T1 SDQ total difficulties of the unit"
-- unit = "score (0-40)"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "n"
-- type = "Int64"
-- role = "denominator"
-- description = "In-scope referrals with a T1 SDQ total from the informant"
--
-- [[columns]]
-- name = "centre"
-- type = "Float64"
-- role = "centre"
-- of = "value"
-- description = "The funnel's centre line: the value over all compared cases"
-- unit = "score (0-40)"
-- null_when = "no cases at all, or withheld on the All row"
--
-- [[columns]]
-- name = "spread"
-- type = "Float64"
-- role = "derived"
-- from = ["centre"]
-- description = "The funnel's sigma (the spread argument of funnel_limits): the sample SD of the T1 SDQ total difficulties of all compared cases"
-- unit = "score (0-40)"
-- null_when = "fewer than 2 cases in all, or withheld with the centre"
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
-- kind = "mean"
-- spread = "spread"

with t1 as (
    -- T1 SDQ total difficulties of each in-scope referral with a T1 from the chosen informant.
    select r.unit_id, p.t1
    from in_scope_referral r
    join outcome_pair p using (referral_id)
    where p.measure = 'SDQ'
      and p.informant = $informant
      and p.scale = 'total_difficulties'
      and p.t1_date <= $period_end  -- a T1 after the period is not known yet
),

overall as (
    -- Centre and sigma over every case of the compared units (suppressed
    -- units included); sigma is the sample SD of the individual T1 scores.
    select avg(t1) as centre, stddev_samp(t1) as sigma, count(t1) as n
    from t1
),

per_unit as (
    select u.partnership_id, u.service_id, u.unit_name, count(t1.t1) as n, avg(t1.t1) as mean
    from compared_unit u
    left join t1 on t1.unit_id = u.unit_id
    group by u.partnership_id, u.service_id, u.unit_name
),

unit_and_all as (
    -- The units and the All row in one set, so that the single evaluation
    -- of `overall` joined below gives every row the same centre and sigma: an
    -- aggregate over doubles evaluated twice may differ in its last bits,
    -- and the limits file of the export draws each unit's limits from them.
    select partnership_id, service_id, unit_name, n, mean, false as is_all
    from per_unit
    union all
    select cast(null as bigint), cast(null as bigint), 'All', cast(0 as bigint), cast(null as double), true
),

limits as (
    select
        u.partnership_id,
        u.service_id,
        u.unit_name,
        u.is_all,
        -- The All row: value = centre, n = all cases, no limits.
        case when u.is_all then o.centre else u.mean end as value,
        case when u.is_all then o.n else u.n end as n,
        o.centre,
        o.sigma,
        case when not u.is_all then funnel_limits('mean', o.centre, u.n, $coverage_inner, o.sigma) end as inner_limits,
        case when not u.is_all then funnel_limits('mean', o.centre, u.n, $coverage_outer, o.sigma) end as outer_limits
    from unit_and_all u
    cross join overall o
),

final as (
    select
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
order by partnership_id nulls last, service_id nulls first
