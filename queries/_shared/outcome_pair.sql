-- title = "T1/T2 pairs"
-- description = """
-- One row per referral, measure, informant and scale that has a T1: the
-- earliest scorable questionnaire on or after the referral date (ties: lowest
-- questionnaire_id), and T2: the latest scorable one completed after T1
-- (ties: highest id). Paired when both exist and both are on or before the
-- closure date (when closed). Reliable change, the clinical cut-off and
-- recovery use ref_reliable_change; scales without parameters get NULL."""
-- kind = "table"
-- stage = 3

-- SDQ and RCADS were paired per case in sdq_t1_t2 and rcads_t1_t2 (a struct
-- per scale); goals are paired here, per goal. A scale never scored has a
-- NULL struct.
with gbo_case as (
    select
        g.referral_id, g.informant, g.goal as scale,
        max(r.closure_date) as closure_date,
        t1_t2(g.completed_date, g.questionnaire_id, g.rating) as e
    from goal_rating g
    join referral r using (referral_id)
    where g.completed_date >= r.referral_date
    group by g.referral_id, g.informant, g.goal
),

-- One row per scale: each select reads one struct column of an in-memory
-- table (no copy), far cheaper than building and unnesting lists.
ends as (
    select referral_id, 'SDQ' as measure, informant, 'emotional' as scale,
        closure_date, emotional as e
    from sdq_t1_t2 where emotional is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'conduct' as scale,
        closure_date, conduct as e
    from sdq_t1_t2 where conduct is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'hyperactivity' as scale,
        closure_date, hyperactivity as e
    from sdq_t1_t2 where hyperactivity is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'peer' as scale,
        closure_date, peer as e
    from sdq_t1_t2 where peer is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'prosocial' as scale,
        closure_date, prosocial as e
    from sdq_t1_t2 where prosocial is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'total_difficulties' as scale,
        closure_date, total_difficulties as e
    from sdq_t1_t2 where total_difficulties is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'externalising' as scale,
        closure_date, externalising as e
    from sdq_t1_t2 where externalising is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'internalising' as scale,
        closure_date, internalising as e
    from sdq_t1_t2 where internalising is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'impact' as scale,
        closure_date, impact as e
    from sdq_t1_t2 where impact is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'separation_anxiety' as scale,
        closure_date, separation_anxiety as e
    from rcads_t1_t2 where separation_anxiety is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'generalised_anxiety' as scale,
        closure_date, generalised_anxiety as e
    from rcads_t1_t2 where generalised_anxiety is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'panic' as scale,
        closure_date, panic as e
    from rcads_t1_t2 where panic is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'social_phobia' as scale,
        closure_date, social_phobia as e
    from rcads_t1_t2 where social_phobia is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'ocd' as scale,
        closure_date, ocd as e
    from rcads_t1_t2 where ocd is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'depression' as scale,
        closure_date, depression as e
    from rcads_t1_t2 where depression is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'total_anxiety' as scale,
        closure_date, total_anxiety as e
    from rcads_t1_t2 where total_anxiety is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'total' as scale,
        closure_date, total as e
    from rcads_t1_t2 where total is not null
    union all
    select referral_id, 'GBO' as measure, informant, scale, closure_date, e
    from gbo_case where e is not null
),

-- Parameters per (measure, informant, scale); GBO goals share the `goal` row
-- and a NULL informant in the reference table matches every informant.
parameters as (
    select measure, informant, scale, sd1, reliability, coalesce(z, 1.96) as z,
        min_change, lower_is_better, clinical_cutoff
    from ref_reliable_change
),

pair as (
    select
        referral_id, measure, informant, scale, closure_date,
        e['t1_questionnaire_id'] as t1_questionnaire_id,
        e['t1_date'] as t1_date,
        e['t1'] as t1,
        e['t2_questionnaire_id'] as t2_questionnaire_id,
        e['t2_date'] as t2_date,
        e['t2'] as t2
    from ends
),

paired as (
    select
        referral_id, measure, informant, scale,
        t1_questionnaire_id, t1_date, t1,
        t2_questionnaire_id, t2_date, t2,
        t2 is not null
            and (closure_date is null
                 or (t1_date <= closure_date and t2_date <= closure_date))
            as paired
    from pair
),

final as (
    select
        p.*,
        case when p.paired then p.t2 - p.t1 end as change,
        case
            when not p.paired then null
            when k.sd1 is not null then
                reliable_change(p.t1, p.t2, k.sd1, k.reliability, k.lower_is_better, k.z)
            when k.min_change is not null then
                case
                    when (p.t2 - p.t1) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then 1
                    when (p.t1 - p.t2) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then -1
                    else 0
                end
        end as reliable_change,
        k.clinical_cutoff,
        -- "Above the cut-off" means in the clinical range: at or beyond the
        -- first clinical score in the direction of worse.
        case
            when k.clinical_cutoff is null then null
            when k.lower_is_better then p.t1 >= k.clinical_cutoff
            else p.t1 <= k.clinical_cutoff
        end as t1_clinical,
        case
            when k.clinical_cutoff is null or not p.paired then null
            when k.lower_is_better then p.t2 >= k.clinical_cutoff
            else p.t2 <= k.clinical_cutoff
        end as t2_clinical
    from paired p
    left join parameters k
        on k.measure = p.measure
        and (k.informant is null or k.informant = p.informant)
        and k.scale = case when p.measure = 'GBO' then 'goal' else p.scale end
)

select * from final
