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
-- use = ["unit"]
--
-- [[columns]]
-- use = "category"
-- description = "Ethnic group"
--
-- [[columns]]
-- use = "sort_order"
-- description = "Order of the category on the chart"
--
-- [[columns]]
-- use = "count"
-- description = "In-scope referrals in the category"
--
-- [[columns]]
-- use = "n"
-- description = "In-scope referrals of the unit (the denominator)"
-- unit = "referrals"
--
-- [[columns]]
-- use = ["pct", "suppressed"]
--
-- [sdc]
-- unit = ["partnership_id", "service_id"]
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
