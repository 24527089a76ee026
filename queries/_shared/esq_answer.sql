-- title = "ESQ answers"
-- description = """
-- Every ESQ answer of 0 (not true), 1 (partly true) or 2 (certainly true),
-- with its questionnaire's referral, informant, version and date. Don't
-- know (9), missing and out-of-range answers are left out. Computed once per
-- session, so the ESQ charts do not each scan the whole item table."""
-- kind = "table"
-- stage = 1

with final as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.informant,
        q.version,
        q.completed_date,
        i.item,
        cast(i.value as bigint) as value
    from questionnaire q
    join questionnaire_item i using (questionnaire_id)
    where q.measure = 'ESQ'
      and i.value between 0 and 2
)

select * from final
