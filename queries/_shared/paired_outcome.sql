-- title = "Paired outcomes in the period"
-- description = """
-- The paired T1/T2 scores (outcome_pair with paired = true) of the in-scope
-- referrals whose T2 falls on or before period_end, with the unit they count
-- under and the scale's direction (ref_scale). The population of every
-- outcomes chart."""
-- kind = "bound_view"
-- stage = 6
--
-- [[params]]
-- name = "period_end"
-- type = "date"
-- default = "auto"
-- description = "Last day of the reporting period (default: the latest date in the data)"

with final as (
    select
        r.unit_id,
        p.referral_id,
        p.measure,
        p.informant,
        p.scale,
        p.t1,
        p.t2,
        p.change,
        p.reliable_change,
        p.t1_clinical,
        p.t2_clinical,
        coalesce(s.lower_is_better, true) as lower_is_better,
        s.sort_order as scale_order
    from outcome_pair p
    join in_scope_referral r using (referral_id)
    left join ref_scale s on s.measure = p.measure and s.scale = p.scale
    where p.paired
      and p.t2_date <= $period_end
)

select * from final
