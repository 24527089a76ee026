-- title = "Outcome scores, long"
-- description = """
-- Every scored scale of every SDQ, RCADS and GBO questionnaire as one row
-- (measure, informant, scale, score): the input of the T1/T2 pairing. GBO
-- goals appear as scales goal_1 .. goal_3."""
-- kind = "view"
-- stage = 3

with sdq as (
    select
        questionnaire_id, referral_id, 'SDQ' as measure, informant, completed_date,
        unnest(['emotional', 'conduct', 'hyperactivity', 'peer', 'prosocial',
                'total_difficulties', 'externalising', 'internalising', 'impact']) as scale,
        unnest([emotional, conduct, hyperactivity, peer, prosocial,
                total_difficulties, externalising, internalising, impact]) as score
    from sdq_score
),

rcads as (
    select
        questionnaire_id, referral_id, 'RCADS' as measure, informant, completed_date,
        unnest(['separation_anxiety', 'generalised_anxiety', 'panic', 'social_phobia',
                'ocd', 'depression', 'total_anxiety', 'total']) as scale,
        unnest([separation_anxiety, generalised_anxiety, panic, social_phobia,
                ocd, depression, total_anxiety, total]) as score
    from rcads_score
),

gbo as (
    select questionnaire_id, referral_id, 'GBO' as measure, informant, completed_date,
        goal as scale, rating as score
    from goal_rating
),

final as (
    select questionnaire_id, referral_id, measure, informant, completed_date, scale,
        cast(score as double) as score
    from sdq where score is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date, scale,
        cast(score as double)
    from rcads where score is not null
    union all
    select questionnaire_id, referral_id, measure, informant, completed_date, scale,
        cast(score as double)
    from gbo
)

select * from final
