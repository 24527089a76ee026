-- title = "SDQ scores"
-- description = """
-- One row per SDQ questionnaire with its scale scores (sdq_scores: reverse
-- items, prorating at 3 of 5 answered, impact recode). Computed once per
-- session and kept in memory: every SDQ chart reads it."""
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

final as (
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
)

select * from final
