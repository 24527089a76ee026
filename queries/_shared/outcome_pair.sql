-- title = "T1/T2 over all the data"
-- description = """
-- One row per referral, measure, informant and scale that has a T1: the
-- earliest scorable questionnaire on or after the referral date (ties: lowest
-- questionnaire_id), and T2: the latest scorable one completed after T1
-- (ties: highest id), over all the data, whatever the period: a session
-- table, computed once. Charts never read T2 from here: paired_outcome
-- takes the pairs as of period_end (T2 the latest on or before it), and
-- whether they are paired, their change and reliable change; a T1 counts
-- only when dated on or before period_end."""
-- kind = "table"
-- stage = 4

-- SDQ and RCADS were paired per case in scale_t1_t2 (a struct per
-- scale, t_1 .. t_9 in the order of the scoring functions' fields); goals
-- are paired here, per goal. A scale never scored has a NULL struct.
with gbo_case as (
    select
        g.referral_id, g.informant, g.goal as scale,
        t1_t2(g.completed_date, g.questionnaire_id, g.rating) as e
    from goal_rating g
    join referral r using (referral_id)
    where g.completed_date >= r.referral_date
    group by g.referral_id, g.informant, g.goal
),

-- One row per scale: each select reads one struct column of an in-memory
-- table (no copy), far cheaper than building and unnesting lists.
ends as (
    select referral_id, 'SDQ' as measure, informant, 'emotional' as scale, t_1 as e
    from scale_t1_t2 where measure = 'SDQ' and t_1 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'conduct' as scale, t_2 as e
    from scale_t1_t2 where measure = 'SDQ' and t_2 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'hyperactivity' as scale, t_3 as e
    from scale_t1_t2 where measure = 'SDQ' and t_3 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'peer' as scale, t_4 as e
    from scale_t1_t2 where measure = 'SDQ' and t_4 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'prosocial' as scale, t_5 as e
    from scale_t1_t2 where measure = 'SDQ' and t_5 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'total_difficulties' as scale, t_6 as e
    from scale_t1_t2 where measure = 'SDQ' and t_6 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'externalising' as scale, t_7 as e
    from scale_t1_t2 where measure = 'SDQ' and t_7 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'internalising' as scale, t_8 as e
    from scale_t1_t2 where measure = 'SDQ' and t_8 is not null
    union all
    select referral_id, 'SDQ' as measure, informant, 'impact' as scale, t_9 as e
    from scale_t1_t2 where measure = 'SDQ' and t_9 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'separation_anxiety' as scale, t_1 as e
    from scale_t1_t2 where measure = 'RCADS' and t_1 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'generalised_anxiety' as scale, t_2 as e
    from scale_t1_t2 where measure = 'RCADS' and t_2 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'panic' as scale, t_3 as e
    from scale_t1_t2 where measure = 'RCADS' and t_3 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'social_phobia' as scale, t_4 as e
    from scale_t1_t2 where measure = 'RCADS' and t_4 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'ocd' as scale, t_5 as e
    from scale_t1_t2 where measure = 'RCADS' and t_5 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'depression' as scale, t_6 as e
    from scale_t1_t2 where measure = 'RCADS' and t_6 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'total_anxiety' as scale, t_7 as e
    from scale_t1_t2 where measure = 'RCADS' and t_7 is not null
    union all
    select referral_id, 'RCADS' as measure, informant, 'total' as scale, t_8 as e
    from scale_t1_t2 where measure = 'RCADS' and t_8 is not null
    union all
    select referral_id, 'GBO' as measure, informant, scale, e
    from gbo_case where e is not null
),

final as (
    select
        referral_id, measure, informant, scale,
        e['t1_questionnaire_id'] as t1_questionnaire_id,
        e['t1_date'] as t1_date,
        e['t1'] as t1,
        e['t2_questionnaire_id'] as t2_questionnaire_id,
        e['t2_date'] as t2_date,
        e['t2'] as t2
    from ends
)

select * from final
