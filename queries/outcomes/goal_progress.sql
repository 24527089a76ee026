-- title = "Goal progress"
-- description = """
-- Paired goals (a goal rated at least twice, first rating on or after the
-- referral date, both on or before closure, the later by period_end) per unit:
-- mean first and last rating, mean change, and the share of goals with
-- reliable improvement (a rise of at least 2.45 points, ref_reliable_change)
-- or reliable deterioration."""
--
-- [chart]
-- order = 5
-- kind = "change"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
--
-- [[columns]]
-- use = ["unit", "n", "mean_t1", "mean_t2", "mean_change"]
-- n.description = "Paired goals of the unit"
-- n.unit = "goals"
-- mean_t1.description = "Mean first rating"
-- mean_t1.unit = "rating (0-10)"
-- mean_t2.description = "Mean last rating"
-- mean_t2.unit = "rating (0-10)"
-- mean_change.description = "Mean of last - first rating (positive = progress)"
-- mean_change.unit = "rating points"
--
-- [[columns]]
-- name = "pct_reliable_improvement"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- scale = 100
-- description = "Share of paired goals that rose reliably"
-- unit = "percent (0-100)"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_reliable_deterioration"
-- type = "Float64"
-- role = "proportion"
-- of = "n"
-- scale = 100
-- description = "Share of paired goals that fell reliably"
-- unit = "percent (0-100)"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- use = ["suppressed"]
--
-- [sdc]
-- across = ["n", "pct_reliable_improvement", "pct_reliable_deterioration"]

with goal as (
    select unit_id, t1, t2, change, reliable_change
    from paired_outcome
    where measure = 'GBO'
),

unit_goal as (
    -- Each compared unit with its goals, and every goal again under the All
    -- row; a unit (or All) without goals has one row of NULLs, so n = 0.
    select u.partnership_id, u.service_id, u.unit_name, g.t1, g.t2, g.change, g.reliable_change
    from compared_unit u
    left join goal g on g.unit_id = u.unit_id
    union all
    select cast(null as bigint), cast(null as bigint), 'All', g.t1, g.t2, g.change, g.reliable_change
    from (values (true)) as all_row (x)
    left join goal g on all_row.x
),

per_unit as (
    select
        partnership_id, service_id, unit_name,
        count(change) as n,
        avg(t1) as mean_t1,
        avg(t2) as mean_t2,
        avg(change) as mean_change,
        coalesce(sum(case when reliable_change = 1 then 1 else 0 end), 0) as improved,
        coalesce(sum(case when reliable_change = -1 then 1 else 0 end), 0) as deteriorated
    from unit_goal
    group by partnership_id, service_id, unit_name
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        n,
        mean_t1 as mean_t1,
        mean_t2 as mean_t2,
        mean_change as mean_change,
        case when n > 0 then 100.0 * improved / n end as pct_reliable_improvement,
        case when n > 0 then 100.0 * deteriorated / n end as pct_reliable_deterioration,
        false as suppressed
    from per_unit
)

select * from final
order by partnership_id nulls last, service_id nulls first
