-- title = "National assessments"
-- description = """
-- NHS England's CYP outcome measures (national.md sections 3 and 5): one row
-- per assessment, for the referrals of national_referral that have a
-- contact 1. An assessment is one scale score of an SDQ, RCADS or GBO
-- questionnaire mapped to its national concept (national_scale_concept, by
-- concept_key), scorable under cypdash's scoring rules, within the
-- concept's valid_min..valid_max, completed between contact 1 and the
-- closure date (earlier ones can never be a first or last assessment).
-- The score is the RCADS T-score 50 + 10 (raw - mean) / sd where
-- ref_rcads_t_score_norms has a row for the concept, the gender (M, F) and
-- the age at referral, else the raw score. Duplicates (same referral,
-- concept, date and score) are still here: national_concept drops them as
-- it pairs (first_last_distinct keeps the lowest questionnaire_id).
-- contact_2 is the referral's (national_referral), carried for
-- national_concept; raw_score and t_score (whether norms applied) are for
-- tracing a referral's scores in the REPL. A view, planned into
-- national_concept, its one reader: a pipeline of joins with no aggregate,
-- so its rows stream into the pairing and are never held or written, and
-- the columns the pairing does not read are never computed
-- (docs/performance.md, session 16)."""
-- kind = "view"
-- stage = 4

with population as (
    select referral_id, contact_1, contact_2, closure_date, age, norms_gender
    from national_referral
    where contact_1 is not null
),

-- One row per scale score: SDQ and RCADS from scale_score (both measures,
-- one row per scored questionnaire), then the goal ratings. Joined to the
-- population once, below (measured at 250k: 1.6 s against 1.7-1.9 s for a
-- population join per scale, and 3.0-3.7 s for matching each scored
-- questionnaire to its concepts with a CASE picking the column).
scale_long as (
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'emotional' as scale, cast(emotional as double) as raw_score
    from scale_score where emotional is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'conduct' as scale, cast(conduct as double) as raw_score
    from scale_score where conduct is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'hyperactivity' as scale, cast(hyperactivity as double) as raw_score
    from scale_score where hyperactivity is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'peer' as scale, cast(peer as double) as raw_score
    from scale_score where peer is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'prosocial' as scale, cast(prosocial as double) as raw_score
    from scale_score where prosocial is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'impact' as scale, cast(impact as double) as raw_score
    from scale_score where impact is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'total_difficulties' as scale, cast(total_difficulties as double) as raw_score
    from scale_score where total_difficulties is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'externalising' as scale, cast(externalising as double) as raw_score
    from scale_score where externalising is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'internalising' as scale, cast(internalising as double) as raw_score
    from scale_score where internalising is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'separation_anxiety' as scale, cast(separation_anxiety as double) as raw_score
    from scale_score where separation_anxiety is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'generalised_anxiety' as scale, cast(generalised_anxiety as double) as raw_score
    from scale_score where generalised_anxiety is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'panic' as scale, cast(panic as double) as raw_score
    from scale_score where panic is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'social_phobia' as scale, cast(social_phobia as double) as raw_score
    from scale_score where social_phobia is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'ocd' as scale, cast(ocd as double) as raw_score
    from scale_score where ocd is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'depression' as scale, cast(depression as double) as raw_score
    from scale_score where depression is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'total_anxiety' as scale, cast(total_anxiety as double) as raw_score
    from scale_score where total_anxiety is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date,
        'total' as scale, cast(total as double) as raw_score
    from scale_score where total is not null
    union all
    select questionnaire_id, referral_id, 'GBO', informant, completed_date,
        goal, cast(rating as double)
    from goal_rating
),

mapped as (
    select s.referral_id, s.questionnaire_id, s.completed_date, s.raw_score, c.concept_key,
        p.age, p.norms_gender, p.contact_2
    from scale_long s
    join population p on p.referral_id = s.referral_id
    join national_scale_concept c
        on c.measure = s.measure
        and (c.informant is null or c.informant = s.informant)
        and c.scale = s.scale
    where s.completed_date between p.contact_1 and p.closure_date
        and s.raw_score between c.valid_min and c.valid_max
),

concept_norm as (
    select c.concept_key, n.gender, n.age, n.sample_mean, n.sample_sd
    from (select distinct concept_key, preferred_term from national_scale_concept) c
    join ref_rcads_t_score_norms n on n.preferred_term = c.preferred_term
),

-- The norms (a few hundred rows) on the left of a right join, so that the
-- hash table is built over them and the assessments stream past (as a
-- left join, DataFusion built it over the 8.8 million assessments at 1M:
-- 1.2 GB). A referral's age and gender are the same in all its rows, so
-- within a referral and concept one raw score always gives one score, and
-- two assessments are duplicates in the score exactly when they are in the
-- raw score.
final as (
    select
        m.referral_id,
        m.concept_key,
        m.questionnaire_id,
        m.completed_date,
        m.raw_score,
        case
            when n.sample_sd is not null
                then 50 + 10 * (m.raw_score - n.sample_mean) / n.sample_sd
            else m.raw_score
        end as score,
        n.sample_sd is not null as t_score,
        m.contact_2
    from concept_norm n
    right join mapped m
        on n.concept_key = m.concept_key
        and n.gender = m.norms_gender
        and n.age = m.age
)

select * from final
