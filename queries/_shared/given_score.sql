-- title = "Given scale scores"
-- description = """
-- The usable scale scores of the questionnaires recorded as scores only
-- (questionnaire_score rows of a questionnaire with no questionnaire_item
-- rows; a questionnaire with items is scored from them). Usable: a scale of
-- the questionnaire's measure (ref_scale), a whole number within the
-- scale's range, and given once (a scale given twice with different values
-- counts as not scored). The input of sdq_score, rcads_score and
-- goal_rating; validate reports every row left out. A step: dropped once
-- those are built."""
-- kind = "step"
-- stage = 0

with scored_by_items as (
    select distinct i.questionnaire_id
    from questionnaire_item i
    join questionnaire_score s using (questionnaire_id)
),

usable as (
    select s.questionnaire_id, q.measure, s.scale, s.score
    from questionnaire_score s
    join questionnaire q using (questionnaire_id)
    join ref_scale r on r.measure = q.measure and r.scale = s.scale
    left anti join scored_by_items b on b.questionnaire_id = s.questionnaire_id
    where s.score between r.min_score and r.max_score
      and s.score = round(s.score)
),

final as (
    select questionnaire_id, measure, scale, cast(min(score) as bigint) as score
    from usable
    group by questionnaire_id, measure, scale
    having min(score) = max(score)
)

select * from final
