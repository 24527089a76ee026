-- title = "National outcome flags per referral and rater"
-- description = """
-- NHS England's CYP outcome measures (national.md section 6): for every
-- referral of national_referral, per rater (self, parent, clinician; the
-- rater of a concept is its national_rater in ref_scale_snomed):
-- assessment = contact 2 exists and a concept of the rater has a first;
-- paired = contact 2 exists and a concept of the rater is paired;
-- improvement = paired, some paired concept improved and none deteriorated;
-- deterioration = paired and some paired concept deteriorated;
-- no_change = paired, some paired concept shows no change and none improved
-- or deteriorated. any_assessment, any_paired: over the three raters (the
-- source defines no `any` improvement). No cypdash measure maps to a
-- clinician concept, so the clinician flags are false unless a user's
-- ref_scale_snomed maps one. Computed once per session; the period is
-- applied by national_population."""
-- kind = "table"
-- stage = 6

with per_rater as (
    select
        referral_id,
        rater,
        bool_or(paired) as paired,
        bool_or(paired and outcome = 'improvement') as improved,
        bool_or(paired and outcome = 'deterioration') as deteriorated,
        bool_or(paired and outcome = 'no_change') as unchanged
    from national_concept
    group by referral_id, rater
),

flags as (
    select
        r.referral_id,
        raters.rater,
        r.contact_2 is not null and k.referral_id is not null as assessment,
        r.contact_2 is not null and coalesce(k.paired, false) as paired,
        coalesce(k.improved, false) as improved,
        coalesce(k.deteriorated, false) as deteriorated,
        coalesce(k.unchanged, false) as unchanged
    from national_referral r
    cross join (values ('self'), ('parent'), ('clinician')) as raters(rater)
    left join per_rater k
        on k.referral_id = r.referral_id and k.rater = raters.rater
),

rated as (
    select
        referral_id,
        rater,
        assessment,
        paired,
        paired and improved and not deteriorated as improvement,
        paired and unchanged and not improved and not deteriorated as no_change,
        paired and deteriorated as deterioration
    from flags
),

final as (
    select
        referral_id,
        bool_or(rater = 'self' and assessment) as self_assessment,
        bool_or(rater = 'self' and paired) as self_paired,
        bool_or(rater = 'self' and improvement) as self_improvement,
        bool_or(rater = 'self' and no_change) as self_no_change,
        bool_or(rater = 'self' and deterioration) as self_deterioration,
        bool_or(rater = 'parent' and assessment) as parent_assessment,
        bool_or(rater = 'parent' and paired) as parent_paired,
        bool_or(rater = 'parent' and improvement) as parent_improvement,
        bool_or(rater = 'parent' and no_change) as parent_no_change,
        bool_or(rater = 'parent' and deterioration) as parent_deterioration,
        bool_or(rater = 'clinician' and assessment) as clinician_assessment,
        bool_or(rater = 'clinician' and paired) as clinician_paired,
        bool_or(rater = 'clinician' and improvement) as clinician_improvement,
        bool_or(rater = 'clinician' and no_change) as clinician_no_change,
        bool_or(rater = 'clinician' and deterioration) as clinician_deterioration,
        bool_or(assessment) as any_assessment,
        bool_or(paired) as any_paired
    from rated
    group by referral_id
)

select * from final
