-- title = "Proportion metrics per case"
-- description = """
-- One row per case and proportion metric of the dashboard: the case counts
-- in the metric's denominator, and x = 1 when it counts in the numerator.
-- A case is a referral, except for the ESQ metrics (a questionnaire). Every
-- proportion funnel and the benchmark aggregate these rows, so each metric
-- is defined here once.
--
-- completion (data_quality/completion): referrals closed in the period with
--   at least 2 attended contacts on or before period_end; t1_<m> = has a T1
--   on measure m (SDQ, RCADS, GBO; any informant or scale) dated on or
--   before period_end, paired_<m> = has a pair as of period_end
--   (paired_outcome); t1_any / paired_any over the three measures.
-- idle (data_quality/idle_cases): referrals open at period_end; x = 1 when
--   period_end minus the last attended contact on or before period_end (or
--   the referral date when there is none) is more than idle_days.
-- goal_rated, goal_paired (data_quality/goals_use): referrals closed in the
--   period; x = 1 with any goal rated by period_end / a goal paired as of
--   period_end (a first and a later rating).
-- reliable_improvement, reliable_deterioration (outcomes/reliable_improvement):
--   cases with at least one paired total that has reliable-change
--   parameters (paired_outcome); improvement = at least one reliably
--   improved and none reliably deteriorated; deterioration = at least one
--   reliably deteriorated.
-- recovery, reliable_recovery: cases with a paired total in the clinical
--   range at T1; recovery = out of it at T2 on such a scale; reliable
--   recovery = recovery and reliable improvement on the same scale.
-- esq_satisfaction_parent, esq_satisfaction_self (experience/esq_satisfaction):
--   ESQs completed in the period for in-scope referrals with item 12
--   answered 0-2; x = 1 when it is 2 (certainly true)."""
-- kind = "bound_view"
-- stage = 9
--
-- [[params]]
-- use = ["period", "idle_days"]

-- Nothing dated after period_end is read: contacts are taken up to it,
-- T1 counts when dated by it, and pairs are those of paired_outcome (T2 the
-- latest questionnaire by period_end).
with attended as (
    select c.referral_id, c.contact_date
    from contact c
    join ref_attendance a on a.code = c.attendance
    where a.attended
      and c.contact_date <= $period_end
),

attended_count as (
    select referral_id, count(*) as attended_contacts
    from attended
    group by referral_id
),

closed_case as (
    select r.unit_id, r.referral_id, coalesce(a.attended_contacts, 0) as attended_contacts
    from in_scope_referral r
    left join attended_count a using (referral_id)
    where r.closed_in_period
),

t1_measure as (
    -- The measures with a T1 by period_end (any informant or scale).
    select distinct referral_id, measure
    from outcome_pair
    where t1_date <= $period_end
),

paired_measure as (
    select distinct referral_id, measure
    from paired_outcome
),

measure_status as (
    select t.referral_id, t.measure, p.referral_id is not null as paired
    from t1_measure t
    left join paired_measure p using (referral_id, measure)
),

completion_case as (
    select
        c.unit_id,
        c.referral_id,
        coalesce(bool_or(m.measure = 'SDQ'), false) as t1_sdq,
        coalesce(bool_or(m.measure = 'SDQ' and m.paired), false) as paired_sdq,
        coalesce(bool_or(m.measure = 'RCADS'), false) as t1_rcads,
        coalesce(bool_or(m.measure = 'RCADS' and m.paired), false) as paired_rcads,
        coalesce(bool_or(m.measure = 'GBO'), false) as t1_gbo,
        coalesce(bool_or(m.measure = 'GBO' and m.paired), false) as paired_gbo
    from closed_case c
    left join measure_status m using (referral_id)
    where c.attended_contacts >= 2
    group by c.unit_id, c.referral_id
),

completion as (
    select unit_id, metric, case when flag then 1 else 0 end as x
    from (
        select unit_id, unnest(['t1_sdq', 'paired_sdq', 't1_rcads', 'paired_rcads', 't1_gbo',
                                'paired_gbo', 't1_any', 'paired_any']) as metric,
            unnest([t1_sdq, paired_sdq, t1_rcads, paired_rcads, t1_gbo, paired_gbo,
                    t1_sdq or t1_rcads or t1_gbo, paired_sdq or paired_rcads or paired_gbo]) as flag
        from completion_case
    )
),

idle as (
    select
        r.unit_id,
        'idle' as metric,
        case
            when $period_end - coalesce(max(a.contact_date), r.referral_date) > $idle_days then 1
            else 0
        end as x
    from in_scope_referral r
    left join attended a on a.referral_id = r.referral_id
    where r.open_at_end
    group by r.unit_id, r.referral_id, r.referral_date
),

goal_status as (
    select referral_id, paired
    from measure_status
    where measure = 'GBO'
),

goals_use as (
    select c.unit_id, unnest(['goal_rated', 'goal_paired']) as metric,
        unnest([
            case when g.referral_id is not null then 1 else 0 end,
            case when coalesce(g.paired, false) then 1 else 0 end
        ]) as x
    from closed_case c
    left join goal_status g using (referral_id)
),

rollup_score as (
    -- The paired totals with reliable-change parameters (CORC roll-up).
    select unit_id, referral_id, scale, reliable_change,
        coalesce(t1_clinical, false) as t1_clinical,
        coalesce(t1_clinical and not t2_clinical, false) as recovered
    from paired_outcome
    where scale in ('total_difficulties', 'total')
      and reliable_change is not null
),

rollup_case as (
    select
        unit_id,
        referral_id,
        max(reliable_change) = 1 and min(reliable_change) >= 0 as improved,
        min(reliable_change) = -1 as deteriorated,
        bool_or(t1_clinical) as clinical_at_t1,
        bool_or(recovered) as recovered,
        bool_or(recovered and reliable_change = 1) as reliably_recovered
    from rollup_score
    group by unit_id, referral_id
),

rollup as (
    select unit_id, 'reliable_improvement' as metric, case when improved then 1 else 0 end as x
    from rollup_case
    union all
    select unit_id, 'reliable_deterioration', case when deteriorated then 1 else 0 end
    from rollup_case
    union all
    select unit_id, 'recovery', case when recovered then 1 else 0 end
    from rollup_case where clinical_at_t1
    union all
    select unit_id, 'reliable_recovery', case when reliably_recovered then 1 else 0 end
    from rollup_case where clinical_at_t1
),

esq as (
    select r.unit_id, 'esq_satisfaction_' || a.informant as metric,
        case when a.value = 2 then 1 else 0 end as x
    from esq_answer a
    join in_scope_referral r using (referral_id)
    where a.informant in ('parent', 'self')
      and a.completed_date between $period_start and $period_end
      and a.item = 'esq_12'
),

final as (
    select unit_id, metric, cast(x as bigint) as x from completion
    union all
    select unit_id, metric, cast(x as bigint) from idle
    union all
    select unit_id, metric, cast(x as bigint) from goals_use
    union all
    select unit_id, metric, cast(x as bigint) from rollup
    union all
    select unit_id, metric, cast(x as bigint) from esq
)

select * from final
