-- title = "SDQ and RCADS T1 and T2 per case"
-- description = """
-- One row per referral, measure and informant with SDQ or RCADS
-- questionnaires on or after the referral date: for each scale, a struct
-- with its T1 and T2 (t1_t2: earliest scored questionnaire, ties lowest id;
-- latest one dated after it, ties highest id), over all the data. The
-- scales of the two measures share nine columns, in the order of their
-- scoring functions' fields (t_1 = emotional or separation_anxiety, ...,
-- t_9 = impact); outcome_pair names them. Every scale is paired in one pass
-- over scale_score (one row per questionnaire), by hash, with no sort. A
-- step: dropped once outcome_pair is built (it holds memory no chart
-- needs)."""
-- kind = "step"
-- stage = 3

-- scale_score leaves the other measure's scales NULL, so coalesce picks
-- the questionnaire's own: nine t1_t2 states per case, not seventeen.
with scored as (
    select
        s.referral_id,
        s.measure,
        s.informant,
        s.completed_date,
        s.questionnaire_id,
        coalesce(s.emotional, s.separation_anxiety) as score_1,
        coalesce(s.conduct, s.generalised_anxiety) as score_2,
        coalesce(s.hyperactivity, s.panic) as score_3,
        coalesce(s.peer, s.social_phobia) as score_4,
        coalesce(s.prosocial, s.ocd) as score_5,
        coalesce(s.total_difficulties, s.depression) as score_6,
        coalesce(s.externalising, s.total_anxiety) as score_7,
        coalesce(s.internalising, s.total) as score_8,
        s.impact as score_9
    from scale_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
),

final as (
    select
        referral_id,
        measure,
        informant,
        t1_t2(completed_date, questionnaire_id, score_1) as t_1,
        t1_t2(completed_date, questionnaire_id, score_2) as t_2,
        t1_t2(completed_date, questionnaire_id, score_3) as t_3,
        t1_t2(completed_date, questionnaire_id, score_4) as t_4,
        t1_t2(completed_date, questionnaire_id, score_5) as t_5,
        t1_t2(completed_date, questionnaire_id, score_6) as t_6,
        t1_t2(completed_date, questionnaire_id, score_7) as t_7,
        t1_t2(completed_date, questionnaire_id, score_8) as t_8,
        t1_t2(completed_date, questionnaire_id, score_9) as t_9
    from scored
    group by referral_id, measure, informant
)

select * from final
