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

-- SDQ and RCADS from scale_score (one row per scored questionnaire, both
-- measures), joined to the population once.
scored as (
    select s.*
    from scale_score s
    join population p using (referral_id)
    where s.completed_date between p.contact_1 and p.closure_date
),

gbo as (
    select g.*
    from goal_rating g
    join population p using (referral_id)
    where g.completed_date between p.contact_1 and p.closure_date
),

concept as (
    select measure, informant, scale, preferred_term, valid_min, valid_max,
        lower(national_rater) as rater
    from ref_scale_snomed
    where to_mhsds = 'Y' and in_national_outcomes = 'Y'
),

-- One row per scored questionnaire and concept of its measure (the
-- concept's scale picks the score column; a blank informant in the
-- reference matches every informant), then per goal rating and concept.
concept_score as (
    select s.referral_id, s.questionnaire_id, s.completed_date, c.preferred_term, c.rater,
        c.valid_min, c.valid_max,
        cast(case c.scale
            when 'emotional' then s.emotional
            when 'conduct' then s.conduct
            when 'hyperactivity' then s.hyperactivity
            when 'peer' then s.peer
            when 'prosocial' then s.prosocial
            when 'impact' then s.impact
            when 'total_difficulties' then s.total_difficulties
            when 'externalising' then s.externalising
            when 'internalising' then s.internalising
            when 'separation_anxiety' then s.separation_anxiety
            when 'generalised_anxiety' then s.generalised_anxiety
            when 'panic' then s.panic
            when 'social_phobia' then s.social_phobia
            when 'ocd' then s.ocd
            when 'depression' then s.depression
            when 'total_anxiety' then s.total_anxiety
            when 'total' then s.total
        end as double) as raw_score
    from scored s
    join concept c
        on c.measure = s.measure
        and (c.informant is null or c.informant = s.informant)
    union all
    select g.referral_id, g.questionnaire_id, g.completed_date, c.preferred_term, c.rater,
        c.valid_min, c.valid_max, cast(g.rating as double)
    from gbo g
    join concept c
        on c.measure = 'GBO'
        and (c.informant is null or c.informant = g.informant)
        and c.scale = g.goal
),

mapped as (
    select referral_id, questionnaire_id, completed_date, raw_score, preferred_term, rater
    from concept_score
    where raw_score between valid_min and valid_max
),

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
