-- title = "First Current View"
-- description = """
-- The first Current View of each referral: the earliest on or after the
-- referral date (ties: lowest questionnaire_id), one row per referral. Its
-- ratings of 1 or more are in current_view_rating."""
-- kind = "table"
-- stage = 3

-- The first questionnaire is the T1 of t1_t2 (earliest date, then lowest
-- id) given any non-NULL score: found by hash per referral, with no sort.
with first as (
    select
        q.referral_id,
        t1_t2(q.completed_date, q.questionnaire_id, 0) as e
    from questionnaire q
    join referral r using (referral_id)
    where q.measure = 'CURRENT_VIEW'
      and q.completed_date >= r.referral_date
    group by q.referral_id
),

final as (
    select
        referral_id,
        e['t1_questionnaire_id'] as questionnaire_id,
        e['t1_date'] as completed_date
    from first
)

select * from final
