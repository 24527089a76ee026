-- title = "Units"
-- description = "The partnerships with the number of their services (a CLI test chart)."
--
-- [[params]]
-- name = "min_services"
-- type = "int"
-- default = "0"
-- description = "Leave out partnerships with fewer services"
--
-- [[columns]]
-- name = "partnership_id"
-- type = "Int64"
-- role = "key"
-- description = "The partnership"
--
-- [[columns]]
-- name = "partnership_name"
-- type = "Utf8"
-- role = "key"
-- description = "Its name"
--
-- [[columns]]
-- name = "services"
-- type = "Int64"
-- role = "key"
-- description = "Services of the partnership"
-- unit = "services"

with service_count as (
    select partnership_id, count(*) as services
    from service
    group by partnership_id
),

final as (
    select p.partnership_id, p.partnership_name, coalesce(s.services, 0) as services
    from partnership p
    left join service_count s using (partnership_id)
    where coalesce(s.services, 0) >= $min_services
)

select * from final
order by partnership_id
