-- title = "Paired outcomes in the period"
-- description = """
-- The T1/T2 pairs of the in-scope referrals as of period_end, with the unit
-- they count under, the change, reliable change (ref_reliable_change;
-- scales without parameters get NULL), the clinical range at T1 and T2 and
-- the scale's direction (ref_scale). The population of every outcomes chart.
-- T1 is outcome_pair's; T2 is the latest scorable questionnaire completed
-- after T1 and on or before period_end (ties: highest id), not the latest
-- in all the data: no questionnaire after period_end is read. Paired: T2
-- exists, and T1 and T2 are on or before the closure date when the
-- referral closed by period_end."""
-- kind = "bound_view"
-- stage = 7
--
-- [[params]]
-- use = ["period_end"]

-- Most pairs end by period_end (all of them at the default period): they
-- are taken from outcome_pair as they are. A pair whose T2 in all the data
-- is after period_end but whose T1 is not (late_pair) gets its T2 again
-- from the scored questionnaires of that case up to period_end (the latest
-- one after T1, if any): the same rule as outcome_pair's, over the data
-- known at period_end. Only those cases are unpivoted and paired here.
with ended as (
    select referral_id, measure, informant, scale, t1_date, t1, t2_date, t2
    from outcome_pair
    where t2_date <= $period_end
),

late_case as (
    select distinct referral_id, measure, informant
    from late_pair
),

-- The scored questionnaires of the late cases up to period_end, one row
-- per scale (the scale names as in outcome_pair).
late_score as (
    select
        s.referral_id, 'SDQ' as measure, s.informant, s.questionnaire_id, s.completed_date,
        unnest(['emotional', 'conduct', 'hyperactivity', 'peer', 'prosocial',
                'total_difficulties', 'externalising', 'internalising', 'impact']) as scale,
        unnest([s.emotional, s.conduct, s.hyperactivity, s.peer, s.prosocial,
                s.total_difficulties, s.externalising, s.internalising, s.impact]) as score
    from sdq_score s
    join late_case c
        on c.referral_id = s.referral_id and c.informant = s.informant and c.measure = 'SDQ'
    where s.completed_date <= $period_end
    union all
    select
        s.referral_id, 'RCADS' as measure, s.informant, s.questionnaire_id, s.completed_date,
        unnest(['separation_anxiety', 'generalised_anxiety', 'panic', 'social_phobia',
                'ocd', 'depression', 'total_anxiety', 'total']) as scale,
        unnest([s.separation_anxiety, s.generalised_anxiety, s.panic, s.social_phobia,
                s.ocd, s.depression, s.total_anxiety, s.total]) as score
    from rcads_score s
    join late_case c
        on c.referral_id = s.referral_id and c.informant = s.informant and c.measure = 'RCADS'
    where s.completed_date <= $period_end
    union all
    select
        g.referral_id, 'GBO' as measure, g.informant, g.questionnaire_id, g.completed_date,
        g.goal as scale, cast(g.rating as double) as score
    from goal_rating g
    join late_case c
        on c.referral_id = g.referral_id and c.informant = g.informant and c.measure = 'GBO'
    where g.completed_date <= $period_end
),

-- t1_t2 over the questionnaires from T1's date to period_end: its T1 is
-- outcome_pair's T1 again (the earliest, lowest id), its T2 the latest
-- one dated after T1, or none.
repaired as (
    select
        l.referral_id, l.measure, l.informant, l.scale,
        t1_t2(x.completed_date, x.questionnaire_id, x.score) as e
    from late_pair l
    join late_score x
        on x.referral_id = l.referral_id and x.measure = l.measure
        and x.informant = l.informant and x.scale = l.scale
    where x.completed_date >= l.t1_date
    group by l.referral_id, l.measure, l.informant, l.scale
),

pair as (
    select * from ended
    union all
    select referral_id, measure, informant, scale,
        e['t1_date'] as t1_date, e['t1'] as t1, e['t2_date'] as t2_date, e['t2'] as t2
    from repaired
    where e['t2'] is not null
),

-- In-scope referrals only; their closure_date is NULL unless they closed
-- by period_end.
paired as (
    select r.unit_id, p.*
    from pair p
    join in_scope_referral r using (referral_id)
    where r.closure_date is null
       or (p.t1_date <= r.closure_date and p.t2_date <= r.closure_date)
),

-- Parameters per (measure, informant, scale); GBO goals share the `goal` row
-- and a NULL informant in the reference table matches every informant.
parameters as (
    select measure, informant, scale, sd1, reliability, coalesce(z, 1.96) as z,
        min_change, lower_is_better, clinical_cutoff
    from ref_reliable_change
),

final as (
    select
        p.unit_id,
        p.referral_id,
        p.measure,
        p.informant,
        p.scale,
        p.t1,
        p.t2,
        p.t2 - p.t1 as change,
        case
            when k.sd1 is not null then
                reliable_change(p.t1, p.t2, k.sd1, k.reliability, k.lower_is_better, k.z)
            when k.min_change is not null then
                case
                    when (p.t2 - p.t1) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then 1
                    when (p.t1 - p.t2) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then -1
                    else 0
                end
        end as reliable_change,
        -- "In the clinical range": at or beyond the first clinical score in
        -- the direction of worse.
        case
            when k.clinical_cutoff is null then null
            when k.lower_is_better then p.t1 >= k.clinical_cutoff
            else p.t1 <= k.clinical_cutoff
        end as t1_clinical,
        case
            when k.clinical_cutoff is null then null
            when k.lower_is_better then p.t2 >= k.clinical_cutoff
            else p.t2 <= k.clinical_cutoff
        end as t2_clinical,
        coalesce(s.lower_is_better, true) as lower_is_better,
        s.sort_order as scale_order
    from paired p
    left join parameters k
        on k.measure = p.measure
        and (k.informant is null or k.informant = p.informant)
        and k.scale = case when p.measure = 'GBO' then 'goal' else p.scale end
    left join ref_scale s on s.measure = p.measure and s.scale = p.scale
)

select * from final
