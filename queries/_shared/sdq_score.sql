-- title = "SDQ scores"
-- description = """
-- One row per SDQ questionnaire with its scale scores (sdq_scores: reverse
-- items, prorating at 3 of 5 answered, impact recode). A questionnaire with
-- no items takes its scales from questionnaire_score instead (given_score);
-- one with both is scored from its items. The SDQ rows of scale_score
-- (kept in memory once per session): every SDQ chart reads it."""
-- kind = "view"
-- stage = 2
--
-- [[columns]]
-- name = "questionnaire_id"
-- type = "Int64"
-- description = "The questionnaire"

with final as (
    select
        questionnaire_id,
        referral_id,
        informant,
        version,
        completed_date,
        emotional,
        conduct,
        hyperactivity,
        peer,
        prosocial,
        total_difficulties,
        externalising,
        internalising,
        impact
    from scale_score
    where measure = 'SDQ'
)

select * from final
