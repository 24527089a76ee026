-- title = "Gender"
-- description = """
-- In-scope referrals by gender (NHS person stated gender grouped by
-- ref_gender), as a count and a percentage of the unit's in-scope referrals.
-- A missing or unlisted code counts as `Not known`."""
--
-- [chart]
-- order = 1
-- kind = "categories"
--
-- [[chart.cover]]
-- label = "In-scope referrals"
-- column = "n"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "category_share"]
-- category.description = "Gender group"
--
-- [sdc]
-- series = ["category"]
-- across = ["count", "n"]
--
-- [[sdc.sums]]
-- cells = ["count"]
-- total = "n"
-- over = "unit"

with final as (
    select partnership_id, service_id, unit_name, category, sort_order, count, n, pct, suppressed
    from category_share
    where dimension = 'gender'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order, category
