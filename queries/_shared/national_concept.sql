-- title = "National first and last assessment per referral and concept"
-- description = """
-- NHS England's CYP outcome measures (national.md sections 4 and 5): for
-- each referral and concept with an assessment on or after contact 1
-- (national_assessment), the first (earliest by date, then
-- questionnaire_id) and the last: the final one, provided it is not the
-- first and is dated on or after contact 2 (it may share the first's
-- date). Paired = has a last. change = last score - first score (T-scores
-- for RCADS where norms apply). From ref_reliable_change_threshold, by
-- concept: threshold and direction (lower_is_better). outcome, for a pair
-- with a threshold: no_change when |change| < threshold, else improvement
-- or deterioration by the direction (inclusive: a change of exactly the
-- threshold is reliable); NULL when unpaired, without a threshold, or
-- without a direction. Kept for the session so a referral's figures can
-- be traced in the REPL."""
-- kind = "table"
-- stage = 5

-- First and last in one hashed pass (first_last_distinct: duplicates, the
-- same date and score, count once with the lowest questionnaire_id; of the
-- assessments left, the earliest and the latest by date then
-- questionnaire_id, a questionnaire scored twice with its lower score, and
-- how many there are), no sort and no join back to the assessments;
-- grouped by the concept's integer key, its name joined on at the end, and
-- by the referral's contact_2 (carried by national_assessment, one per
-- referral) so that no join to national_referral is needed for it.
-- Dropping duplicates here, not in national_assessment, saves a grouping of
-- every assessment by referral, concept, date and score (at 1M, 8.8
-- million groups that spilled; docs/performance.md, session 16).
with ends as (
    select referral_id, concept_key, contact_2,
        first_last_distinct(completed_date, questionnaire_id, score) as e
    from national_assessment
    group by referral_id, concept_key, contact_2
),

scored as (
    select referral_id, concept_key, contact_2,
        e['assessments'] as assessments,
        e['first_questionnaire_id'] as first_questionnaire_id,
        e['first_date'] as first_date,
        e['first_score'] as first_score,
        e['last_questionnaire_id'] as last_questionnaire_id,
        e['last_date'] as last_date,
        e['last_score'] as last_score
    from ends
),

paired as (
    select
        s.referral_id,
        s.concept_key,
        s.assessments,
        s.first_questionnaire_id,
        s.first_date,
        s.first_score,
        coalesce(
            s.last_questionnaire_id <> s.first_questionnaire_id
                and s.last_date >= s.contact_2,
            false) as paired,
        s.last_questionnaire_id,
        s.last_date,
        s.last_score
    from scored s
),

-- Each concept's name, rater and reliable change rule: 27 rows, written
-- first in the joins below so that DataFusion builds its hash tables over
-- them and the millions of assessments stream past (with the assessments
-- on the left it built the tables over 5.8 million rows at 1M, 2 s).
concept_rule as (
    select c.concept_key, c.concept, c.rater, t.threshold, t.lower_is_better
    from (
        select distinct concept_key, preferred_term as concept, rater
        from national_scale_concept
    ) c
    left join ref_reliable_change_threshold t on t.preferred_term = c.concept
),

final as (
    select
        p.referral_id,
        -- Dictionary-encoded: 27 concept names (up to 120 characters) and
        -- three raters over millions of rows (at 250k: 121 MiB held
        -- instead of 261); they read as text in any query.
        arrow_cast(c.concept, 'Dictionary(Int32, Utf8)') as concept,
        arrow_cast(c.rater, 'Dictionary(Int8, Utf8)') as rater,
        p.assessments,
        p.first_questionnaire_id,
        p.first_date,
        p.first_score,
        p.paired,
        case when p.paired then p.last_questionnaire_id end as last_questionnaire_id,
        case when p.paired then p.last_date end as last_date,
        case when p.paired then p.last_score end as last_score,
        case when p.paired then p.last_score - p.first_score end as change,
        c.threshold,
        c.lower_is_better,
        case
            when not p.paired or c.threshold is null then null
            when abs(p.last_score - p.first_score) < c.threshold then 'no_change'
            when (c.lower_is_better and p.last_score < p.first_score)
                or (not c.lower_is_better and p.last_score > p.first_score) then 'improvement'
            when (c.lower_is_better and p.last_score > p.first_score)
                or (not c.lower_is_better and p.last_score < p.first_score) then 'deterioration'
        end as outcome
    from concept_rule c
    join paired p using (concept_key)
)

select * from final
