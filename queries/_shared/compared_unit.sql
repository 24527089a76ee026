-- title = "Compared units"
-- description = """
-- The units a chart compares: the partnerships (level = partnership) or
-- their services (level = service), restricted to one collaborative and/or
-- one partnership when asked. Every compared unit gets a row in every
-- per-unit chart, even with no cases."""
-- kind = "bound_view"
-- stage = 5
--
-- [[params]]
-- use = ["collaborative"]
--
-- [[params]]
-- name = "partnership"
-- type = "int"
-- default = "0"
-- description = "Compare only the services of this partnership (0: every partnership); use with level = service for a team drill-down"
--
-- [[params]]
-- use = ["level"]

with partnership_in_scope as (
    select partnership_id, partnership_name, collaborative
    from partnership
    where ($collaborative = 'all' or collaborative = $collaborative)
      and ($partnership = 0 or partnership_id = $partnership)
),

final as (
    select partnership_id, cast(null as bigint) as service_id,
        partnership_id as unit_id, partnership_name as unit_name, collaborative
    from partnership_in_scope
    where $level = 'partnership'
    union all
    select p.partnership_id, s.service_id,
        s.service_id as unit_id, s.service_name as unit_name, p.collaborative
    from partnership_in_scope p
    join service s using (partnership_id)
    where $level = 'service'
)

select * from final
