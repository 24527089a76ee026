-- title = "Problem descriptors"
-- description = """
-- From the first Current View of each in-scope referral (the earliest on or
-- after the referral date): the percentage of referrals whose clinician rated
-- each of the 30 problem descriptors at or above severity_threshold (default
-- moderate). Not-known ratings count as not rated at that level."""
-- needs_items = ["CURRENT_VIEW"]
--
-- [chart]
-- order = 4
-- kind = "items"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[params]]
-- name = "severity_threshold"
-- type = "int"
-- default = "2"
-- description = "Lowest descriptor rating that counts: 1 mild, 2 moderate (default), 3 severe"
--
-- [[columns]]
-- use = ["unit", "current_view_share"]
-- count.description = "Referrals with the descriptor rated at or above the threshold"
--
-- [sdc]
-- series = ["item"]
-- across = ["count", "n"]

with final as (
    select partnership_id, service_id, unit_name, item, label, sort_order, count, n, pct, suppressed
    from current_view_share
    where item_group = 'problem_descriptor'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order
