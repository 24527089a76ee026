-- title = "Key to partnership numbers"
-- description = """
-- The partnerships compared on the dashboard: their number, name and
-- collaborative, how many services they have and how many in-scope referrals
-- they had in the period."""
--
-- [[params]]
-- name = "period_start"
-- type = "date"
-- default = "auto"
-- description = "First day of the reporting period (default: 12 months before period_end)"
--
-- [[params]]
-- name = "period_end"
-- type = "date"
-- default = "auto"
-- description = "Last day of the reporting period (default: the latest date in the data)"
--
-- [[params]]
-- name = "collaborative"
-- type = "text"
-- default = "all"
-- description = "Compare only the partnerships of this collaborative (`all`: every partnership)"
--
-- [[params]]
-- name = "min_n"
-- type = "int"
-- default = "5"
-- description = "Small-number threshold of the `corc` disclosure policy: counts from 1 to min_n - 1 are withheld, and so is every share or mean over fewer than min_n cases (`--sdc`; docs/definitions.md)"
--
-- [[columns]]
-- name = "partnership_id"
-- type = "Int64"
-- role = "key"
-- description = "The number the partnership is known by on the dashboard"
--
-- [[columns]]
-- name = "partnership_name"
-- type = "Utf8"
-- role = "key"
-- description = "Name of the partnership"
--
-- [[columns]]
-- name = "collaborative"
-- type = "Utf8"
-- role = "key"
-- description = "The learning collaborative it belongs to"
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
-- name = "suppressed"
-- type = "Boolean"
-- role = "flag"
-- description = "True when the disclosure policy withheld a value of the row (`cypdash --sdc`; docs/definitions.md)"

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
