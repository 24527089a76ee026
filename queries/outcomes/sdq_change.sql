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
-- use = ["period", "units", "min_n", "sdq_informant"]
--
-- [[columns]]
-- use = ["unit", "scale_change"]
-- scale.description = "SDQ scale"
--
-- [sdc]
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
