-- title = "National CYP outcome measures (MHS110-MHS115)"
-- description = """
-- NHS England's outcome measures for children and young people, computed
-- from this data by the national method (docs/definitions.md, "National
-- method"): of the referrals closed in the period (aged 0-17 at referral),
-- those with at least 2 attended contacts (MHS110), and of those, per rater,
-- how many had an assessment and a paired score on a national measure
-- (SDQ and RCADS subscales, goals), and of the paired, how many showed
-- measurable improvement, no measurable change or measurable deterioration
-- (the national thresholds, inclusive). The All row plays England.
-- Clinician counts are 0: no cypdash measure maps to a national
-- clinician-rated concept (CGAS, HoNOSCA)."""
--
-- [chart]
-- order = 1
-- kind = "national_measures"
--
-- [[params]]
-- use = ["period", "units", "min_n"]
-- period_start.description = "First day of the reporting period (default: 12 months before period_end); nationally one calendar month"
-- level.description = "Unit of comparison: `partnership`, `service` (teams), or `all` (the All row only)"
-- min_n.description = "Small-number threshold of the `corc` disclosure policy: counts from 1 to min_n - 1 are withheld, and so is every share over fewer than min_n cases (`--sdc`; docs/definitions.md)"
--
-- [[columns]]
-- use = ["partnership_id", "service_id"]
--
-- [[columns]]
-- use = "unit_name"
-- description = "Name of the partnership or service; `All` for every referral of the partnerships in scope (plays England)"
--
-- [[columns]]
-- use = "rater"
-- description = "Whose measures: `self` (SDQ self, RCADS self, goals whoever rated them), `parent` (SDQ parent, RCADS parent), `clinician` (none in cypdash: always 0), `any`"
--
-- [[columns]]
-- name = "closed_referrals"
-- type = "Int64"
-- role = "count"
-- description = "Referrals closed in the period, aged 0-17 at referral, referred on or after 2016-01-01 (the population)"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "closed_2_contacts"
-- type = "Int64"
-- role = "denominator"
-- description = "Of those, with at least 2 attended contacts by closure (MHS110)"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "with_assessment"
-- type = "Int64"
-- role = "numerator"
-- of = "closed_2_contacts"
-- description = "Of MHS110, with an assessment of the rater on or after contact 1 (MHS111, 111b, 111d, 111f)"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "paired"
-- type = "Int64"
-- role = "numerator"
-- of = "closed_2_contacts"
-- description = "Of MHS110, with a paired score of the rater: a first assessment and a later last one on or after contact 2 (MHS112, 112b, 112d, 112f)"
-- unit = "referrals"
-- null_when = "withheld by the disclosure policy"
--
-- [[columns]]
-- name = "improvement"
-- type = "Int64"
-- role = "numerator"
-- of = "paired"
-- description = "Of the paired, measurable improvement: a paired score reliably improved and none reliably deteriorated (MHS113a, 114a, 115a)"
-- unit = "referrals"
-- null_when = "rater = any (the source defines none), or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "no_change"
-- type = "Int64"
-- role = "numerator"
-- of = "paired"
-- description = "Of the paired, no measurable change: a paired score without reliable change and none reliably improved or deteriorated (MHS113e, 114e, 115e)"
-- unit = "referrals"
-- null_when = "rater = any, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "deterioration"
-- type = "Int64"
-- role = "numerator"
-- of = "paired"
-- description = "Of the paired, measurable deterioration: a paired score reliably deteriorated (MHS113c, 114c, 115c)"
-- unit = "referrals"
-- null_when = "rater = any, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_with_assessment"
-- type = "Float64"
-- role = "proportion"
-- of = "closed_2_contacts"
-- count = "with_assessment"
-- scale = 100
-- description = "with_assessment as a percentage of closed_2_contacts (MHS111a, 111c, 111e, 111g), unrounded"
-- unit = "percent (0-100)"
-- null_when = "closed_2_contacts = 0, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_paired"
-- type = "Float64"
-- role = "proportion"
-- of = "closed_2_contacts"
-- count = "paired"
-- scale = 100
-- description = "paired as a percentage of closed_2_contacts (MHS112a, 112c, 112e, 112g), unrounded"
-- unit = "percent (0-100)"
-- null_when = "closed_2_contacts = 0, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_improvement"
-- type = "Float64"
-- role = "proportion"
-- of = "paired"
-- count = "improvement"
-- scale = 100
-- description = "improvement as a percentage of paired (MHS113b, 114b, 115b), unrounded"
-- unit = "percent (0-100)"
-- null_when = "rater = any, paired = 0, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_no_change"
-- type = "Float64"
-- role = "proportion"
-- of = "paired"
-- count = "no_change"
-- scale = 100
-- description = "no_change as a percentage of paired (MHS113f, 114f, 115f), unrounded"
-- unit = "percent (0-100)"
-- null_when = "rater = any, paired = 0, or withheld by the disclosure policy"
--
-- [[columns]]
-- name = "pct_deterioration"
-- type = "Float64"
-- role = "proportion"
-- of = "paired"
-- count = "deterioration"
-- scale = 100
-- description = "deterioration as a percentage of paired (MHS113d, 114d, 115d), unrounded"
-- unit = "percent (0-100)"
-- null_when = "rater = any, paired = 0, or withheld by the disclosure policy"
--
-- [[columns]]
-- use = ["suppressed"]
--
-- [sdc]
-- series = ["rater"]
-- across = ["closed_referrals", "closed_2_contacts", "with_assessment", "paired", "improvement", "no_change", "deterioration"]
--
-- [[sdc.sums]]
-- cells = ["improvement", "no_change", "deterioration"]
-- total = "paired"
-- over = "row"

with measures as (
    -- Counts per compared unit and rater (definitions: _shared/national_*.sql).
    select * from national_unit_measure
),

final as (
    select
        partnership_id,
        service_id,
        unit_name,
        rater,
        closed_referrals,
        closed_2_contacts,
        with_assessment,
        paired,
        improvement,
        no_change,
        deterioration,
        100.0 * with_assessment / nullif(closed_2_contacts, 0) as pct_with_assessment,
        100.0 * paired / nullif(closed_2_contacts, 0) as pct_paired,
        100.0 * improvement / nullif(paired, 0) as pct_improvement,
        100.0 * no_change / nullif(paired, 0) as pct_no_change,
        100.0 * deterioration / nullif(paired, 0) as pct_deterioration,
        false as suppressed
    from measures
)

select * from final
order by partnership_id nulls last, service_id nulls first,
    case rater when 'self' then 1 when 'parent' then 2 when 'clinician' then 3 else 4 end
