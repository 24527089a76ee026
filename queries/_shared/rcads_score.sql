-- title = "RCADS scores"
-- description = """
-- One row per RCADS questionnaire with its scale scores (rcads_scores: a
-- scale with at most 2 items missing is prorated). A questionnaire with no
-- items takes its scales from questionnaire_score instead (given_score);
-- one with both is scored from its items. The RCADS rows of scale_score
-- (kept in memory once per session)."""
-- kind = "view"
-- stage = 2

with final as (
    select
        questionnaire_id,
        referral_id,
        informant,
        version,
        completed_date,
        separation_anxiety,
        generalised_anxiety,
        panic,
        social_phobia,
        ocd,
        depression,
        total_anxiety,
        total
    from scale_score
    where measure = 'RCADS'
)

select * from final
