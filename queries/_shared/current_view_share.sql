-- title = "Current View shares"
-- description = """
-- For each compared unit (and the All row) and each problem descriptor and
-- complexity factor: how many in-scope referrals with a first Current View
-- rate it as present (a descriptor at or above severity_threshold, a
-- complexity factor = 1 yes), out of n = in-scope referrals with a first
-- Current View. Not-known ratings count as not present, and so does a
-- rating of 0 (none) whatever the threshold."""
-- kind = "bound_view"
-- stage = 8
--
-- [[params]]
-- name = "severity_threshold"
-- type = "int"
-- default = "2"
-- description = "Lowest descriptor rating that counts (1 mild, 2 moderate, 3 severe; 0 counts as 1)"
--
-- [[params]]
-- name = "period_end"
-- type = "date"
-- default = "auto"
-- description = "Last day of the reporting period: a first Current View completed after it is not counted"

with item as (
    select item, label, item_group, sort_order
    from ref_item
    where measure = 'CURRENT_VIEW'
),

-- The units' and the All row's counts from grouped passes (GROUPING SETS)
-- over the compared units' referrals, then one join: a CTE is planned once
-- per reference (DataFusion 55), so summing the units' counts into the All
-- row would join the ratings again.
assessed as (
    -- In-scope referrals of compared units with a first Current View by
    -- period_end (one completed later was not there at period_end).
    select r.unit_id, r.referral_id
    from in_scope_referral r
    join first_current_view cv using (referral_id)
    where cv.completed_date <= $period_end
      and r.unit_id in (select unit_id from compared_unit)
),

present as (
    select a.unit_id, cv.item
    from assessed a
    join current_view_rating cv using (referral_id)
    join item i on i.item = cv.item
    where (i.item_group = 'problem_descriptor'
           and cv.value between greatest($severity_threshold, 1) and 3)
       or (i.item_group = 'complexity_factor' and cv.value = 1)
),

present_count as (
    select unit_id, item, count(*) as count
    from present
    group by grouping sets ((unit_id, item), (item))
),

assessed_count as (
    select unit_id, count(*) as n
    from assessed
    group by grouping sets ((unit_id), ())
),

unit_item as (
    -- Every compared unit, and the All row when there is a unit, by item.
    select u.partnership_id, u.service_id, u.unit_id, u.unit_name,
        i.item, i.label, i.item_group, i.sort_order
    from (
        select partnership_id, service_id, unit_id, unit_name
        from compared_unit
        union all
        select cast(null as bigint), cast(null as bigint), cast(null as bigint), 'All'
        where exists (select 1 from compared_unit)
    ) u
    cross join item i
),

counted as (
    select
        ui.partnership_id, ui.service_id, ui.unit_id, ui.unit_name,
        ui.item, ui.label, ui.item_group, ui.sort_order,
        coalesce(pc.count, 0) as count,
        coalesce(ac.n, 0) as n
    from unit_item ui
    left join present_count pc
        on pc.item = ui.item and pc.unit_id is not distinct from ui.unit_id
    left join assessed_count ac on ac.unit_id is not distinct from ui.unit_id
),

flagged as (
    select *, false as suppressed
    from counted
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        item,
        label,
        item_group,
        cast(sort_order as bigint) as sort_order,
        cast(count as bigint) as count,
        cast(n as bigint) as n,
        case when n = 0 then null else 100.0 * count / n end as pct,
        suppressed
    from flagged
)

select * from final
