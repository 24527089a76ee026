-- title = "SDQ scores"
-- description = """
-- One row per SDQ questionnaire with its scale scores (sdq_scores: reverse
-- items, prorating at 3 of 5 answered, impact recode). A questionnaire with
-- no items takes its scales from questionnaire_score instead (given_score);
-- one with both is scored from its items. Computed once per session and
-- kept in memory: every SDQ chart reads it."""
-- kind = "table"
-- stage = 1
--
-- [[columns]]
-- name = "questionnaire_id"
-- type = "Int64"
-- description = "The questionnaire"

with sdq_questionnaire as (
    select questionnaire_id, referral_id, informant, version, completed_date
    from questionnaire
    where measure = 'SDQ'
),

-- Score by questionnaire first, then keep the SDQ questionnaires: only the
-- codes sdq_scores reads are passed (it ignores any other), and a filter
-- on the item code is cheaper than probing every item row against the SDQ
-- questionnaire ids. A non-SDQ questionnaire scored here is dropped by the
-- join below.
scored as (
    select questionnaire_id, sdq_scores(item, value) as s
    from questionnaire_item
    where item in (
        'consid', 'restles', 'somatic', 'shares', 'tantrum', 'loner', 'obeys', 'worries',
        'caring', 'fidgety', 'friend', 'fights', 'unhappy', 'popular', 'distrac', 'clingy',
        'kind', 'lies', 'bullied', 'helpout', 'reflect', 'steals', 'oldbest', 'afraid',
        'attends', 'distres', 'imphome', 'impfrie', 'impclas', 'impleis', 'ebddiff'
    )
    group by questionnaire_id
),

from_items as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        s['emotional'] as emotional,
        s['conduct'] as conduct,
        s['hyperactivity'] as hyperactivity,
        s['peer'] as peer,
        s['prosocial'] as prosocial,
        s['total_difficulties'] as total_difficulties,
        s['externalising'] as externalising,
        s['internalising'] as internalising,
        s['impact'] as impact
    from sdq_questionnaire q
    join scored using (questionnaire_id)
),

-- Questionnaires recorded as scale scores only (no item rows): each
-- usable score (given_score) in its column; a total not given is the sum
-- its items would give (NULL when a part is missing).
given as (
    select
        g.questionnaire_id,
        max(case when g.scale = 'emotional' then g.score end) as emotional,
        max(case when g.scale = 'conduct' then g.score end) as conduct,
        max(case when g.scale = 'hyperactivity' then g.score end) as hyperactivity,
        max(case when g.scale = 'peer' then g.score end) as peer,
        max(case when g.scale = 'prosocial' then g.score end) as prosocial,
        max(case when g.scale = 'total_difficulties' then g.score end) as total_difficulties,
        max(case when g.scale = 'externalising' then g.score end) as externalising,
        max(case when g.scale = 'internalising' then g.score end) as internalising,
        max(case when g.scale = 'impact' then g.score end) as impact
    from given_score g
    where g.measure = 'SDQ'
    group by g.questionnaire_id
),

from_scores as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        g.emotional,
        g.conduct,
        g.hyperactivity,
        g.peer,
        g.prosocial,
        coalesce(g.total_difficulties, g.emotional + g.conduct + g.hyperactivity + g.peer)
            as total_difficulties,
        coalesce(g.externalising, g.conduct + g.hyperactivity) as externalising,
        coalesce(g.internalising, g.emotional + g.peer) as internalising,
        g.impact
    from sdq_questionnaire q
    join given g using (questionnaire_id)
),

final as (
    select * from from_items
    union all
    select * from from_scores
)

select * from final
