-- title = "Category shares"
-- description = """
-- For each compared unit (and the All row), dimension and category: the
-- count of in-scope referrals, the unit's total n, and the percentage
-- (disclosure control is applied to the charts' results, not here)."""
-- kind = "bound_view"
-- stage = 8

-- The units' and the All row's counts from one grouped pass (GROUPING
-- SETS) over the compared units' referrals, then one join: a CTE is
-- planned once per reference (DataFusion 55), so summing the units' counts
-- into the All row would join the referrals again. Categories not listed
-- never meet a row of the join.
with listed_referral as (
    select rc.unit_id, rc.dimension, rc.category
    from referral_category rc
    where rc.unit_id in (select unit_id from compared_unit)
),

grouped as (
    select unit_id, dimension, category, count(*) as count
    from listed_referral
    group by grouping sets ((unit_id, dimension, category), (dimension, category))
),

unit_category as (
    -- Every compared unit and the All row (when there is a unit), by every
    -- category.
    select u.partnership_id, u.service_id, u.unit_id, u.unit_name, c.dimension, c.category, c.sort_order
    from compared_unit u
    cross join category c
    union all
    select cast(null as bigint), cast(null as bigint), cast(null as bigint), 'All',
        c.dimension, c.category, c.sort_order
    from category c
    where exists (select 1 from compared_unit)
),

counted as (
    select uc.*, coalesce(g.count, 0) as count
    from unit_category uc
    left join grouped g
        on g.dimension = uc.dimension and g.category = uc.category
        and g.unit_id is not distinct from uc.unit_id
),

with_n as (
    select *, sum(count) over (partition by unit_id, dimension) as n
    from counted
),

flagged as (
    select *, false as suppressed
    from with_n
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        dimension,
        category,
        sort_order,
        count,
        cast(n as bigint) as n,
        case when n = 0 then null else 100.0 * count / n end as pct,
        suppressed
    from flagged
)

select * from final
