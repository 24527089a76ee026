-- title = "In-scope referrals"
-- description = """
-- Referrals open at some point in the period (referral_date <= period_end
-- and closure_date NULL or >= period_start) in a service of a compared unit,
-- with the unit they count under, the age at referral, and flags for
-- closed-in-period and open-at-end. The closure date and reason are those
-- known at period_end: NULL when the referral closed after it."""
-- kind = "bound_view"
-- stage = 6
--
-- [[params]]
-- use = ["period"]

with unit_service as (
    -- One row per service of a compared unit (level is already applied in
    -- compared_unit: a partnership unit covers all its services).
    select u.unit_id, u.unit_name, u.partnership_id, s.service_id
    from compared_unit u
    join service s
        on s.partnership_id = u.partnership_id
        and (u.service_id is null or s.service_id = u.service_id)
),

final as (
    select
        r.referral_id,
        r.person_id,
        r.service_id,
        us.partnership_id,
        us.unit_id,
        us.unit_name,
        r.referral_date,
        -- A closure after period_end had not happened at period_end: the
        -- referral is open then, and its closure is not shown.
        case when r.closure_date <= $period_end then r.closure_date end as closure_date,
        case when r.closure_date <= $period_end then r.closure_reason end as closure_reason,
        r.referral_source,
        coalesce(r.closure_date between $period_start and $period_end, false) as closed_in_period,
        r.closure_date is null or r.closure_date > $period_end as open_at_end,
        -- Whole years from birth to referral.
        case
            when p.birth_date is null or p.birth_date > r.referral_date then null
            else cast(
                date_part('year', r.referral_date) - date_part('year', p.birth_date)
                - case
                    when date_part('month', r.referral_date) * 100 + date_part('day', r.referral_date)
                       < date_part('month', p.birth_date) * 100 + date_part('day', p.birth_date)
                    then 1 else 0
                  end
                as bigint)
        end as age_at_referral,
        p.gender,
        p.ethnicity
    from referral r
    join unit_service us using (service_id)
    left join person p using (person_id)
    where r.referral_date <= $period_end
      and (r.closure_date is null or r.closure_date >= $period_start)
)

select * from final
