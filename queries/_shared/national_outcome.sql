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

-- Each referral's concepts summarised per rater in one grouped pass (a
-- column per rater and flag), then the flags of every referral of
-- national_referral from them.
with per_referral as (
    select
        referral_id,
        bool_or(rater = 'self') as self_rated,
        bool_or(rater = 'self' and paired) as self_paired,
        bool_or(rater = 'self' and paired and outcome = 'improvement') as self_improved,
        bool_or(rater = 'self' and paired and outcome = 'deterioration') as self_deteriorated,
        bool_or(rater = 'self' and paired and outcome = 'no_change') as self_unchanged,
        bool_or(rater = 'parent') as parent_rated,
        bool_or(rater = 'parent' and paired) as parent_paired,
        bool_or(rater = 'parent' and paired and outcome = 'improvement') as parent_improved,
        bool_or(rater = 'parent' and paired and outcome = 'deterioration') as parent_deteriorated,
        bool_or(rater = 'parent' and paired and outcome = 'no_change') as parent_unchanged,
        bool_or(rater = 'clinician') as clinician_rated,
        bool_or(rater = 'clinician' and paired) as clinician_paired,
        bool_or(rater = 'clinician' and paired and outcome = 'improvement') as clinician_improved,
        bool_or(rater = 'clinician' and paired and outcome = 'deterioration') as clinician_deteriorated,
        bool_or(rater = 'clinician' and paired and outcome = 'no_change') as clinician_unchanged
    from national_concept
    group by referral_id
),

flags as (
    select
        r.referral_id,
        r.contact_2 is not null and coalesce(k.self_rated, false) as self_assessment,
        r.contact_2 is not null and coalesce(k.self_paired, false) as self_paired,
        coalesce(k.self_improved, false) as self_improved,
        coalesce(k.self_deteriorated, false) as self_deteriorated,
        coalesce(k.self_unchanged, false) as self_unchanged,
        r.contact_2 is not null and coalesce(k.parent_rated, false) as parent_assessment,
        r.contact_2 is not null and coalesce(k.parent_paired, false) as parent_paired,
        coalesce(k.parent_improved, false) as parent_improved,
        coalesce(k.parent_deteriorated, false) as parent_deteriorated,
        coalesce(k.parent_unchanged, false) as parent_unchanged,
        r.contact_2 is not null and coalesce(k.clinician_rated, false) as clinician_assessment,
        r.contact_2 is not null and coalesce(k.clinician_paired, false) as clinician_paired,
        coalesce(k.clinician_improved, false) as clinician_improved,
        coalesce(k.clinician_deteriorated, false) as clinician_deteriorated,
        coalesce(k.clinician_unchanged, false) as clinician_unchanged
    from national_referral r
    left join per_referral k using (referral_id)
),

final as (
    select
        referral_id,
        self_assessment,
        self_paired,
        self_paired and self_improved and not self_deteriorated as self_improvement,
        self_paired and self_unchanged and not self_improved and not self_deteriorated
            as self_no_change,
        self_paired and self_deteriorated as self_deterioration,
        parent_assessment,
        parent_paired,
        parent_paired and parent_improved and not parent_deteriorated as parent_improvement,
        parent_paired and parent_unchanged and not parent_improved and not parent_deteriorated
            as parent_no_change,
        parent_paired and parent_deteriorated as parent_deterioration,
        clinician_assessment,
        clinician_paired,
        clinician_paired and clinician_improved and not clinician_deteriorated as clinician_improvement,
        clinician_paired and clinician_unchanged and not clinician_improved and not clinician_deteriorated
            as clinician_no_change,
        clinician_paired and clinician_deteriorated as clinician_deterioration,
        self_assessment or parent_assessment or clinician_assessment as any_assessment,
        self_paired or parent_paired or clinician_paired as any_paired
    from flags
)

select * from final
