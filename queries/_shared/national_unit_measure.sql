-- title = "National outcome measures per compared unit and rater"
-- description = """
-- NHS England's CYP outcome measures (national.md sections 6 and 7) per
-- compared unit (compared_unit: partnerships or services; none when level =
-- all) and for the All row (every referral of national_population: the
-- partnerships in scope), per rater (self, parent, clinician, any):
-- closed_referrals (the population), closed_2_contacts (MHS110), and the
-- distinct referrals with contact 2 and an assessment, paired,
-- improvement, no_change and deterioration (NULL for `any`). Every
-- compared unit has its rows, zeros included."""
-- kind = "bound_view"
-- stage = 8

with rater as (
    select column1 as rater, column2 as rater_order
    from (values ('self', 1), ('parent', 2), ('clinician', 3), ('any', 4))
),

-- The compared units and the All row (unit_id NULL). The join below
-- matches on (is_all, unit_key), both plain equalities: with `unit_id IS
-- NOT DISTINCT FROM` DataFusion joined on the rater alone and filtered
-- every referral against every unit (quadratic: 6.4 s at 1M referrals,
-- over 5 minutes at 10M).
unit as (
    select partnership_id, service_id, unit_id, unit_name, false as is_all, unit_id as unit_key
    from compared_unit
    union all
    select cast(null as bigint), cast(null as bigint), cast(null as bigint), 'All', true, 0
),

-- Each referral under its compared unit, and under the All row.
unit_referral as (
    select false as is_all, u.unit_id as unit_key, p.referral_id, p.rater,
        p.closed_2_contacts, p.assessment, p.paired, p.improvement, p.no_change, p.deterioration
    from compared_unit u
    join national_population p
        on p.partnership_id = u.partnership_id
        and (u.service_id is null or p.service_id = u.service_id)
    union all
    select true, 0, referral_id, rater, closed_2_contacts, assessment, paired,
        improvement, no_change, deterioration
    from national_population
),

per_unit as (
    select
        u.partnership_id,
        u.service_id,
        u.unit_name,
        k.rater,
        k.rater_order,
        count(r.referral_id) as closed_referrals,
        count(case when r.closed_2_contacts then 1 end) as closed_2_contacts,
        count(case when r.assessment then 1 end) as with_assessment,
        count(case when r.paired then 1 end) as paired,
        count(case when r.improvement then 1 end) as improvement,
        count(case when r.no_change then 1 end) as no_change,
        count(case when r.deterioration then 1 end) as deterioration
    from unit u
    cross join rater k
    left join unit_referral r
        on r.is_all = u.is_all and r.unit_key = u.unit_key and r.rater = k.rater
    group by u.partnership_id, u.service_id, u.unit_name, k.rater, k.rater_order
),

final as (
    select
        partnership_id, service_id, unit_name, rater, rater_order,
        closed_referrals, closed_2_contacts, with_assessment, paired,
        -- The source defines no `any` improvement, no change or deterioration.
        case when rater <> 'any' then improvement end as improvement,
        case when rater <> 'any' then no_change end as no_change,
        case when rater <> 'any' then deterioration end as deterioration
    from per_unit
)

select * from final
