-- title = "Age at referral"
-- description = """
-- In-scope referrals by age band at referral (whole years from birth date to
-- referral date; bands from ref_age_band), as a count and a percentage of the
-- unit's in-scope referrals. No birth date, or one after the referral: `unknown`."""
--
-- [chart]
-- order = 2
-- kind = "categories"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "category_share"]
-- category.description = "Age band"
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
    where dimension = 'age_band'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order, category
