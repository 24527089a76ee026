-- title = "National concepts of the scales"
-- description = """
-- The scale scores that count towards NHS England's CYP outcome measures
-- (national.md section 3): the ref_scale_snomed rows with to_mhsds = Y and
-- in_national_outcomes = Y (a blank informant matches every informant),
-- with the concept's preferred term, valid range and national rater, and
-- concept_key: a small integer per preferred term and rater, which
-- national_assessment and national_concept group by instead of the
-- concept's name (up to 120 characters)."""
-- kind = "view"
-- stage = 3

select
    measure, informant, scale, preferred_term, valid_min, valid_max,
    lower(national_rater) as rater,
    cast(dense_rank() over (order by preferred_term, lower(national_rater)) as int)
        as concept_key
from ref_scale_snomed
where to_mhsds = 'Y' and in_national_outcomes = 'Y'
