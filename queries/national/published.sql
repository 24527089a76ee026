-- title = "National CYP outcome measures, published shape"
-- description = """
-- The figures of national/outcome_measures in the shape NHS England
-- publishes them: one row per measure (MHS110 .. MHS115f), breakdown and
-- unit, with the unrounded value and the text published by the national
-- disclosure rule (national.md section 9). Breakdowns: `all` (plays
-- England), `partnership` and `service` (play providers: a count below 5 is
-- `*`, others rounded to the nearest 5; a percentage is `*` when its
-- numerator is below 5, else its 1-decimal value rounded to a whole number),
-- and over all data `age_band`, `gender`, `upper_ethnicity` and
-- `referral_source` (a cypdash extra), published like England (counts as
-- they are, percentages to 1 decimal, half up). Percentages use the
-- unrounded counts. ICB, region, IMD, reason for referral and team type
-- cannot be given from cypdash's data."""
--
-- [chart]
-- order = 3
-- kind = "national_published"
--
-- [[params]]
-- use = ["period", "collaborative", "partnership", "min_n"]
-- period_start.description = "First day of the reporting period (default: 12 months before period_end); nationally one calendar month"
-- collaborative.description = "Only the partnerships of this collaborative (`all`: every partnership)"
-- partnership.description = "Only this partnership and its services (0: all)"
-- min_n.description = "Small-number threshold of the `corc` disclosure policy for numerator, denominator and value (`--sdc`; docs/definitions.md); the `published` column always follows the national rule"
--
-- [[columns]]
-- name = "measure_id"
-- type = "Utf8"
-- role = "key"
-- description = "NHS England's measure id: MHS110, MHS111, MHS111a .. MHS111g, MHS112, MHS112a .. MHS112g, MHS113a .. MHS113f (self), MHS114a .. MHS114f (parent), MHS115a .. MHS115f (clinician)"
--
-- [[columns]]
-- name = "measure_name"
-- type = "Utf8"
-- role = "key"
-- description = "What the measure counts, in short"
--
-- [[columns]]
-- name = "breakdown"
-- type = "Utf8"
-- role = "key"
-- description = "all, partnership, service, age_band, gender, upper_ethnicity or referral_source"
--
-- [[columns]]
-- use = "partnership_id"
-- description = "The partnership (breakdowns partnership and service)"
-- null_when = "the other breakdowns"
--
-- [[columns]]
-- use = "service_id"
-- description = "The service (breakdown service)"
-- null_when = "the other breakdowns"
--
-- [[columns]]
-- name = "unit"
-- type = "Utf8"
-- role = "key"
-- description = "`All`, the partnership or service name, or the breakdown's category (`UNKNOWN`: a code the breakdown does not list)"
--
-- [[columns]]
-- use = "sort_order"
-- description = "Order of the row within its measure: All, partnerships, services, then the breakdowns' categories"
--
-- [[columns]]
-- name = "numerator"
-- type = "Int64"
-- role = "numerator"
-- of = "denominator"
-- description = "The measure's count (a percentage's numerator)"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "denominator"
-- type = "Int64"
-- role = "denominator"
-- description = "The count the measure is taken from: the population for MHS110, MHS110 for MHS111 and MHS112 (all raters), the rater's paired referrals for MHS113-MHS115"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "value"
-- type = "Float64"
-- role = "derived"
-- from = ["numerator", "denominator"]
-- description = "The measure, unrounded: the count, or 100 x numerator / denominator for a percentage"
-- unit = "referrals, or percent (0-100)"
-- null_when = "a percentage over 0; withheld with its numerator or denominator, and (mhsds) on partnership and service rows, which are published rounded"
--
-- [[columns]]
-- name = "published"
-- type = "Utf8"
-- role = "derived"
-- from = ["numerator", "denominator"]
-- rounds = true
-- description = "The value as NHS England would publish it (national.md section 9): all-data rows exact (percentages to 1 decimal, half up); partnership and service rows `*` below 5, counts to the nearest 5, whole percentages. The national rule itself; the chosen `--sdc` policy also withholds it with its numerator or denominator"
-- null_when = "a percentage over 0 on an all-data row, or withheld by the disclosure policy"
--
-- [[columns]]
-- use = ["suppressed"]
--
-- [sdc]
-- series = ["measure_id"]
-- total_when = ["breakdown", "all"]
-- parts = "breakdown"
-- across = ["numerator", "denominator"]

with measure as (
    -- The published measures: rater, what is counted over which base, and
    -- whether the value is the count or a percentage.
    select
        column1 as measure_id, column2 as rater, column3 as counted, column4 as base,
        column5 as percentage, column6 as measure_name
    from (values
        ('MHS110', 'any', 'closed_2_contacts', 'closed_referrals', false, 'Closed referrals with at least 2 contacts'),
        ('MHS111', 'any', 'assessment', 'closed_2_contacts', false, 'With any assessment'),
        ('MHS111a', 'any', 'assessment', 'closed_2_contacts', true, 'With any assessment, % of MHS110'),
        ('MHS111b', 'self', 'assessment', 'closed_2_contacts', false, 'With a self-rated assessment'),
        ('MHS111c', 'self', 'assessment', 'closed_2_contacts', true, 'With a self-rated assessment, % of MHS110'),
        ('MHS111d', 'parent', 'assessment', 'closed_2_contacts', false, 'With a parent-rated assessment'),
        ('MHS111e', 'parent', 'assessment', 'closed_2_contacts', true, 'With a parent-rated assessment, % of MHS110'),
        ('MHS111f', 'clinician', 'assessment', 'closed_2_contacts', false, 'With a clinician-rated assessment'),
        ('MHS111g', 'clinician', 'assessment', 'closed_2_contacts', true, 'With a clinician-rated assessment, % of MHS110'),
        ('MHS112', 'any', 'paired', 'closed_2_contacts', false, 'With any paired score'),
        ('MHS112a', 'any', 'paired', 'closed_2_contacts', true, 'With any paired score, % of MHS110'),
        ('MHS112b', 'self', 'paired', 'closed_2_contacts', false, 'With a self-rated paired score'),
        ('MHS112c', 'self', 'paired', 'closed_2_contacts', true, 'With a self-rated paired score, % of MHS110'),
        ('MHS112d', 'parent', 'paired', 'closed_2_contacts', false, 'With a parent-rated paired score'),
        ('MHS112e', 'parent', 'paired', 'closed_2_contacts', true, 'With a parent-rated paired score, % of MHS110'),
        ('MHS112f', 'clinician', 'paired', 'closed_2_contacts', false, 'With a clinician-rated paired score'),
        ('MHS112g', 'clinician', 'paired', 'closed_2_contacts', true, 'With a clinician-rated paired score, % of MHS110'),
        ('MHS113a', 'self', 'improvement', 'paired', false, 'Self-rated: measurable improvement'),
        ('MHS113b', 'self', 'improvement', 'paired', true, 'Self-rated: measurable improvement, % of MHS112b'),
        ('MHS113c', 'self', 'deterioration', 'paired', false, 'Self-rated: measurable deterioration'),
        ('MHS113d', 'self', 'deterioration', 'paired', true, 'Self-rated: measurable deterioration, % of MHS112b'),
        ('MHS113e', 'self', 'no_change', 'paired', false, 'Self-rated: no measurable change'),
        ('MHS113f', 'self', 'no_change', 'paired', true, 'Self-rated: no measurable change, % of MHS112b'),
        ('MHS114a', 'parent', 'improvement', 'paired', false, 'Parent-rated: measurable improvement'),
        ('MHS114b', 'parent', 'improvement', 'paired', true, 'Parent-rated: measurable improvement, % of MHS112d'),
        ('MHS114c', 'parent', 'deterioration', 'paired', false, 'Parent-rated: measurable deterioration'),
        ('MHS114d', 'parent', 'deterioration', 'paired', true, 'Parent-rated: measurable deterioration, % of MHS112d'),
        ('MHS114e', 'parent', 'no_change', 'paired', false, 'Parent-rated: no measurable change'),
        ('MHS114f', 'parent', 'no_change', 'paired', true, 'Parent-rated: no measurable change, % of MHS112d'),
        ('MHS115a', 'clinician', 'improvement', 'paired', false, 'Clinician-rated: measurable improvement'),
        ('MHS115b', 'clinician', 'improvement', 'paired', true, 'Clinician-rated: measurable improvement, % of MHS112f'),
        ('MHS115c', 'clinician', 'deterioration', 'paired', false, 'Clinician-rated: measurable deterioration'),
        ('MHS115d', 'clinician', 'deterioration', 'paired', true, 'Clinician-rated: measurable deterioration, % of MHS112f'),
        ('MHS115e', 'clinician', 'no_change', 'paired', false, 'Clinician-rated: no measurable change'),
        ('MHS115f', 'clinician', 'no_change', 'paired', true, 'Clinician-rated: no measurable change, % of MHS112f')
    )
),

-- The breakdowns over all data, in publication order after all,
-- partnership and service.
national_breakdown as (
    select column1 as breakdown, column2 as breakdown_rank
    from (values ('age_band', 4), ('gender', 5), ('upper_ethnicity', 6), ('referral_source', 7))
),

partnership_in_scope as (
    select partnership_id, partnership_name
    from partnership
    where ($collaborative = 'all' or collaborative = $collaborative)
      and ($partnership = 0 or partnership_id = $partnership)
),

-- Every row of the publication, whether it has referrals or not, in
-- publication order. The all-data rows (`all` and the breakdowns) are
-- published like England.
listed_unit as (
    select 'all' as breakdown, 1 as breakdown_rank, cast(null as bigint) as partnership_id,
        cast(null as bigint) as service_id, 'All' as unit, cast(0 as bigint) as category_rank
    union all
    select 'partnership', 2, partnership_id, cast(null as bigint), partnership_name,
        cast(0 as bigint)
    from partnership_in_scope
    union all
    select 'service', 3, s.partnership_id, s.service_id, s.service_name, cast(0 as bigint)
    from service s
    join partnership_in_scope p using (partnership_id)
    union all
    select b.breakdown, b.breakdown_rank, cast(null as bigint), cast(null as bigint), r.label,
        min(r.sort_order)
    from national_breakdown b
    join ref_national_breakdown r on r.dimension = b.breakdown
    group by b.breakdown, b.breakdown_rank, r.label
    union all
    select 'referral_source', 7, cast(null as bigint), cast(null as bigint), group_label,
        min(sort_order)
    from ref_referral_source group by group_label
    union all
    -- Codes a breakdown does not list, and missing ones.
    select breakdown, breakdown_rank, cast(null as bigint), cast(null as bigint), 'UNKNOWN',
        cast(1000000 as bigint)
    from national_breakdown
),

breakdown_unit as (
    select
        breakdown, partnership_id, service_id, unit,
        breakdown not in ('partnership', 'service') as national,
        cast(row_number() over (
            order by breakdown_rank, partnership_id, service_id, category_rank, unit
        ) as bigint) as sort_order
    from listed_unit
),

-- The counts of every row and rater from one grouped pass over the
-- population (GROUPING SETS: the whole population, each partnership, each
-- service, each category of the four breakdowns), before they meet the
-- listed rows: joining every referral to each of its rows first would
-- build seven rows per referral and rater.
population_count as (
    select
        rater, partnership_id, service_id, age_band, gender, upper_ethnicity, referral_source,
        grouping(partnership_id) as no_partnership,
        grouping(service_id) as no_service,
        grouping(age_band) as no_age_band,
        grouping(gender) as no_gender,
        grouping(upper_ethnicity) as no_upper_ethnicity,
        grouping(referral_source) as no_referral_source,
        count(referral_id) as closed_referrals,
        count(case when closed_2_contacts then 1 end) as closed_2_contacts,
        count(case when assessment then 1 end) as assessment,
        count(case when paired then 1 end) as paired,
        count(case when improvement then 1 end) as improvement,
        count(case when no_change then 1 end) as no_change,
        count(case when deterioration then 1 end) as deterioration
    from national_population
    group by grouping sets (
        (rater), (rater, partnership_id), (rater, partnership_id, service_id),
        (rater, age_band), (rater, gender), (rater, upper_ethnicity), (rater, referral_source)
    )
),

unit_count as (
    -- Each grouping named as the row it counts: its breakdown, its
    -- partnership or service, and its unit.
    select
        case
            when no_partnership = 0 and no_service = 0 then 'service'
            when no_partnership = 0 then 'partnership'
            when no_age_band = 0 then 'age_band'
            when no_gender = 0 then 'gender'
            when no_upper_ethnicity = 0 then 'upper_ethnicity'
            when no_referral_source = 0 then 'referral_source'
            else 'all'
        end as breakdown,
        c.partnership_id as unit_partnership_id,
        c.service_id as unit_service_id,
        case
            when no_partnership = 0 and no_service = 0 then s.service_name
            when no_partnership = 0 then p.partnership_name
            else coalesce(c.age_band, c.gender, c.upper_ethnicity, c.referral_source, 'All')
        end as unit,
        c.*
    from population_count c
    left join partnership_in_scope p on c.no_service = 1 and p.partnership_id = c.partnership_id
    left join service s on s.service_id = c.service_id
),

counts as (
    -- Referrals per row and rater (0 for a row none counts in).
    select
        b.breakdown, b.partnership_id, b.service_id, b.unit, b.sort_order, b.national,
        k.rater,
        coalesce(r.closed_referrals, 0) as closed_referrals,
        coalesce(r.closed_2_contacts, 0) as closed_2_contacts,
        coalesce(r.assessment, 0) as assessment,
        coalesce(r.paired, 0) as paired,
        coalesce(r.improvement, 0) as improvement,
        coalesce(r.no_change, 0) as no_change,
        coalesce(r.deterioration, 0) as deterioration
    from breakdown_unit b
    cross join (select distinct rater from measure) k
    left join unit_count r
        on r.breakdown = b.breakdown
        and r.unit = b.unit
        and (r.unit_partnership_id is not distinct from b.partnership_id)
        and (r.unit_service_id is not distinct from b.service_id)
        and r.rater = k.rater
),

measured as (
    select
        m.measure_id, m.measure_name, m.percentage, c.breakdown, c.partnership_id,
        c.service_id, c.unit, c.sort_order, c.national,
        case m.counted
            when 'closed_2_contacts' then c.closed_2_contacts
            when 'assessment' then c.assessment
            when 'paired' then c.paired
            when 'improvement' then c.improvement
            when 'no_change' then c.no_change
            when 'deterioration' then c.deterioration
        end as numerator,
        case m.base
            when 'closed_referrals' then c.closed_referrals
            when 'closed_2_contacts' then c.closed_2_contacts
            when 'paired' then c.paired
        end as denominator
    from measure m
    join counts c on c.rater = m.rater
),

rounded as (
    select
        *,
        -- The percentage in tenths, rounded half up in whole numbers (no
        -- binary fractions): round(1000 num / den) = (2000 num + den) / (2 den).
        case when denominator > 0 then (2000 * numerator + denominator) / (2 * denominator) end
            as tenths
    from measured
),

final as (
    select
        measure_id,
        measure_name,
        breakdown,
        partnership_id,
        service_id,
        unit,
        sort_order,
        numerator,
        denominator,
        case
            when not percentage then cast(numerator as double)
            else 100.0 * numerator / nullif(denominator, 0)
        end as value,
        case
            -- All data and its breakdowns: as they are, percentages to 1 decimal.
            when national and not percentage then cast(numerator as varchar)
            when national then
                cast(tenths / 10 as varchar) || '.' || cast(tenths % 10 as varchar)
            -- Partnerships and services (providers): below 5 is `*`.
            when numerator < 5 then '*'
            when not percentage then cast((numerator + 2) / 5 * 5 as varchar)
            -- The 1-decimal value rounded half up to a whole number.
            else cast((tenths + 5) / 10 as varchar)
        end as published,
        false as suppressed
    from rounded
)

select * from final
order by measure_id, sort_order
