-- title = "Severity at intake: SDQ"
-- description = """
-- Mean SDQ total difficulties (0-40) at T1 of the in-scope referrals, per unit,
-- as a mean funnel: centre = mean of all compared cases, limits = centre +- z x
-- sigma / sqrt(n) with sigma the SD of all compared cases. Higher means more
-- severe difficulties at intake."""
--
-- metrics = [
--     { code = "mean_t1_sdq_total_parent", label = "Severity at intake: mean SDQ total difficulties (parent)", benchmark = "mean", scores = { measure = "SDQ", scale = "total_difficulties", informant = "parent" } },
-- ]
--
-- [chart]
-- order = 6
-- kind = "funnel"
--
-- [[params]]
-- use = ["period", "units", "min_n", "sdq_informant", "coverage"]
--
-- [[columns]]
-- use = ["unit"]
--
-- [[columns]]
-- name = "value"
-- type = "Float64"
-- role = "mean"
-- of = "n"
-- description = "Mean T1 SDQ total difficulties of the unit"
-- unit = "score (0-40)"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = "n"
-- description = "In-scope referrals with a T1 SDQ total from the informant"
--
-- [[columns]]
-- use = "centre"
-- description = "The funnel's centre line: the value over all compared cases"
-- unit = "score (0-40)"
--
-- [[columns]]
-- name = "spread"
-- type = "Float64"
-- role = "derived"
-- from = ["centre"]
-- description = "The funnel's sigma (the spread argument of funnel_limits): the sample SD of the T1 SDQ total difficulties of all compared cases"
-- unit = "score (0-40)"
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
    -- The SDQ total_difficulties funnel of the shared severity funnels
    -- (_shared/severity_funnel.sql), over the T1s of $informant.
    select * exclude (measure, scale)
    from severity_funnel
    where measure = 'SDQ' and scale = 'total_difficulties'
)

select * from final
order by partnership_id nulls last, service_id nulls first
