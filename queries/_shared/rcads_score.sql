-- title = "RCADS scores"
-- description = """
-- One row per RCADS questionnaire with its scale scores (rcads_scores: a
-- scale with at most 2 items missing is prorated). A questionnaire with no
-- items takes its scales from questionnaire_score instead (given_score);
-- one with both is scored from its items. Computed once per session and
-- kept in memory."""
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

from_items as (
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
),

-- Questionnaires recorded as scale scores only: each usable score
-- (given_score) in its column; a total not given is the sum its items
-- would give (NULL when a part is missing).
given as (
    select
        g.questionnaire_id,
        max(case when g.scale = 'separation_anxiety' then g.score end) as separation_anxiety,
        max(case when g.scale = 'generalised_anxiety' then g.score end) as generalised_anxiety,
        max(case when g.scale = 'panic' then g.score end) as panic,
        max(case when g.scale = 'social_phobia' then g.score end) as social_phobia,
        max(case when g.scale = 'ocd' then g.score end) as ocd,
        max(case when g.scale = 'depression' then g.score end) as depression,
        max(case when g.scale = 'total_anxiety' then g.score end) as total_anxiety,
        max(case when g.scale = 'total' then g.score end) as total
    from given_score g
    where g.measure = 'RCADS'
    group by g.questionnaire_id
),

with_totals as (
    select *,
        coalesce(total_anxiety,
            separation_anxiety + generalised_anxiety + panic + social_phobia + ocd)
            as anxiety
    from given
),

from_scores as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        g.separation_anxiety,
        g.generalised_anxiety,
        g.panic,
        g.social_phobia,
        g.ocd,
        g.depression,
        g.anxiety as total_anxiety,
        coalesce(g.total, g.anxiety + g.depression) as total
    from rcads_questionnaire q
    join with_totals g using (questionnaire_id)
),

final as (
    select * from from_items
    union all
    select * from from_scores
)

select * from final
