-- title = "Children's and young people's experience of the service"
-- description = """
-- ESQs completed in the period by children (9-11 version) and young people
-- (12-18 version): for each of the 12 items, the share of answers certainly
-- true, partly true and not true (don't know excluded), per version."""
-- needs_items = ["ESQ"]
--
-- [chart]
-- order = 2
-- kind = "esq"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit"]
--
-- [[columns]]
-- name = "version"
-- type = "Utf8"
-- role = "key"
-- description = "ESQ version: parent, child_9_11 or young_person_12_18"
--
-- [[columns]]
-- name = "item"
-- type = "Utf8"
-- role = "key"
-- description = "Item code esq_01 .. esq_12"
--
-- [[columns]]
-- name = "label"
-- type = "Utf8"
-- role = "key"
-- description = "What the item asks (paraphrased)"
--
-- [[columns]]
-- name = "sort_order"
-- type = "Int64"
-- role = "key"
-- description = "Order of the item on the chart"
--
-- [[columns]]
-- name = "n"
-- type = "Int64"
-- role = "denominator"
-- description = "ESQs answering the item certainly, partly or not true (the denominator)"
-- unit = "questionnaires"
--
-- [[columns]]
-- name = "pct_certainly_true"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- scale = 100
-- description = "Share answering certainly true"
-- unit = "percent (0-100)"
-- null_when = "withheld by the disclosure policy, or n = 0"
--
-- [[columns]]
-- name = "pct_partly_true"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- scale = 100
-- description = "Share answering partly true"
-- unit = "percent (0-100)"
-- null_when = "withheld by the disclosure policy, or n = 0"
--
-- [[columns]]
-- name = "pct_not_true"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- scale = 100
-- description = "Share answering not true"
-- unit = "percent (0-100)"
-- null_when = "withheld by the disclosure policy, or n = 0"
--
-- [[columns]]
-- use = ["suppressed"]
--
-- [sdc]
-- unit = ["partnership_id", "service_id"]
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
    where version in ('child_9_11', 'young_person_12_18')
)

select partnership_id, service_id, unit_name, version, item, label, sort_order,
    n, pct_certainly_true, pct_partly_true, pct_not_true, suppressed
from final
order by partnership_id nulls last, service_id nulls first, version_order, sort_order
