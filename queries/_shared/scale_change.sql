-- title = "Change by scale"
-- description = """
-- Mean scores at T1 and T2 and the mean change over the paired cases of the
-- chosen informant (_shared/paired_outcome.sql), per measure, scale
-- (ref_scale) and compared unit, with the All row of each scale over every
-- paired case. A change chart selects its measure:
-- `select * exclude (measure) from scale_change where measure = 'SDQ'`."""
-- kind = "bound_view"
-- stage = 11
--
-- [[params]]
-- name = "informant"
-- type = "text"
-- default = "parent"
-- description = "Whose questionnaires (each change chart sets its own)"

with scale as (
    select measure, scale, label, sort_order
    from ref_scale
),

case_score as (
    select measure, unit_id, scale, t1, t2, change
    from paired_outcome
    where informant = $informant
),

unit_scale as (
    select u.partnership_id, u.service_id, u.unit_id, u.unit_name, s.measure, s.scale, s.label, s.sort_order
    from compared_unit u
    cross join scale s
),

per_unit as (
    select
        us.measure,
        us.partnership_id, us.service_id, us.unit_name, us.scale, us.label, us.sort_order,
        count(c.change) as n,
        avg(c.t1) as mean_t1,
        avg(c.t2) as mean_t2,
        avg(c.change) as mean_change
    from unit_scale us
    left join case_score c
        on c.unit_id = us.unit_id and c.measure = us.measure and c.scale = us.scale
    group by us.measure, us.partnership_id, us.service_id, us.unit_name, us.scale, us.label, us.sort_order
),

all_units as (
    select
        s.measure,
        cast(null as bigint) as partnership_id,
        cast(null as bigint) as service_id,
        'All' as unit_name,
        s.scale,
        s.label,
        s.sort_order,
        count(c.change) as n,
        avg(c.t1) as mean_t1,
        avg(c.t2) as mean_t2,
        avg(c.change) as mean_change
    from scale s
    left join case_score c on c.measure = s.measure and c.scale = s.scale
    group by s.measure, s.scale, s.label, s.sort_order
),

final as (
    select
        measure,
        partnership_id,
        service_id,
        unit_name,
        scale,
        label,
        cast(sort_order as bigint) as sort_order,
        n,
        mean_t1,
        mean_t2,
        mean_change,
        false as suppressed
    from (select * from per_unit union all select * from all_units)
)

select * from final
