-- title = "Goal ratings"
-- description = """
-- One row per rated goal per GBO questionnaire (ratings 0-10; out-of-range
-- ratings count as not rated). A questionnaire with no items takes its
-- ratings from questionnaire_score (given_score, scales goal_1 .. goal_3);
-- one with both is rated by its items. Computed once per session."""
-- kind = "table"
-- stage = 1

with gbo_questionnaire as (
    select questionnaire_id, referral_id, informant, completed_date
    from questionnaire
    where measure = 'GBO'
),

from_items as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.completed_date,
        i.item as goal,
        cast(i.value as bigint) as rating
    from gbo_questionnaire q
    join questionnaire_item i using (questionnaire_id)
    where i.item in ('goal_1', 'goal_2', 'goal_3')
      and i.value between 0 and 10
),

from_scores as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.completed_date,
        g.scale as goal,
        g.score as rating
    from gbo_questionnaire q
    join given_score g using (questionnaire_id)
    where g.measure = 'GBO'
),

final as (
    select * from from_items
    union all
    select * from from_scores
)

select * from final
