-- title = "Referral categories"
-- description = """
-- Each in-scope referral's category on each descriptive dimension (gender,
-- age_band, ethnicity), using the ref_ tables' groups, and the list of
-- categories per dimension in chart order. A missing or unlisted code falls
-- in `Not known` (age: `unknown`)."""
-- kind = "bound_view"
-- stage = 7

with gender as (
    select r.unit_id, 'gender' as dimension, coalesce(g.group_label, 'Not known') as category
    from in_scope_referral r
    left join ref_gender g on g.code = r.gender
),

age_band as (
    select r.unit_id, 'age_band' as dimension, coalesce(b.band, 'unknown') as category
    from in_scope_referral r
    left join ref_age_band b on r.age_at_referral between b.min_age and b.max_age
),

ethnicity as (
    select r.unit_id, 'ethnicity' as dimension, coalesce(e.group_label, 'Not stated or known') as category
    from in_scope_referral r
    left join ref_ethnicity e on e.code = r.ethnicity
),

final as (
    select * from gender
    union all
    select * from age_band
    union all
    select * from ethnicity
)

select * from final
