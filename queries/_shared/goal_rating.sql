-- title = "Goal ratings"
-- description = """
-- One row per rated goal per GBO questionnaire (ratings 0-10; out-of-range
-- ratings count as not rated). Computed once per session."""
-- kind = "table"
-- stage = 1

with gbo_questionnaire as (
    select questionnaire_id, referral_id, informant, completed_date
    from questionnaire
    where measure = 'GBO'
),

final as (
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
)

select * from final
