-- title = "National population of the period, per rater"
-- description = """
-- NHS England's CYP outcome measures: the referrals of national_referral
-- closed in the period (national.md section 1; nationally one month, here
-- any period) in a service of a partnership in scope (collaborative,
-- partnership), with their breakdown categories and, per rater (self,
-- parent, clinician, any), the flags of national_outcome. Four rows per
-- referral; improvement, no_change and deterioration are NULL for `any`."""
-- kind = "bound_view"
-- stage = 7
--
-- [[params]]
-- use = ["period"]
--
-- [[params]]
-- name = "collaborative"
-- type = "text"
-- default = "all"
-- description = "Only the partnerships of this collaborative (`all`: every partnership)"
--
-- [[params]]
-- name = "partnership"
-- type = "int"
-- default = "0"
-- description = "Only this partnership (0: every partnership)"

with in_period as (
    select r.*
    from national_referral r
    join partnership p using (partnership_id)
    where r.closure_date between $period_start and $period_end
      and ($collaborative = 'all' or p.collaborative = $collaborative)
      and ($partnership = 0 or r.partnership_id = $partnership)
),

flagged as (
    select
        i.referral_id, i.partnership_id, i.service_id, i.age_band, i.gender,
        i.upper_ethnicity, i.referral_source,
        i.contact_2 is not null as closed_2_contacts,
        o.self_assessment, o.self_paired, o.self_improvement, o.self_no_change,
        o.self_deterioration, o.parent_assessment, o.parent_paired, o.parent_improvement,
        o.parent_no_change, o.parent_deterioration, o.clinician_assessment,
        o.clinician_paired, o.clinician_improvement, o.clinician_no_change,
        o.clinician_deterioration, o.any_assessment, o.any_paired
    from in_period i
    join national_outcome o using (referral_id)
),

-- The four raters' rows from one unnest: a CTE is planned once per
-- reference (DataFusion 55), so a union of four selects from `flagged`
-- would join the referrals and their outcomes four times.
final as (
    select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity,
        referral_source, closed_2_contacts,
        unnest(['self', 'parent', 'clinician', 'any']) as rater,
        unnest([self_assessment, parent_assessment, clinician_assessment, any_assessment])
            as assessment,
        unnest([self_paired, parent_paired, clinician_paired, any_paired]) as paired,
        unnest([self_improvement, parent_improvement, clinician_improvement,
            cast(null as boolean)]) as improvement,
        unnest([self_no_change, parent_no_change, clinician_no_change, cast(null as boolean)])
            as no_change,
        unnest([self_deterioration, parent_deterioration, clinician_deterioration,
            cast(null as boolean)]) as deterioration
    from flagged
)

select * from final
