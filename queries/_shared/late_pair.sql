-- title = "Pairs whose T2 is after the period"
-- description = """
-- The T1/T2 pairs of outcome_pair whose T1 is on or before period_end but
-- whose T2 (the latest in all the data) is after it: their T2 as of
-- period_end is found again by paired_outcome, over the questionnaires up
-- to period_end. Few at an earlier period_end, and none at the default one
-- (it ends on the latest date in the data) but for questionnaires dated in
-- the future; kept apart so that paired_outcome reads this small table,
-- not outcome_pair, for each measure."""
-- kind = "bound_view"
-- stage = 5
--
-- [[params]]
-- use = ["period_end"]

with final as (
    select referral_id, measure, informant, scale, t1_date
    from outcome_pair
    where t1_date <= $period_end
      and t2_date > $period_end
)

select * from final
