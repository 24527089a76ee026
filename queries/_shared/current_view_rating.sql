-- title = "First Current View ratings"
-- description = """
-- The items of each referral's first Current View rated 1 to 3 (a problem
-- descriptor mild or worse, a complexity factor present): the only ratings
-- any chart counts. Ratings of 0 (none, no) and not known (NULL) are left
-- out (item_answer), which keeps the table about a tenth of the size of all
-- items."""
-- kind = "table"
-- stage = 4

with final as (
    select f.referral_id, a.item, a.value
    from first_current_view f
    join item_answer a using (questionnaire_id)
    where a.measure = 'CURRENT_VIEW'
)

select * from final
