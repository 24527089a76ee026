-- title = "Broken"
-- description = "A chart whose query fails while running (a CLI test chart)."
--
-- [[columns]]
-- name = "rci"
-- type = "Float64"
-- role = "key"
-- description = "Always an error: the standard deviation is negative"

with final as (
    select rci(cast(referral_id as double), 1.0, -1.0, 0.8) as rci
    from referral
)

select * from final
