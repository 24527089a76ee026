-- title = "First Current View"
-- description = """
-- The first Current View of each referral: the earliest on or after the
-- referral date (ties: lowest questionnaire_id), with its rated items."""
-- kind = "table"
-- stage = 2

with ranked as (
    select
        q.questionnaire_id,
        q.referral_id,
        q.completed_date,
        row_number() over (
            partition by q.referral_id
            order by q.completed_date, q.questionnaire_id
        ) as rank
    from questionnaire q
    join referral r using (referral_id)
    where q.measure = 'CURRENT_VIEW'
      and q.completed_date >= r.referral_date
),

final as (
    select f.referral_id, f.questionnaire_id, f.completed_date, i.item, i.value
    from ranked f
    join questionnaire_item i using (questionnaire_id)
    where f.rank = 1
)

select * from final
