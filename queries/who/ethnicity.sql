-- title = "Ethnicity"
-- description = """
-- In-scope referrals by ethnic group (NHS ethnic category grouped by
-- ref_ethnicity: White, Mixed, Asian, Black, Other), as a count and a
-- percentage of the unit's in-scope referrals. Codes Z and 99, a missing or an
-- unlisted code: `Not stated or known`."""
--
-- [chart]
-- order = 3
-- kind = "categories"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "category_share"]
-- category.description = "Ethnic group"
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
    where dimension = 'ethnicity'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order, category
