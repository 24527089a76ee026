-- title = "Category shares"
-- description = """
-- For each compared unit (and the All row), dimension and category: the
-- count of in-scope referrals, the unit's total n, and the percentage
-- (disclosure control is applied to the charts' results, not here)."""
-- kind = "bound_view"
-- stage = 8

with unit_category as (
    select u.partnership_id, u.service_id, u.unit_id, u.unit_name, c.dimension, c.category, c.sort_order
    from compared_unit u
    cross join category c
),

counted as (
    select
        uc.partnership_id, uc.service_id, uc.unit_id, uc.unit_name,
        uc.dimension, uc.category, uc.sort_order,
        count(rc.unit_id) as count
    from unit_category uc
    left join referral_category rc
        on rc.unit_id = uc.unit_id and rc.dimension = uc.dimension and rc.category = uc.category
    group by uc.partnership_id, uc.service_id, uc.unit_id, uc.unit_name,
        uc.dimension, uc.category, uc.sort_order
),

all_units as (
    select
        cast(null as bigint) as partnership_id, cast(null as bigint) as service_id,
        cast(null as bigint) as unit_id, 'All' as unit_name,
        dimension, category, sort_order, sum(count) as count
    from counted
    group by dimension, category, sort_order
),

with_n as (
    select *, sum(count) over (partition by unit_id, dimension) as n
    from counted
    union all
    select *, sum(count) over (partition by dimension) as n
    from all_units
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
