-- title = "SDQ T1 and T2 per case"
-- description = """
-- One row per referral and informant with SDQ questionnaires on or
-- after the referral date: for each scale, a struct with its T1 and T2
-- (t1_t2: earliest scored questionnaire, ties lowest id; latest one dated
-- after it, ties highest id), over all the data. Every scale is paired in
-- one pass over sdq_score (one row per questionnaire), by hash,
-- with no sort; outcome_pair turns the structs into one row per scale. A
-- step: dropped once outcome_pair is built (it holds memory no chart needs)."""
-- kind = "step"
-- stage = 2

with final as (
    select
        s.referral_id,
        s.informant,
        t1_t2(s.completed_date, s.questionnaire_id, s.emotional) as emotional,
        t1_t2(s.completed_date, s.questionnaire_id, s.conduct) as conduct,
        t1_t2(s.completed_date, s.questionnaire_id, s.hyperactivity) as hyperactivity,
        t1_t2(s.completed_date, s.questionnaire_id, s.peer) as peer,
        t1_t2(s.completed_date, s.questionnaire_id, s.prosocial) as prosocial,
        t1_t2(s.completed_date, s.questionnaire_id, s.total_difficulties) as total_difficulties,
        t1_t2(s.completed_date, s.questionnaire_id, s.externalising) as externalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.internalising) as internalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.impact) as impact
    from sdq_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
    group by s.referral_id, s.informant
)

select * from final
