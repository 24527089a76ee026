-- title = "Item answers"
-- description = """
-- One pass over questionnaire_item for the measures whose charts read
-- answers rather than scores: every answer of an ESQ (0-2: 9, don't know,
-- and out-of-range answers left out), a GBO (0-10) and a Current View
-- (1-3: ratings of 0 and not known left out), with its measure. The input
-- of esq_answer, goal_rating and current_view_rating, which replaced three
-- passes over the item table; a step: dropped once those are built."""
-- kind = "step"
-- stage = 0

-- The kept range per measure is a column of the questionnaire side, so
-- each item row costs one join probe and one integer comparison. The join
-- keeps only the three measures' questionnaires, and its build side lets
-- the scan skip the item rows of other questionnaires.
with answered_questionnaire as (
    select
        questionnaire_id,
        measure,
        case measure when 'CURRENT_VIEW' then 1 else 0 end as lowest,
        case measure when 'ESQ' then 2 when 'GBO' then 10 else 3 end as highest
    from questionnaire
    where measure in ('ESQ', 'GBO', 'CURRENT_VIEW')
),

final as (
    select q.measure, i.questionnaire_id, i.item, cast(i.value as bigint) as value
    from answered_questionnaire q
    join questionnaire_item i using (questionnaire_id)
    where i.value between q.lowest and q.highest
)

select * from final
