-- title = "Goal ratings"
-- description = """
-- One row per rated goal per GBO questionnaire (ratings 0-10; out-of-range
-- ratings count as not rated). A questionnaire with no items takes its
-- ratings from questionnaire_score (given_score, scales goal_1 .. goal_3);
-- one with both is rated by its items (item_answer). Computed once per
-- session."""
-- kind = "table"
-- stage = 1

with gbo_questionnaire as (
    select questionnaire_id, referral_id, informant, completed_date
    from questionnaire
    where measure = 'GBO'
),

rating as (
    select questionnaire_id, item as goal, value as rating
    from item_answer
    where measure = 'GBO'
      and item in ('goal_1', 'goal_2', 'goal_3')
    union all
    select questionnaire_id, scale, score
    from given_score
    where measure = 'GBO'
),

final as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.completed_date,
        r.goal,
        r.rating
    from gbo_questionnaire q
    join rating r using (questionnaire_id)
)

select * from final
