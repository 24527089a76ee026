-- title = "Complexity factors"
-- description = """
-- From the first Current View of each in-scope referral: the percentage of
-- referrals with each of the 14 complexity factors recorded as present (yes).
-- Not-known counts as not present."""
-- needs_items = ["CURRENT_VIEW"]
--
-- [chart]
-- order = 5
-- kind = "items"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "current_view_share"]
-- count.description = "Referrals with the factor present"
--
-- [sdc]
-- series = ["item"]
-- across = ["count", "n"]

with final as (
    select partnership_id, service_id, unit_name, item, label, sort_order, count, n, pct, suppressed
    from current_view_share
    where item_group = 'complexity_factor'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order
