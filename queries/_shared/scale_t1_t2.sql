-- title = "SDQ and RCADS T1 and T2 per case"
-- description = """
-- One row per referral, measure and informant with SDQ or RCADS
-- questionnaires on or after the referral date: for each scale, a struct
-- with its T1 and T2 (t1_t2: earliest scored questionnaire, ties lowest id;
-- latest one dated after it, ties highest id), over all the data; the
-- other measure's scales are NULL. Every scale is paired in one pass over
-- scale_score (one row per questionnaire), by hash, with no sort;
-- outcome_pair turns the structs into one row per scale. A step: dropped
-- once outcome_pair is built (it holds memory no chart needs)."""
-- kind = "step"
-- stage = 3

with final as (
    select
        s.referral_id,
        s.measure,
        s.informant,
        t1_t2(s.completed_date, s.questionnaire_id, s.emotional) as emotional,
        t1_t2(s.completed_date, s.questionnaire_id, s.conduct) as conduct,
        t1_t2(s.completed_date, s.questionnaire_id, s.hyperactivity) as hyperactivity,
        t1_t2(s.completed_date, s.questionnaire_id, s.peer) as peer,
        t1_t2(s.completed_date, s.questionnaire_id, s.prosocial) as prosocial,
        t1_t2(s.completed_date, s.questionnaire_id, s.total_difficulties) as total_difficulties,
        t1_t2(s.completed_date, s.questionnaire_id, s.externalising) as externalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.internalising) as internalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.impact) as impact,
        t1_t2(s.completed_date, s.questionnaire_id, s.separation_anxiety) as separation_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.generalised_anxiety) as generalised_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.panic) as panic,
        t1_t2(s.completed_date, s.questionnaire_id, s.social_phobia) as social_phobia,
        t1_t2(s.completed_date, s.questionnaire_id, s.ocd) as ocd,
        t1_t2(s.completed_date, s.questionnaire_id, s.depression) as depression,
        t1_t2(s.completed_date, s.questionnaire_id, s.total_anxiety) as total_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.total) as total
    from scale_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
    group by s.referral_id, s.measure, s.informant
)

select * from final
