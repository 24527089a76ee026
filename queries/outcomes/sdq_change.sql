-- title = "SDQ change"
-- description = """
-- Mean SDQ scores at T1 and T2 and the mean change, per unit and scale.
-- Paired cases: in-scope referrals with a T1 and a later T2 on the scale,
-- both on or before closure, and T2 on or before period_end."""
--
-- [chart]
-- order = 1
-- kind = "change"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[params]]
-- name = "informant"
-- type = "text"
-- default = "parent"
-- description = "Whose SDQ: `parent`, `self` or `teacher`"
--
-- [[columns]]
-- use = ["unit"]
--
-- [[columns]]
-- use = "scale"
-- description = "SDQ scale"
--
-- [[columns]]
-- use = "label"
-- description = "Scale name for the chart"
--
-- [[columns]]
-- use = "sort_order"
-- description = "Order of the scale on the chart"
--
-- [[columns]]
-- use = "n"
-- description = "Paired cases of the unit on the scale (the denominator)"
-- unit = "cases"
--
-- [[columns]]
-- use = ["mean_t1", "mean_t2", "mean_change", "suppressed"]
--
-- [sdc]
-- unit = ["partnership_id", "service_id"]
-- series = ["scale"]
-- across = ["n"]

with final as (
    -- The SDQ scales of the shared change by scale (_shared/scale_change.sql),
    -- over the paired cases of $informant.
    select * exclude (measure)
    from scale_change
    where measure = 'SDQ'
)

select * from final
order by partnership_id nulls last, service_id nulls first, sort_order
