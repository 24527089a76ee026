-- title = "Parents' experience of the service"
-- description = """
-- Parent ESQs completed in the period: for each of the 12 items, the share of
-- answers certainly true, partly true and not true (don't know excluded)."""
-- needs_items = ["ESQ"]
--
-- [chart]
-- order = 1
-- kind = "esq"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "esq_item_share"]
--
-- [sdc]
-- series = ["version", "item"]
-- across = ["n", "pct_certainly_true", "pct_partly_true", "pct_not_true"]
--
-- [[sdc.sums]]
-- cells = ["pct_certainly_true", "pct_partly_true", "pct_not_true"]
-- total = "n"
-- over = "row"

with final as (
    select partnership_id, service_id, unit_name, version, item, label, sort_order,
        n, pct_certainly_true, pct_partly_true, pct_not_true, suppressed, version_order
    from esq_item_share
    where version in ('parent')
)

select partnership_id, service_id, unit_name, version, item, label, sort_order,
    n, pct_certainly_true, pct_partly_true, pct_not_true, suppressed
from final
order by partnership_id nulls last, service_id nulls first, version_order, sort_order
