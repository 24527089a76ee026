-- title = "SDQ and RCADS scale scores"
-- description = """
-- One row per SDQ or RCADS questionnaire with its measure and the scale
-- scores of that measure (the other measure's columns NULL): scored from
-- its items (sdq_scores: reverse items, prorating at 3 of 5 answered,
-- impact recode; rcads_scores: a scale with at most 2 items missing is
-- prorated), or, for a questionnaire with no items, taken from
-- questionnaire_score (given_score), a total not given being the sum its
-- parts would give (NULL when a part is missing). One with both is scored
-- from its items. Computed once per session and kept in memory; sdq_score
-- and rcads_score select their measure from it."""
-- kind = "table"
-- stage = 1

with scored_questionnaire as (
    select questionnaire_id, referral_id, measure, informant, version, completed_date
    from questionnaire
    where measure in ('SDQ', 'RCADS')
),

-- Score by questionnaire first, then keep the questionnaires of the
-- measure: only the codes each function reads are passed (it ignores any
-- other), and a filter on the item code is cheaper than probing every item
-- row against the questionnaire ids. The RCADS codes are listed, not
-- matched by a pattern: at 1M the filter took 0.25 s as an IN list and 1.0
-- s as `item like 'rcads\_%'` (docs/performance.md). One grouped pass per
-- measure: one pass feeding both functions was slower (both evaluate every
-- group).
sdq_item as (
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

rcads_item as (
    select questionnaire_id, rcads_scores(item, value) as s
    from questionnaire_item
    where item in (
        'rcads_01', 'rcads_02', 'rcads_03', 'rcads_04', 'rcads_05', 'rcads_06', 'rcads_07', 'rcads_08',
        'rcads_09', 'rcads_10', 'rcads_11', 'rcads_12', 'rcads_13', 'rcads_14', 'rcads_15', 'rcads_16',
        'rcads_17', 'rcads_18', 'rcads_19', 'rcads_20', 'rcads_21', 'rcads_22', 'rcads_23', 'rcads_24',
        'rcads_25', 'rcads_26', 'rcads_27', 'rcads_28', 'rcads_29', 'rcads_30', 'rcads_31', 'rcads_32',
        'rcads_33', 'rcads_34', 'rcads_35', 'rcads_36', 'rcads_37', 'rcads_38', 'rcads_39', 'rcads_40',
        'rcads_41', 'rcads_42', 'rcads_43', 'rcads_44', 'rcads_45', 'rcads_46', 'rcads_47'
    )
    group by questionnaire_id
),

-- Each measure's scales in its columns, the other measure's NULL.
item_score as (
    select
        'SDQ' as measure,
        questionnaire_id,
        s['emotional'] as emotional,
        s['conduct'] as conduct,
        s['hyperactivity'] as hyperactivity,
        s['peer'] as peer,
        s['prosocial'] as prosocial,
        s['total_difficulties'] as total_difficulties,
        s['externalising'] as externalising,
        s['internalising'] as internalising,
        s['impact'] as impact,
        cast(null as bigint) as separation_anxiety,
        cast(null as bigint) as generalised_anxiety,
        cast(null as bigint) as panic,
        cast(null as bigint) as social_phobia,
        cast(null as bigint) as ocd,
        cast(null as bigint) as depression,
        cast(null as bigint) as total_anxiety,
        cast(null as bigint) as total
    from sdq_item
    union all
    select
        'RCADS', questionnaire_id,
        null, null, null, null, null, null, null, null, null,
        s['separation_anxiety'],
        s['generalised_anxiety'],
        s['panic'],
        s['social_phobia'],
        s['ocd'],
        s['depression'],
        s['total_anxiety'],
        s['total']
    from rcads_item
),

-- A questionnaire scored for another measure's codes is dropped here. The
-- measure is item_score's, so a query for one measure's rows (sdq_score)
-- plans the other measure's pass away.
from_items as (
    select
        q.questionnaire_id,
        q.referral_id,
        s.measure,
        q.informant,
        q.version,
        q.completed_date,
        s.* exclude (measure, questionnaire_id)
    from scored_questionnaire q
    join item_score s on s.questionnaire_id = q.questionnaire_id and s.measure = q.measure
),

-- Questionnaires recorded as scale scores only (no item rows): each usable
-- score (given_score) in its column (scale names differ between the two
-- measures, so each column holds one measure's scale).
given as (
    select
        questionnaire_id,
        measure,
        max(case when scale = 'emotional' then score end) as emotional,
        max(case when scale = 'conduct' then score end) as conduct,
        max(case when scale = 'hyperactivity' then score end) as hyperactivity,
        max(case when scale = 'peer' then score end) as peer,
        max(case when scale = 'prosocial' then score end) as prosocial,
        max(case when scale = 'total_difficulties' then score end) as total_difficulties,
        max(case when scale = 'externalising' then score end) as externalising,
        max(case when scale = 'internalising' then score end) as internalising,
        max(case when scale = 'impact' then score end) as impact,
        max(case when scale = 'separation_anxiety' then score end) as separation_anxiety,
        max(case when scale = 'generalised_anxiety' then score end) as generalised_anxiety,
        max(case when scale = 'panic' then score end) as panic,
        max(case when scale = 'social_phobia' then score end) as social_phobia,
        max(case when scale = 'ocd' then score end) as ocd,
        max(case when scale = 'depression' then score end) as depression,
        max(case when scale = 'total_anxiety' then score end) as total_anxiety,
        max(case when scale = 'total' then score end) as total
    from given_score
    where measure in ('SDQ', 'RCADS')
    group by questionnaire_id, measure
),

-- A total not given is the sum of its parts; the other measure's columns
-- are all NULL, so its totals stay NULL too.
with_totals as (
    select *,
        coalesce(total_anxiety,
            separation_anxiety + generalised_anxiety + panic + social_phobia + ocd)
            as anxiety
    from given
),

from_scores as (
    select
        q.*,
        g.emotional,
        g.conduct,
        g.hyperactivity,
        g.peer,
        g.prosocial,
        coalesce(g.total_difficulties, g.emotional + g.conduct + g.hyperactivity + g.peer)
            as total_difficulties,
        coalesce(g.externalising, g.conduct + g.hyperactivity) as externalising,
        coalesce(g.internalising, g.emotional + g.peer) as internalising,
        g.impact,
        g.separation_anxiety,
        g.generalised_anxiety,
        g.panic,
        g.social_phobia,
        g.ocd,
        g.depression,
        g.anxiety as total_anxiety,
        coalesce(g.total, g.anxiety + g.depression) as total
    from scored_questionnaire q
    join with_totals g using (questionnaire_id, measure)
),

final as (
    select * from from_items
    union all
    select * from from_scores
)

-- In no particular order: the charts' sums over these rows do not depend
-- on it (integer sums; pre_post_effect_size sums whole-number scores
-- exactly), and an ORDER BY here cost a sort of every row into one
-- partition (docs/performance.md, session 13).
select * from final
