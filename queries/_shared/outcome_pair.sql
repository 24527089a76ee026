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

-- Each measure is paired on its scored table (one row per questionnaire,
-- every scale at once) rather than on the long outcome_score: t1_t2 keeps
-- the first and last (date, id) per group by hash, with no sort.
with sdq_case as (
    select
        s.referral_id, s.informant,
        max(r.closure_date) as closure_date,
        t1_t2(s.completed_date, s.questionnaire_id, s.emotional) as emotional,
        t1_t2(s.completed_date, s.questionnaire_id, s.conduct) as conduct,
        t1_t2(s.completed_date, s.questionnaire_id, s.hyperactivity) as hyperactivity,
        t1_t2(s.completed_date, s.questionnaire_id, s.peer) as peer,
        t1_t2(s.completed_date, s.questionnaire_id, s.prosocial) as prosocial,
        t1_t2(s.completed_date, s.questionnaire_id, s.total_difficulties) as total_difficulties,
        t1_t2(s.completed_date, s.questionnaire_id, s.externalising) as externalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.internalising) as internalising,
        t1_t2(s.completed_date, s.questionnaire_id, s.impact) as impact
    from sdq_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
    group by s.referral_id, s.informant
),

rcads_case as (
    select
        s.referral_id, s.informant,
        max(r.closure_date) as closure_date,
        t1_t2(s.completed_date, s.questionnaire_id, s.separation_anxiety) as separation_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.generalised_anxiety) as generalised_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.panic) as panic,
        t1_t2(s.completed_date, s.questionnaire_id, s.social_phobia) as social_phobia,
        t1_t2(s.completed_date, s.questionnaire_id, s.ocd) as ocd,
        t1_t2(s.completed_date, s.questionnaire_id, s.depression) as depression,
        t1_t2(s.completed_date, s.questionnaire_id, s.total_anxiety) as total_anxiety,
        t1_t2(s.completed_date, s.questionnaire_id, s.total) as total
    from rcads_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
    group by s.referral_id, s.informant
),

gbo_case as (
    select
        g.referral_id, g.informant, g.goal as scale,
        max(r.closure_date) as closure_date,
        t1_t2(g.completed_date, g.questionnaire_id, g.rating) as e
    from goal_rating g
    join referral r using (referral_id)
    where g.completed_date >= r.referral_date
    group by g.referral_id, g.informant, g.goal
),

-- One row per scale (unpivot); a scale never scored has a NULL struct.
-- (`closed` is renamed back outside the unnest: DataFusion 55's
-- push_down_leaf_projections rule fails on a plain column beside unnest.)
ends as (
    select referral_id, measure, informant, scale, closed as closure_date, e
    from (
        select referral_id, 'SDQ' as measure, informant,
            unnest(['emotional', 'conduct', 'hyperactivity', 'peer', 'prosocial',
                    'total_difficulties', 'externalising', 'internalising', 'impact']) as scale,
            closure_date as closed,
            unnest([emotional, conduct, hyperactivity, peer, prosocial,
                    total_difficulties, externalising, internalising, impact]) as e
        from sdq_case
    )
    union all
    select referral_id, measure, informant, scale, closed as closure_date, e
    from (
        select referral_id, 'RCADS' as measure, informant,
            unnest(['separation_anxiety', 'generalised_anxiety', 'panic', 'social_phobia',
                    'ocd', 'depression', 'total_anxiety', 'total']) as scale,
            closure_date as closed,
            unnest([separation_anxiety, generalised_anxiety, panic, social_phobia,
                    ocd, depression, total_anxiety, total]) as e
        from rcads_case
    )
    union all
    select referral_id, 'GBO' as measure, informant, scale, closure_date, e
    from gbo_case
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
    where e is not null
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
