-- title = "Severity at intake: RCADS"
-- description = """
-- Mean RCADS total (anxiety plus depression, 0-141) at T1 of the in-scope
-- referrals, per unit, as a mean funnel (centre = mean of all compared cases,
-- sigma = their SD). Higher means more severe symptoms at intake."""
--
-- metrics = [
--     { code = "mean_t1_rcads_total_self", label = "Severity at intake: mean RCADS total (self)", benchmark = "mean", scores = { measure = "RCADS", scale = "total", informant = "self" } },
-- ]
--
-- [chart]
-- order = 7
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "rcads_informant", "coverage"]
--
-- [[columns]]
-- use = ["unit"]
--
-- [[columns]]
-- name = "value"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Mean T1 RCADS total of the unit"
-- unit = "score (0-141)"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = "n"
-- description = "In-scope referrals with a T1 RCADS total from the informant"
--
-- [[columns]]
-- use = "centre"
-- description = "The funnel's centre line: the value over all compared cases"
-- unit = "score (0-141)"
--
-- [[columns]]
-- name = "spread"
-- type = "Float64"
-- role = "derived"
-- from = ["centre"]
-- description = "The funnel's sigma (the spread argument of funnel_limits): the sample SD of the T1 RCADS total of all compared cases"
-- unit = "score (0-141)"
-- null_when = "fewer than 2 cases in all, or withheld with the centre"
--
-- [[columns]]
-- use = ["limits", "suppressed"]
--
-- [sdc]
-- across = ["n"]
--
-- [funnel]
-- kind = "mean"
-- spread = "spread"

with final as (
    -- The RCADS total funnel of the shared severity funnels
    -- (_shared/severity_funnel.sql), over the T1s of $informant.
    select * exclude (measure, scale)
    from severity_funnel
    where measure = 'RCADS' and scale = 'total'
)

select * from final
order by partnership_id nulls last, service_id nulls first
