-- title = "Every export type"
-- description = """
-- One row per referral in the period with a column of each export type, a
-- text that needs CSV quoting and NULLs (a CLI test chart)."""
--
-- [[params]]
-- name = "period_start"
-- type = "date"
-- default = "auto"
-- description = "First day of the period"
--
-- [[params]]
-- name = "period_end"
-- type = "date"
-- default = "auto"
-- description = "Last day of the period"
--
-- [[params]]
-- name = "label"
-- type = "text"
-- default = "a,b \"c\""
-- description = "Text put in every row"
--
-- [[params]]
-- name = "scale"
-- type = "float"
-- default = "0.5"
-- description = "Multiplier for the share column"
--
-- [[columns]]
-- name = "referral_id"
-- type = "Int64"
-- role = "key"
-- description = "The referral"
--
-- [[columns]]
-- name = "small"
-- type = "Int64"
-- role = "key"
-- description = "A 32-bit integer in the query, exported as Int64"
--
-- [[columns]]
-- name = "label"
-- type = "Utf8"
-- role = "key"
-- description = "The label, a line break and the referral source"
--
-- [[columns]]
-- name = "share"
-- type = "Float64"
-- role = "key"
-- description = "referral_id / 1000 times scale"
-- unit = "share (0-1)"
--
-- [[columns]]
-- name = "open"
-- type = "Boolean"
-- role = "key"
-- description = "True while the referral is open"
--
-- [[columns]]
-- name = "referral_date"
-- type = "Date32"
-- role = "key"
-- description = "Date of referral"
--
-- [[columns]]
-- name = "closure_date"
-- type = "Date32"
-- role = "key"
-- description = "Date of closure"
-- null_when = "the referral is open"
--
-- [[columns]]
-- name = "closure_reason"
-- type = "Utf8"
-- role = "key"
-- description = "Closure reason code"
-- null_when = "the referral is open"

with in_period as (
    select *
    from referral
    where referral_date between $period_start and $period_end
),

final as (
    select
        referral_id,
        cast(1 as int) as small,
        $label || chr(10) || referral_source as label,
        referral_id / 1000.0 * $scale as share,
        closure_date is null as open,
        referral_date,
        closure_date,
        closure_reason
    from in_period
)

select * from final
order by referral_id
