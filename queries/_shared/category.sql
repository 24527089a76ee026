-- title = "Categories"
-- description = """
-- The categories of each descriptive dimension in chart order, so every
-- unit gets a row for every category, zero included."""
-- kind = "view"
-- stage = 3

with listed as (
    select 'gender' as dimension, group_label as category, min(sort_order) as sort_order
    from ref_gender group by group_label
    union all
    select 'age_band', band, min(sort_order) from ref_age_band group by band
    union all
    select 'ethnicity', group_label, min(sort_order) from ref_ethnicity group by group_label
),

-- The fallback categories used for missing or unlisted codes.
fallback as (
    select dimension, category, 1000 as sort_order
    from (values ('gender', 'Not known'), ('age_band', 'unknown'), ('ethnicity', 'Not stated or known'))
        as f(dimension, category)
),

final as (
    select dimension, category, cast(sort_order as bigint) as sort_order from listed
    union all
    select f.dimension, f.category, cast(f.sort_order as bigint) from fallback f
    where not exists (
        select 1 from listed l where l.dimension = f.dimension and l.category = f.category
    )
)

select * from final
