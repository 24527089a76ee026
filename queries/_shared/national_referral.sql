-- title = "National population: closed referrals and their contacts 1 and 2"
-- description = """
-- NHS England's CYP outcome measures (docs/definitions.md, "National
-- method"): every closed referral that meets the population rules but the
-- period (national.md section 1): referral on or after 2016-01-01, age at
-- referral 0 to 17 (whole years; no birth date: not in the population).
-- With its contact 1 and contact 2 (section 2): the dates of the first two
-- attended contacts (attendance 5 or 6, direct or not) on or before the
-- closure date, in date order (then contact_id, which cannot change a
-- date); they share a date when two contacts fall on it. And the
-- national breakdown categories (age band, gender, upper ethnic group from
-- ref_national_breakdown; referral source group from ref_referral_source;
-- not listed: UNKNOWN). Computed once per session; the period is applied
-- by national_population."""
-- kind = "table"
-- stage = 3

with attended as (
    -- Attended contacts on or before the referral's closure date.
    select c.referral_id, c.contact_date
    from contact c
    join ref_attendance a on a.code = c.attendance
    join referral r using (referral_id)
    where a.attended
      and r.closure_date is not null
      and c.contact_date <= r.closure_date
),

first_contact as (
    select referral_id, min(contact_date) as contact_1
    from attended
    group by referral_id
),

-- Contact 2 without a sort: contact 1's date again when a second contact
-- shares it, else the next date with an attended contact.
contacts as (
    select
        a.referral_id,
        f.contact_1,
        case
            when sum(case when a.contact_date = f.contact_1 then 1 else 0 end) >= 2 then f.contact_1
            else min(case when a.contact_date > f.contact_1 then a.contact_date end)
        end as contact_2
    from attended a
    join first_contact f using (referral_id)
    group by a.referral_id, f.contact_1
),

closed as (
    select
        r.referral_id,
        r.service_id,
        s.partnership_id,
        r.referral_date,
        r.closure_date,
        r.referral_source,
        p.gender,
        p.ethnicity,
        -- Whole years from birth to referral (the birthday counts on its day).
        cast(
            date_part('year', r.referral_date) - date_part('year', p.birth_date)
            - case
                when date_part('month', r.referral_date) * 100 + date_part('day', r.referral_date)
                   < date_part('month', p.birth_date) * 100 + date_part('day', p.birth_date)
                then 1 else 0
              end
            as bigint) as age
    from referral r
    join service s using (service_id)
    left join person p using (person_id)
    where r.closure_date is not null
      and r.referral_date >= date '2016-01-01'
),

final as (
    select
        c.referral_id,
        c.service_id,
        c.partnership_id,
        c.referral_date,
        c.closure_date,
        c.age,
        -- The RCADS norms' gender (national.md section 5): person stated
        -- gender 1 = M, 2 = F; any other code has no norms.
        case c.gender when '1' then 'M' when '2' then 'F' end as norms_gender,
        k.contact_1,
        k.contact_2,
        coalesce(ab.label, 'UNKNOWN') as age_band,
        coalesce(g.label, 'UNKNOWN') as gender,
        coalesce(e.label, 'UNKNOWN') as upper_ethnicity,
        coalesce(rs.group_label, 'UNKNOWN') as referral_source
    from closed c
    left join contacts k using (referral_id)
    left join ref_national_breakdown ab
        on ab.dimension = 'age_band' and c.age between ab.min_age and ab.max_age
    left join ref_national_breakdown g
        on g.dimension = 'gender' and g.code = c.gender
    left join ref_national_breakdown e
        on e.dimension = 'upper_ethnicity' and e.code = c.ethnicity
    left join ref_referral_source rs
        on rs.code = c.referral_source
    where c.age between 0 and 17
)

select * from final
