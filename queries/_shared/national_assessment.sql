-- title = "National assessments"
-- description = """
-- NHS England's CYP outcome measures (national.md sections 3 and 5): one row
-- per assessment that counts, for the referrals of national_referral that
-- have a contact 1. An assessment is one scale score of an SDQ, RCADS or
-- GBO questionnaire mapped to its national concept (ref_scale_snomed rows
-- with to_mhsds = Y and in_national_outcomes = Y; a blank informant there
-- matches every informant), scorable under cypdash's scoring rules, within
-- the concept's valid_min..valid_max, completed between contact 1 and the
-- closure date (earlier ones can never be a first or last assessment).
-- Duplicates (same referral, concept, date and score) keep the lowest
-- questionnaire_id. The score is the RCADS T-score 50 + 10 (raw - mean) /
-- sd where ref_rcads_t_score_norms has a row for the concept, the gender
-- (M, F) and the age at referral, else the raw score. A step: read by
-- national_concept, then dropped."""
-- kind = "step"
-- stage = 4

with population as (
    select referral_id, contact_1, closure_date, age, norms_gender
    from national_referral
    where contact_1 is not null
),

sdq as (
    select s.*
    from sdq_score s
    join population p using (referral_id)
    where s.completed_date between p.contact_1 and p.closure_date
),

rcads as (
    select s.*
    from rcads_score s
    join population p using (referral_id)
    where s.completed_date between p.contact_1 and p.closure_date
),

gbo as (
    select g.*
    from goal_rating g
    join population p using (referral_id)
    where g.completed_date between p.contact_1 and p.closure_date
),

-- Every scale score, one row each; the concept table decides which count.
scale_score as (
    select questionnaire_id, referral_id, 'SDQ' as measure, informant, completed_date,
        'emotional' as scale, cast(emotional as double) as raw_score
    from sdq where emotional is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'conduct', cast(conduct as double)
    from sdq where conduct is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'hyperactivity', cast(hyperactivity as double)
    from sdq where hyperactivity is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'peer', cast(peer as double)
    from sdq where peer is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'prosocial', cast(prosocial as double)
    from sdq where prosocial is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'impact', cast(impact as double)
    from sdq where impact is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'total_difficulties', cast(total_difficulties as double)
    from sdq where total_difficulties is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'externalising', cast(externalising as double)
    from sdq where externalising is not null
    union all
    select questionnaire_id, referral_id, 'SDQ', informant, completed_date,
        'internalising', cast(internalising as double)
    from sdq where internalising is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'separation_anxiety', cast(separation_anxiety as double)
    from rcads where separation_anxiety is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'generalised_anxiety', cast(generalised_anxiety as double)
    from rcads where generalised_anxiety is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'panic', cast(panic as double)
    from rcads where panic is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'social_phobia', cast(social_phobia as double)
    from rcads where social_phobia is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'ocd', cast(ocd as double)
    from rcads where ocd is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'depression', cast(depression as double)
    from rcads where depression is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'total_anxiety', cast(total_anxiety as double)
    from rcads where total_anxiety is not null
    union all
    select questionnaire_id, referral_id, 'RCADS', informant, completed_date,
        'total', cast(total as double)
    from rcads where total is not null
    union all
    select questionnaire_id, referral_id, 'GBO', informant, completed_date,
        goal, cast(rating as double)
    from gbo
),

-- The concepts of the national measures that a cypdash scale maps to. The
-- concept is named by its preferred term, as NHS England's code names it
-- (thresholds and norms are keyed by it too).
concept as (
    select measure, informant, scale, preferred_term, valid_min, valid_max,
        lower(national_rater) as rater
    from ref_scale_snomed
    where to_mhsds = 'Y' and in_national_outcomes = 'Y'
),

mapped as (
    select s.referral_id, s.questionnaire_id, s.completed_date, s.raw_score,
        c.preferred_term, c.rater
    from scale_score s
    join concept c
        on c.measure = s.measure
        and (c.informant is null or c.informant = s.informant)
        and c.scale = s.scale
    where s.raw_score between c.valid_min and c.valid_max
),

-- Duplicates: one assessment per referral, concept, date and score.
unique_assessment as (
    select referral_id, preferred_term, rater, completed_date, raw_score,
        min(questionnaire_id) as questionnaire_id
    from mapped
    group by referral_id, preferred_term, rater, completed_date, raw_score
),

final as (
    select
        u.referral_id,
        u.preferred_term as concept,
        u.rater,
        u.questionnaire_id,
        u.completed_date,
        u.raw_score,
        case
            when n.sample_sd is not null
                then 50 + 10 * (u.raw_score - n.sample_mean) / n.sample_sd
            else u.raw_score
        end as score,
        n.sample_sd is not null as t_score
    from unique_assessment u
    join population p using (referral_id)
    left join ref_rcads_t_score_norms n
        on n.preferred_term = u.preferred_term
        and n.gender = p.norms_gender
        and n.age = p.age
)

select * from final
