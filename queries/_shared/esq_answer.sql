-- title = "ESQ answers"
-- description = """
-- Every ESQ answer of 0 (not true), 1 (partly true) or 2 (certainly true),
-- with its questionnaire's referral, informant, version and date. Don't
-- know (9), missing and out-of-range answers are left out (item_answer).
-- Computed once per session, so the ESQ charts do not each scan the item
-- table."""
-- kind = "table"
-- stage = 1

with final as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        a.item,
        a.value
    from questionnaire q
    join item_answer a using (questionnaire_id)
    where a.measure = 'ESQ'
)

select * from final
