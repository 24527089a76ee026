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

with scorable as (
    select s.*, r.referral_date, r.closure_date
    from outcome_score s
    join referral r using (referral_id)
    where s.completed_date >= r.referral_date
),

-- One pass per (referral, measure, informant, scale): T1 is the first row
-- by (completed_date, questionnaire_id), the last row by the same order is
-- T2 when it is dated after T1. (The last row has the latest date and,
-- among that date's rows, the highest id: the T2 tie rule. If it shares
-- T1's date, no row is later, so there is no T2.) Ordered first_value /
-- last_value aggregate by hash; window functions would sort every row.
ends as (
    select
        referral_id, measure, informant, scale,
        max(referral_date) as referral_date,
        max(closure_date) as closure_date,
        first_value(questionnaire_id order by completed_date, questionnaire_id) as t1_questionnaire_id,
        min(completed_date) as t1_date,
        first_value(score order by completed_date, questionnaire_id) as t1,
        last_value(questionnaire_id order by completed_date, questionnaire_id) as last_questionnaire_id,
        max(completed_date) as last_date,
        last_value(score order by completed_date, questionnaire_id) as last_score
    from scorable
    group by referral_id, measure, informant, scale
),

t1 as (
    select referral_id, measure, informant, scale, referral_date, closure_date,
        t1_questionnaire_id, t1_date, t1
    from ends
),

t2 as (
    select referral_id, measure, informant, scale,
        last_questionnaire_id as t2_questionnaire_id, last_date as t2_date, last_score as t2
    from ends
    where last_date > t1_date
),

-- Parameters per (measure, informant, scale); GBO goals share the `goal` row
-- and a NULL informant in the reference table matches every informant.
parameters as (
    select measure, informant, scale, sd1, reliability, coalesce(z, 1.96) as z,
        min_change, lower_is_better, clinical_cutoff
    from ref_reliable_change
),

paired as (
    select
        t1.referral_id, t1.measure, t1.informant, t1.scale,
        t1.t1_questionnaire_id, t1.t1_date, t1.t1,
        t2.t2_questionnaire_id, t2.t2_date, t2.t2,
        t2.t2 is not null
            and (t1.closure_date is null
                 or (t1.t1_date <= t1.closure_date and t2.t2_date <= t1.closure_date))
            as paired
    from t1
    left join t2 using (referral_id, measure, informant, scale)
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
