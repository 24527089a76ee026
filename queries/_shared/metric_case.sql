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

-- Each referral's attended contacts by period_end: how many, and the last.
attended_summary as (
    select referral_id, count(*) as attended_contacts, max(contact_date) as last_attended
    from attended
    group by referral_id
),

-- Per referral with a T1 by period_end: on which measures (any informant
-- or scale), and which of those are paired (paired_outcome). One grouping
-- by referral each, where the distinct (referral, measure) pairs joined
-- on the measure's name took twice as long at 1M.
t1_flag as (
    select
        referral_id,
        bool_or(measure = 'SDQ') as t1_sdq,
        bool_or(measure = 'RCADS') as t1_rcads,
        bool_or(measure = 'GBO') as t1_gbo
    from outcome_pair
    where t1_date <= $period_end
    group by referral_id
),

paired_flag as (
    select
        referral_id,
        bool_or(measure = 'SDQ') as paired_sdq,
        bool_or(measure = 'RCADS') as paired_rcads,
        bool_or(measure = 'GBO') as paired_gbo
    from paired_outcome
    group by referral_id
),

measure_flag as (
    select
        t.referral_id,
        t.t1_sdq,
        t.t1_sdq and coalesce(p.paired_sdq, false) as paired_sdq,
        t.t1_rcads,
        t.t1_rcads and coalesce(p.paired_rcads, false) as paired_rcads,
        t.t1_gbo,
        t.t1_gbo and coalesce(p.paired_gbo, false) as paired_gbo
    from t1_flag t
    left join paired_flag p using (referral_id)
),

-- Every in-scope referral closed in the period or open at its end, with
-- what each of its metrics needs. Its metrics are one unnest below: a
-- CTE is planned once per reference, so selecting each metric from it
-- would read the contacts and the pairs again for each (docs/performance.md,
-- session 17).
referral_case as (
    select
        r.unit_id,
        r.closed_in_period,
        r.open_at_end,
        r.closed_in_period and coalesce(a.attended_contacts, 0) >= 2 as completion,
        $period_end - coalesce(a.last_attended, r.referral_date) > $idle_days as idle,
        coalesce(m.t1_sdq, false) as t1_sdq,
        coalesce(m.paired_sdq, false) as paired_sdq,
        coalesce(m.t1_rcads, false) as t1_rcads,
        coalesce(m.paired_rcads, false) as paired_rcads,
        coalesce(m.t1_gbo, false) as t1_gbo,
        coalesce(m.paired_gbo, false) as paired_gbo
    from in_scope_referral r
    left join attended_summary a using (referral_id)
    left join measure_flag m using (referral_id)
    where r.closed_in_period or r.open_at_end
),

-- completion: closed with at least 2 attended contacts; goals_use: closed;
-- idle: open at period_end. `counted` says whether the case is in the
-- metric's denominator.
referral_metric as (
    select unit_id, metric, case when flag then 1 else 0 end as x
    from (
        select
            unit_id,
            unnest(['t1_sdq', 'paired_sdq', 't1_rcads', 'paired_rcads', 't1_gbo', 'paired_gbo',
                    't1_any', 'paired_any', 'goal_rated', 'goal_paired', 'idle']) as metric,
            unnest([t1_sdq, paired_sdq, t1_rcads, paired_rcads, t1_gbo, paired_gbo,
                    t1_sdq or t1_rcads or t1_gbo, paired_sdq or paired_rcads or paired_gbo,
                    t1_gbo, paired_gbo, idle]) as flag,
            unnest([completion, completion, completion, completion, completion, completion,
                    completion, completion, closed_in_period, closed_in_period,
                    open_at_end]) as counted
        from referral_case
    )
    where counted
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

-- Recovery and reliable recovery count the cases clinical at T1 only.
rollup as (
    select unit_id, metric, case when flag then 1 else 0 end as x
    from (
        select
            unit_id,
            unnest(['reliable_improvement', 'reliable_deterioration', 'recovery',
                    'reliable_recovery']) as metric,
            unnest([improved, deteriorated, recovered, reliably_recovered]) as flag,
            unnest([true, true, clinical_at_t1, clinical_at_t1]) as counted
        from rollup_case
    )
    where counted
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
    select unit_id, metric, cast(x as bigint) as x from referral_metric
    union all
    select unit_id, metric, cast(x as bigint) from rollup
    union all
    select unit_id, metric, cast(x as bigint) from esq
)

select * from final
