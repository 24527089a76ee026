-- title = "RCADS scores"
-- description = """
-- One row per RCADS questionnaire with its scale scores (rcads_scores: a
-- scale with at most 2 items missing is prorated). Computed once per session
-- and kept in memory."""
-- kind = "table"
-- stage = 1

with rcads_questionnaire as (
    select questionnaire_id, referral_id, informant, version, completed_date
    from questionnaire
    where measure = 'RCADS'
),

-- As in sdq_score: score the items rcads_scores reads (rcads_1 ..
-- rcads_47) by questionnaire, then keep the RCADS questionnaires.
scored as (
    select questionnaire_id, rcads_scores(item, value) as s
    from questionnaire_item
    where item like 'rcads\_%'
    group by questionnaire_id
),

final as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        s['separation_anxiety'] as separation_anxiety,
        s['generalised_anxiety'] as generalised_anxiety,
        s['panic'] as panic,
        s['social_phobia'] as social_phobia,
        s['ocd'] as ocd,
        s['depression'] as depression,
        s['total_anxiety'] as total_anxiety,
        s['total'] as total
    from rcads_questionnaire q
    join scored using (questionnaire_id)
)

select * from final
