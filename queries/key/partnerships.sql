-- title = "Key to partnership numbers"
-- description = """
-- The partnerships compared on the dashboard: their number, name and
-- collaborative, how many services they have and how many in-scope referrals
-- they had in the period."""
--
-- [chart]
-- order = 1
-- kind = "key"
--
-- [[chart.cover]]
-- label = "Partnerships"
-- take = "rows"
--
-- [[chart.cover]]
-- label = "Services (teams)"
-- take = "sum"
-- column = "services"
--
-- [[params]]
-- use = ["period", "collaborative", "min_n"]
--
-- [[columns]]
-- name = "partnership_id"
-- type = "Int64"
-- role = "key"
-- description = "The number the partnership is known by on the dashboard"
--
-- [[columns]]
-- use = ["partnership_name", "collaborative"]
--
-- [[columns]]
-- name = "services"
-- type = "Int64"
-- role = "key"
-- description = "Services (teams) of the partnership"
-- unit = "services"
--
-- [[columns]]
-- name = "referrals"
-- type = "Int64"
-- role = "count"
-- description = "In-scope referrals in the period"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = ["suppressed"]

with referral_count as (
    select partnership_id, count(*) as referrals
    from in_scope_referral
    group by partnership_id
),

service_count as (
    select partnership_id, count(*) as services
    from service
    group by partnership_id
),

partnership_row as (
    select
        u.partnership_id,
        u.unit_name as partnership_name,
        u.collaborative,
        coalesce(s.services, 0) as services,
        coalesce(r.referrals, 0) as referrals
    from compared_unit u
    left join referral_count r using (partnership_id)
    left join service_count s using (partnership_id)
),

final as (
    select
        partnership_id,
        partnership_name,
        collaborative,
        services,
        referrals,
        false as suppressed
    from partnership_row
)

select * from final
order by partnership_id
