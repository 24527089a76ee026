-- title = "First Current View ratings"
-- description = """
-- The items of each referral's first Current View rated 1 to 3 (a problem
-- descriptor mild or worse, a complexity factor present): the only ratings
-- any chart counts. Ratings of 0 (none, no) and not known (NULL) are left
-- out, which keeps the table about a tenth of the size of all items."""
-- kind = "table"
-- stage = 3

with final as (
    select f.referral_id, i.item, cast(i.value as bigint) as value
    from first_current_view f
    join questionnaire_item i using (questionnaire_id)
    where i.value between 1 and 3
)

select * from final
