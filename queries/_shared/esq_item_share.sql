-- title = "ESQ answers per item"
-- description = """
-- For each compared unit (and the All row), ESQ version and item 1-12: the
-- ESQs completed in the period for in-scope referrals, split into certainly
-- true (2), partly true (1) and not true (0); don't know (9), missing and
-- out-of-range answers are left out of n."""
-- kind = "bound_view"
-- stage = 9
--
-- [[params]]
-- use = ["period"]

with answer as (
    select r.unit_id, a.version, a.item, a.value
    from esq_answer a
    join in_scope_referral r using (referral_id)
    where a.completed_date between $period_start and $period_end
),

version as (
    select column1 as version, column2 as version_order
    from (values ('parent', 1), ('child_9_11', 2), ('young_person_12_18', 3))
),

item as (
    select item, label, sort_order
    from ref_item
    where measure = 'ESQ'
),

-- Count per unit, version and item, and per version and item for the All
-- row, in one grouped pass (GROUPING SETS; a few thousand rows), then lay
-- the counts on the full grid so that every unit shows every item. A CTE
-- is planned once per reference (DataFusion 55), so summing the units'
-- counts into the All row would read the answers again. Versions and items
-- not listed never meet a row of the join.
listed_answer as (
    select a.unit_id, a.version, a.item, a.value
    from answer a
    where a.unit_id in (select unit_id from compared_unit)
),

answer_count as (
    select
        unit_id, version, item,
        count(*) as n,
        sum(case when value = 2 then 1 else 0 end) as certainly,
        sum(case when value = 1 then 1 else 0 end) as partly,
        sum(case when value = 0 then 1 else 0 end) as not_true
    from listed_answer
    group by grouping sets ((unit_id, version, item), (version, item))
),

unit_row as (
    -- Every compared unit, and the All row when there is a unit.
    select partnership_id, service_id, unit_id, unit_name
    from compared_unit
    union all
    select cast(null as bigint), cast(null as bigint), cast(null as bigint), 'All'
    where exists (select 1 from compared_unit)
),

counted as (
    select
        u.partnership_id, u.service_id, u.unit_id, u.unit_name, v.version, v.version_order,
        i.item, i.label, i.sort_order,
        coalesce(a.n, 0) as n,
        coalesce(a.certainly, 0) as certainly,
        coalesce(a.partly, 0) as partly,
        coalesce(a.not_true, 0) as not_true
    from unit_row u
    cross join version v
    cross join item i
    left join answer_count a
        on a.version = v.version and a.item = i.item
        and a.unit_id is not distinct from u.unit_id
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        version,
        cast(version_order as bigint) as version_order,
        item,
        label,
        cast(sort_order as bigint) as sort_order,
        cast(n as bigint) as n,
        case when n > 0 then 100.0 * certainly / n end as pct_certainly_true,
        case when n > 0 then 100.0 * partly / n end as pct_partly_true,
        case when n > 0 then 100.0 * not_true / n end as pct_not_true,
        false as suppressed
    from counted
)

select * from final
