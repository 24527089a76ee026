-- title = "SDQ change"
-- description = """
-- Mean SDQ scores at T1 and T2 and the mean change, per unit and scale.
-- Paired cases: in-scope referrals with a T1 and a later T2 on the scale,
-- both on or before closure, and T2 on or before period_end."""
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
-- name = "scale"
-- type = "Utf8"
-- role = "key"
-- description = "SDQ scale"
--
-- [[columns]]
-- name = "label"
-- type = "Utf8"
-- role = "key"
-- description = "Scale name for the chart"
--
-- [[columns]]
-- name = "sort_order"
-- type = "Int64"
-- role = "key"
-- description = "Order of the scale on the chart"
--
-- [[columns]]
-- name = "n"
-- type = "Int64"
-- role = "denominator"
-- description = "Paired cases of the unit on the scale (the denominator)"
-- unit = "cases"
--
-- [[columns]]
-- name = "mean_t1"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Mean score at T1 over the paired cases"
-- unit = "score"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "mean_t2"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Mean score at T2 over the paired cases"
-- unit = "score"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "mean_change"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Mean of T2 - T1 (negative = fewer difficulties on scales where lower is better)"
-- unit = "score points"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "suppressed"
-- type = "Boolean"
-- role = "flag"
-- description = "True when the disclosure policy withheld a value of the row (`cypdash --sdc`; docs/definitions.md)"
--
-- [sdc]
-- unit = ["partnership_id", "service_id"]
-- series = ["scale"]
-- across = ["n"]

with scale as (
    select scale, label, sort_order
    from ref_scale
    where measure = 'SDQ'
),

case_score as (
    select unit_id, scale, t1, t2, change
    from paired_outcome
    where measure = 'SDQ'
      and informant = $informant
),

unit_scale as (
    select u.partnership_id, u.service_id, u.unit_id, u.unit_name, s.scale, s.label, s.sort_order
    from compared_unit u
    cross join scale s
),

per_unit as (
    select
        us.partnership_id, us.service_id, us.unit_name, us.scale, us.label, us.sort_order,
        count(c.change) as n,
        avg(c.t1) as mean_t1,
        avg(c.t2) as mean_t2,
        avg(c.change) as mean_change,
        0 as is_all
    from unit_scale us
    left join case_score c on c.unit_id = us.unit_id and c.scale = us.scale
    group by us.partnership_id, us.service_id, us.unit_name, us.scale, us.label, us.sort_order
),

all_units as (
    select
        cast(null as bigint) as partnership_id,
        cast(null as bigint) as service_id,
        'All' as unit_name,
        s.scale,
        s.label,
        s.sort_order,
        count(c.change) as n,
        avg(c.t1) as mean_t1,
        avg(c.t2) as mean_t2,
        avg(c.change) as mean_change,
        1 as is_all
    from scale s
    left join case_score c on c.scale = s.scale
    group by s.scale, s.label, s.sort_order
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        scale,
        label,
        cast(sort_order as bigint) as sort_order,
        n,
        mean_t1 as mean_t1,
        mean_t2 as mean_t2,
        mean_change as mean_change,
        false as suppressed
    from (select * from per_unit union all select * from all_units)
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order
