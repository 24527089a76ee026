#!/usr/bin/env python3
"""DuckDB baseline of the whole dashboard, for `scripts/bench.sh` (issue #18:
"the whole dashboard export <= 0.2x the DuckDB baseline in the same run"):
every shared block and every chart of queries/ ported to DuckDB SQL over the
same Parquet files cypdash reads, timed in this process. A port, not a
second design: plain SQL of the query files is kept where DuckDB runs it
(much of it line for line), and what cypdash computes in Rust (the scoring,
the pairing, the change statistics, the funnel limits) is written anew from
the specs (domain.md, statistics.md, national.md). So the timing compares
the engines on the same logic, and --check tests the re-derived functions.

Usage:
    duckdb_dashboard.py DATA_DIR REPS
        Prints one JSON object: {"dashboard": [seconds per rep],
        "peak_rss_mib": ..., "threads": 2, "duckdb_version": ...,
        "chart_rows": ..., "blocks": {name: [seconds per rep]}}; peak RSS of
        this process (getrusage), over all reps; "blocks" times each shared
        block's statement, and "(charts)" the 23 charts after them.
    duckdb_dashboard.py DATA_DIR --check CYPDASH_BIN [--period-end YYYY-MM-DD]
        Runs the dashboard once here, exports it with `CYPDASH_BIN --sdc none
        export --format csv`, and prints an OK/DIFF line per chart (rows in
        order; every column: numbers to 1e-9 relative, text, booleans and
        NULLs exactly) and per shared block (row count and a sum or count of
        every column, from one `CYPDASH_BIN sql` statement); exit code 1 on
        any DIFF. With --period-end (the period then the 12 months up to it,
        passed to cypdash as period_start and period_end) only the charts are
        compared: `sql` computes the blocks at the default period.

What one rep computes, in a fresh connection with `SET threads=2`:
- Inputs: a view per table over DATA_DIR's Parquet files, as cypdash
  registers them (questionnaire_score optional, as in the contract); the
  reference tables cypdash ships (data/reference/*.csv, which the binary
  embeds), loaded with their cypdash types each rep; the
  chart_metric view (the [[metrics]] of the chart headers) as VALUES.
- Parameters: the defaults of queries/_params.toml and the chart headers:
  period_end = the latest referral, closure or contact date not in the
  future, period_start = a year before it plus a day; level = partnership,
  collaborative = all, partnership = 0, idle_days = 90,
  severity_threshold = 2, coverages 95 and 99.8, funnel_kind =
  proportion_exact, overdispersion = false; informant parent for
  sdq_change, severity_sdq and effect_size (SDQ total_difficulties), self
  for rcads_change and severity_rcads.
- Every block of queries/_shared/ in stage order, each a temporary table
  (the views sdq_score, rcads_score and outcome_score are declared as views,
  as in cypdash, where no chart reads outcome_score; the steps given_score
  and item_answer are dropped once their readers are built; scale_t1_t2 is
  folded into outcome_pair and national_assessment into national_concept,
  as cypdash plans them). The bound views scale_change and severity_funnel
  are computed inside the charts that read them, for the chart's measure
  (and scale) and informant only, as a filter pushed into the view would.
- Every chart of who/, outcomes/, experience/, data_quality/, national/ and
  key/ (23), with the columns and row order of its SQL file, each fetched to
  an Arrow table (as an export materialises it).

The cypdash functions, re-expressed in DuckDB SQL:
- sdq_scores, rcads_scores: one grouped pass over the item rows per measure
  (joined to a map of the measure's item codes); each valid answer sets a
  one-hot bit (bit 4 x slot + value, after reversing) in a HUGEINT bit_or
  per questionnaire, so identical duplicate answers count once and
  conflicting ones decode as missing; then prorating (integer round half
  up: (2 sum items + n) // 2n), the impact recode and totals NULL with a
  NULL part, per questionnaire.
- t1_t2, first_last_distinct: min/max and arg_min/arg_max over a HUGEINT key
  ordering by date, then questionnaire_id (order_key), per case and measure
  with a column per scale (SDQ, RCADS) or per goal (a goal rated twice in a
  questionnaire: the lower rating, via 4 tie-break bits). first_last_distinct
  groups by date and score first (lowest id), then collapses a questionnaire
  left twice on a date to its lower score. A struct key (date, id, score)
  gave the same results but outcome_pair took 5.9 s instead of 1.3 s at 250k.
- reliable_change (|t2 - t1| > z sd1 sqrt(2) sqrt(1 - r)), the GBO
  min_change rule, pre_post_effect_size (avg, stddev_samp and corr, NULL
  where cypdash gives NULL), score_sd (stddev_samp), the RCADS T-scores: plain
  SQL expressions.
- In Python, after fetching, inside the timed region (small final per-unit
  statistics): funnel_limits and funnel_position for every funnel (the
  proportion funnels: a row per compared unit and metric, 1224 at 250k; the
  mean and effect-size funnels: a row per unit; the benchmark chart: a row
  per partnership and headline). DuckDB has no binomial quantile for the
  Spiegelhalter interpolated exact binomial limits (funnel_kind
  proportion_exact): they are summed here from the binomial mass function
  (by recurrence from the mode, normalised), the others are a line of
  arithmetic each; z = Phi^-1(1 - (1 - c/100)/2) from statistics.NormalDist.
  The proportion funnel rows then go back into DuckDB (a table) for the
  charts that select from them.

Left out (each makes this baseline do less than `cypdash export`):
disclosure control (`--sdc`, applied at export: the check compares with
`--sdc none`, and `suppressed` is false on every row, as before cypdash
applies it); the `__limits` files of the funnel charts (funnel_limits curves
at every n up to the largest, written beside each funnel chart) and
manifest.json; writing CSV or Parquet (results are fetched to Arrow); the
overdispersion path (funnel_overdispersion), which the default
overdispersion = false never takes (tau2 = 0); the bound views scale_change
and severity_funnel for the measures, scales and informants no chart shows.

How it was checked (--check, against a release build of main, session 17): OK for all 23 charts and all 23 blocks compared (esq_answer,
goal_rating, scale_score, category, national_scale_concept,
first_current_view, national_referral, outcome_pair, current_view_rating,
national_concept, national_outcome, compared_unit, late_pair,
in_scope_referral, national_population, paired_outcome, referral_category,
category_share, current_view_share, national_unit_measure, esq_item_share,
metric_case, proportion_funnel) on bench-data/20000, bench-data/250000 and
data/demo; the 23 charts also at --period-end 2024-06-30 on 20000 (16414
late pairs re-paired as of period_end); and on a copy of the 20000 data
with injected data errors (identical and conflicting duplicate item rows,
goals rated twice in a questionnaire, and a questionnaire_score table with
score-only questionnaires, out-of-range, fractional and conflicting scores,
missing totals, and scores of questionnaires that have items). No
difference remained.
"""
import bisect
import csv
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import pyarrow as pa

HERE = os.path.dirname(os.path.abspath(__file__))
# The reference tables cypdash ships (src/reference.rs embeds these files).
REF_DIR = os.path.join(HERE, "..", "data", "reference")
THREADS = 2

# ---------------------------------------------------------------------------
# Parameters (queries/_params.toml defaults; the period is computed per run)
# ---------------------------------------------------------------------------

PARAMS = {
    "collaborative": "all",
    "partnership": 0,
    "level": "partnership",
    "idle_days": 90,
    "severity_threshold": 2,
    "coverage_inner": 95.0,
    "coverage_outer": 99.8,
    "funnel_kind": "proportion_exact",
    "overdispersion": False,
}

INPUT_TABLES = ["partnership", "service", "person", "referral", "contact",
                "questionnaire", "questionnaire_item"]

# Reference tables: column names and DuckDB types, as cypdash registers them.
REF_TABLES = {
    "ref_gender": "code VARCHAR, label VARCHAR, group_label VARCHAR, sort_order BIGINT, source VARCHAR",
    "ref_ethnicity": "code VARCHAR, label VARCHAR, group_label VARCHAR, sort_order BIGINT, source VARCHAR",
    "ref_referral_source": "code VARCHAR, label VARCHAR, group_label VARCHAR, sort_order BIGINT, source VARCHAR",
    "ref_closure_reason": "code VARCHAR, label VARCHAR, group_label VARCHAR, sort_order BIGINT, source VARCHAR",
    "ref_attendance": "code VARCHAR, label VARCHAR, group_label VARCHAR, attended BOOLEAN, sort_order BIGINT, source VARCHAR",
    "ref_age_band": "band VARCHAR, min_age BIGINT, max_age BIGINT, sort_order BIGINT, source VARCHAR",
    "ref_sdq_band": "informant VARCHAR, scale VARCHAR, scheme VARCHAR, band VARCHAR, band_order BIGINT, min_score BIGINT, max_score BIGINT, source VARCHAR",
    "ref_reliable_change": "measure VARCHAR, informant VARCHAR, scale VARCHAR, sd1 DOUBLE, reliability DOUBLE, z DOUBLE, min_change DOUBLE, lower_is_better BOOLEAN, clinical_cutoff DOUBLE, status VARCHAR, source VARCHAR",
    "ref_item": "measure VARCHAR, item VARCHAR, label VARCHAR, item_group VARCHAR, sort_order BIGINT, source VARCHAR",
    "ref_item_range": "measure VARCHAR, item VARCHAR, min_value BIGINT, max_value BIGINT, other_valid BIGINT, source VARCHAR",
    "ref_scale": "measure VARCHAR, scale VARCHAR, label VARCHAR, min_score BIGINT, max_score BIGINT, lower_is_better BOOLEAN, sort_order BIGINT, source VARCHAR",
    "ref_scale_snomed": "snomed_id VARCHAR, preferred_term VARCHAR, tool_name VARCHAR, category VARCHAR, snomed_version VARCHAR, valid_min DOUBLE, valid_max DOUBLE, cypmh_flag VARCHAR, rater_mh_ass VARCHAR, in_national_outcomes VARCHAR, national_rater VARCHAR, threshold DOUBLE, measure VARCHAR, informant VARCHAR, version VARCHAR, scale VARCHAR, item VARCHAR, to_mhsds VARCHAR, note VARCHAR, source VARCHAR",
    "ref_reliable_change_threshold": "preferred_term VARCHAR, tool_name VARCHAR, threshold DOUBLE, source_direction VARCHAR, lower_is_better BOOLEAN, in_national_outcomes VARCHAR, source_comment VARCHAR, measure VARCHAR, informant VARCHAR, scale VARCHAR, note VARCHAR, source VARCHAR",
    "ref_rcads_t_score_norms": "gender VARCHAR, age BIGINT, preferred_term VARCHAR, informant VARCHAR, scale VARCHAR, sample_mean DOUBLE, sample_sd DOUBLE, source VARCHAR",
    "ref_national_breakdown": "dimension VARCHAR, code VARCHAR, min_age BIGINT, max_age BIGINT, label VARCHAR, sort_order BIGINT, source VARCHAR",
}

# The metrics the chart headers declare (cypdash's view chart_metric):
# chart, metric, benchmark kind, chart_order, metric_order, measure, scale, informant.
CHART_METRICS = [
    ("who/severity_sdq", "mean_t1_sdq_total_parent", "mean", 6, 1, "SDQ", "total_difficulties", "parent"),
    ("who/severity_rcads", "mean_t1_rcads_total_self", "mean", 7, 1, "RCADS", "total", "self"),
    ("outcomes/effect_size", "effect_size_sdq_total_parent", "effect_size", 10, 1, "SDQ", "total_difficulties", "parent"),
    ("outcomes/reliable_improvement", "reliable_improvement", "proportion", 11, 1, None, None, None),
    ("outcomes/reliable_improvement", "reliable_deterioration", None, 11, 2, None, None, None),
    ("outcomes/reliable_improvement", "recovery", None, 11, 3, None, None, None),
    ("outcomes/reliable_improvement", "reliable_recovery", None, 11, 4, None, None, None),
    ("experience/esq_satisfaction", "esq_satisfaction_parent", "proportion", 15, 1, None, None, None),
    ("experience/esq_satisfaction", "esq_satisfaction_self", "proportion", 15, 2, None, None, None),
    ("data_quality/completion", "t1_sdq", None, 16, 1, None, None, None),
    ("data_quality/completion", "paired_sdq", None, 16, 2, None, None, None),
    ("data_quality/completion", "t1_rcads", None, 16, 3, None, None, None),
    ("data_quality/completion", "paired_rcads", None, 16, 4, None, None, None),
    ("data_quality/completion", "t1_gbo", None, 16, 5, None, None, None),
    ("data_quality/completion", "paired_gbo", None, 16, 6, None, None, None),
    ("data_quality/completion", "t1_any", None, 16, 7, None, None, None),
    ("data_quality/completion", "paired_any", "proportion", 16, 8, None, None, None),
    ("data_quality/idle_cases", "idle", "proportion", 17, 1, None, None, None),
    ("data_quality/goals_use", "goal_rated", None, 18, 1, None, None, None),
    ("data_quality/goals_use", "goal_paired", "proportion", 18, 2, None, None, None),
    ("national/improvement_funnel", "improvement_self", None, 21, 1, None, None, None),
    ("national/improvement_funnel", "improvement_parent", None, 21, 2, None, None, None),
]

SDQ_ITEMS = [  # slot order of sdq_scores: (item, scale, reverse-scored)
    ("consid", "prosocial", False), ("restles", "hyperactivity", False),
    ("somatic", "emotional", False), ("shares", "prosocial", False),
    ("tantrum", "conduct", False), ("loner", "peer", False),
    ("obeys", "conduct", True), ("worries", "emotional", False),
    ("caring", "prosocial", False), ("fidgety", "hyperactivity", False),
    ("friend", "peer", True), ("fights", "conduct", False),
    ("unhappy", "emotional", False), ("popular", "peer", True),
    ("distrac", "hyperactivity", False), ("clingy", "emotional", False),
    ("kind", "prosocial", False), ("lies", "conduct", False),
    ("bullied", "peer", False), ("helpout", "prosocial", False),
    ("reflect", "hyperactivity", True), ("steals", "conduct", False),
    ("oldbest", "peer", False), ("afraid", "emotional", False),
    ("attends", "hyperactivity", True),
]
SDQ_IMPACT = ["distres", "imphome", "impfrie", "impclas", "impleis"]  # slots 25..29
SDQ_SCALES = ["emotional", "conduct", "hyperactivity", "peer", "prosocial",
              "total_difficulties", "externalising", "internalising", "impact"]
RCADS_SCALE_ITEMS = [
    ("separation_anxiety", [5, 9, 17, 18, 33, 45, 46]),
    ("generalised_anxiety", [1, 13, 22, 27, 35, 37]),
    ("panic", [3, 14, 24, 26, 28, 34, 36, 39, 41]),
    ("social_phobia", [4, 7, 8, 12, 20, 30, 32, 38, 43]),
    ("ocd", [10, 16, 23, 31, 42, 44]),
    ("depression", [2, 6, 11, 15, 19, 21, 25, 29, 40, 47]),
]
RCADS_MAX_MISSING = 2
RCADS_SCALES = [s for s, _ in RCADS_SCALE_ITEMS] + ["total_anxiety", "total"]
ALL_SCALES = SDQ_SCALES + RCADS_SCALES


def sql_list(xs):
    return "[" + ", ".join(xs) + "]"


def quoted(xs):
    return [f"'{x}'" for x in xs]


def source(data, table):
    path = os.path.join(data, table)
    if os.path.isdir(path):
        return f"read_parquet('{path}/*.parquet')"
    if os.path.exists(path + ".parquet"):
        return f"read_parquet('{path}.parquet')"
    if os.path.exists(path + ".csv"):
        return f"read_csv('{path}.csv', header = true)"
    return None


# ---------------------------------------------------------------------------
# Questionnaire scoring (sdq_scores, rcads_scores) in SQL
# ---------------------------------------------------------------------------

def decode(mask, nibble):
    """The answer in a one-hot nibble of `mask` (NULL when none or conflicting)."""
    return (f"case (({mask} >> {4 * nibble}) & 15)::int "
            f"when 1 then 0 when 2 then 1 when 4 then 2 when 8 then 3 end")


def prorate_expr(s, n, items, cond):
    """floor(sum * items / answered + 1/2) in integers, when `cond`."""
    return f"case when {cond} then (2 * {s} * {items} + {n}) // (2 * {n}) end"


def item_scoring_sql():
    """sdq_scores and rcads_scores as one grouped pass over the item rows per
    measure (sdq_item, rcads_item: one row per questionnaire with item codes
    of the measure, with its scores; one pass for both was slower at 250k).

    Each valid answer (SDQ scale items 0-2, after reversing; SDQ impact items,
    ebddiff and RCADS items 0-3) sets bit 4 x slot + value of a HUGEINT (SDQ:
    31 slots; RCADS: items 1-31 and 32-47 in two), so bit_or over the
    questionnaire's rows keeps identical duplicate answers once and makes
    different answers to one item two bits, which decode as missing."""
    rows = [(item, 0, 4 * slot, rev, 2) for slot, (item, _, rev) in enumerate(SDQ_ITEMS)]
    rows += [(item, 0, 4 * (25 + k), False, 3) for k, item in enumerate(SDQ_IMPACT)]
    rows += [("ebddiff", 0, 4 * 30, False, 3)]
    for k in range(1, 48):
        rows.append((f"rcads_{k:02d}", 1 if k <= 31 else 2, 4 * ((k - 1) % 31), False, 3))
    values = ", ".join(f"('{i}', {pt}, {sh}, {str(r).lower()}, {mx})" for i, pt, sh, r, mx in rows)

    sdq_answers = ",\n            ".join(f"{decode('sdq', k)} as a{k}" for k in range(31))
    parts = []
    for scale in ["emotional", "conduct", "hyperactivity", "peer", "prosocial"]:
        slots = [k for k, (_, s, _) in enumerate(SDQ_ITEMS) if s == scale]
        parts.append(" + ".join(f"coalesce(a{k}, 0)" for k in slots) + f" as {scale}_s")
        parts.append(" + ".join(f"(a{k} is not null)::int" for k in slots) + f" as {scale}_n")
    parts.append(" + ".join(f"greatest(coalesce(a{k}, 0) - 1, 0)" for k in range(25, 30)) + " as impact_s")
    parts.append(" + ".join(f"(a{k} is not null)::int" for k in range(25, 30)) + " as impact_n")
    parts.append("a30 as ebddiff")
    sdq_sums = ",\n            ".join(parts)
    sdq_scales = ",\n            ".join(
        prorate_expr(f"{s}_s", f"{s}_n", 5, f"{s}_n >= 3") + f" as {s}"
        for s in ["emotional", "conduct", "hyperactivity", "peer", "prosocial"])

    rcads_answers = ",\n            ".join(
        f"{decode('lo' if k <= 31 else 'hi', (k - 1) % 31)} as a{k}" for k in range(1, 48))
    parts = []
    for scale, items in RCADS_SCALE_ITEMS:
        parts.append(" + ".join(f"coalesce(a{k}, 0)" for k in items) + f" as {scale}_s")
        parts.append(" + ".join(f"(a{k} is not null)::int" for k in items) + f" as {scale}_n")
    rcads_sums = ",\n            ".join(parts)
    rcads_scales = ",\n            ".join(
        prorate_expr(f"{s}_s", f"{s}_n", len(items),
                     f"{len(items)} - {s}_n <= {RCADS_MAX_MISSING} and {s}_n > 0") + f" as {s}"
        for s, items in RCADS_SCALE_ITEMS)
    anx = " + ".join(s for s, _ in RCADS_SCALE_ITEMS[:5])
    return f"""
    item_map(item, part, shift, rev, maxv) as (values {values}),
    sdq_mask as (
        select i.questionnaire_id,
            bit_or(case when i.value between 0 and m.maxv
                        then 1::hugeint << (m.shift + case when m.rev then 2 - i.value else i.value end)
                        else 0::hugeint end) as sdq
        from questionnaire_item i
        join (select * from item_map where part = 0) m on m.item = i.item
        group by i.questionnaire_id
    ),
    rcads_mask as (
        select i.questionnaire_id,
            bit_or(case when m.part = 1 and i.value between 0 and 3
                        then 1::hugeint << (m.shift + i.value) else 0::hugeint end) as lo,
            bit_or(case when m.part = 2 and i.value between 0 and 3
                        then 1::hugeint << (m.shift + i.value) else 0::hugeint end) as hi
        from questionnaire_item i
        join (select * from item_map where part > 0) m on m.item = i.item
        group by i.questionnaire_id
    ),
    sdq_answer as (
        select questionnaire_id,
            {sdq_answers}
        from sdq_mask
    ),
    sdq_sum as (
        select questionnaire_id,
            {sdq_sums}
        from sdq_answer
    ),
    sdq_scale as (
        select questionnaire_id,
            {sdq_scales},
            case when ebddiff = 0 then 0 when impact_n > 0 then impact_s end as impact
        from sdq_sum
    ),
    sdq_item as (
        select questionnaire_id, emotional, conduct, hyperactivity, peer, prosocial,
            emotional + conduct + hyperactivity + peer as total_difficulties,
            conduct + hyperactivity as externalising,
            emotional + peer as internalising,
            impact
        from sdq_scale
    ),
    rcads_answer as (
        select questionnaire_id,
            {rcads_answers}
        from rcads_mask
    ),
    rcads_sum as (
        select questionnaire_id,
            {rcads_sums}
        from rcads_answer
    ),
    rcads_scale as (
        select questionnaire_id,
            {rcads_scales}
        from rcads_sum
    ),
    rcads_item as (
        select *, {anx} as total_anxiety, {anx} + depression as total
        from rcads_scale
    )"""


def scale_score_sql():
    sdq_cols = ", ".join(f"s.{c}" for c in SDQ_SCALES)
    null_rcads = ", ".join(f"null::bigint as {c}" for c in RCADS_SCALES)
    null_sdq = ", ".join(f"null::bigint as {c}" for c in SDQ_SCALES)
    rcads_cols = ", ".join(f"s.{c}" for c in RCADS_SCALES)
    given_cols = ",\n            ".join(
        f"max(case when scale = '{c}' then score end) as {c}" for c in ALL_SCALES)
    return f"""
    create temp table scale_score as
    with {item_scoring_sql()},
    scored_questionnaire as (
        select questionnaire_id, referral_id, measure, informant, version, completed_date
        from questionnaire
        where measure in ('SDQ', 'RCADS')
    ),
    from_items as (
        select q.questionnaire_id, q.referral_id, q.measure, q.informant, q.version, q.completed_date,
            {sdq_cols}, {null_rcads}
        from scored_questionnaire q join sdq_item s using (questionnaire_id)
        where q.measure = 'SDQ'
        union all
        select q.questionnaire_id, q.referral_id, q.measure, q.informant, q.version, q.completed_date,
            {null_sdq}, {rcads_cols}
        from scored_questionnaire q join rcads_item s using (questionnaire_id)
        where q.measure = 'RCADS'
    ),
    given as (
        select questionnaire_id, measure,
            {given_cols}
        from given_score
        where measure in ('SDQ', 'RCADS')
        group by questionnaire_id, measure
    ),
    with_totals as (
        select *, coalesce(total_anxiety,
            separation_anxiety + generalised_anxiety + panic + social_phobia + ocd) as anxiety
        from given
    ),
    from_scores as (
        select q.*, g.emotional, g.conduct, g.hyperactivity, g.peer, g.prosocial,
            coalesce(g.total_difficulties, g.emotional + g.conduct + g.hyperactivity + g.peer),
            coalesce(g.externalising, g.conduct + g.hyperactivity),
            coalesce(g.internalising, g.emotional + g.peer),
            g.impact, g.separation_anxiety, g.generalised_anxiety, g.panic, g.social_phobia,
            g.ocd, g.depression, g.anxiety, coalesce(g.total, g.anxiety + g.depression)
        from scored_questionnaire q
        join with_totals g using (questionnaire_id, measure)
    )
    select * from from_items
    union all
    select * from from_scores
    """


def order_key(date, qid):
    """A HUGEINT that orders rows by date, then questionnaire_id (any BIGINT
    id, any date), with 4 low bits free for a tie-break: days since
    1970-01-01 from bit 68, id + 2^63 in bits 4-67. min/max and
    arg_min/arg_max over it replace t1_t2's (date, id, score) order
    (DuckDB's arg_min over a struct key was 3x slower at 250k)."""
    # Multiplications, not shifts: DuckDB refuses to left-shift a negative
    # number (a date before 1970). >> 68 floors, so key_date inverts it.
    return (f"(({date} - date '1970-01-01')::hugeint * {2 ** 68} "
            f"+ ({qid}::hugeint + {2 ** 63}) * 16)")


def key_id(k):
    return f"cast((({k} >> 4) & {2 ** 64 - 1}) - {2 ** 63} as bigint)"


def key_date(k):
    return f"(date '1970-01-01' + cast({k} >> 68 as integer))"


def scale_long(alias="s"):
    """Unnest a scale_score row into (scale, score) rows of its measure."""
    a = alias
    names = (f"case when {a}.measure = 'SDQ' then {sql_list(quoted(SDQ_SCALES))} "
             f"else {sql_list(quoted(RCADS_SCALES))} end")
    vals = (f"case when {a}.measure = 'SDQ' then {sql_list([f'{a}.{c}' for c in SDQ_SCALES])} "
            f"else {sql_list([f'{a}.{c}' for c in RCADS_SCALES])} end")
    return f"unnest({names}) as scale, unnest({vals}) as score"


# ---------------------------------------------------------------------------
# The blocks (queries/_shared/), in stage order
# ---------------------------------------------------------------------------

def blocks(p, has_scores):
    PE, PS = p["PE"], p["PS"]
    coll, pship, level = p["collaborative"], p["partnership"], p["level"]
    out = []

    def add(name, sql, kind="table"):
        out.append((name, kind, sql))

    # stage 0 (steps)
    if has_scores:
        add("given_score", """
        create temp table given_score as
        with scored_by_items as (
            select distinct i.questionnaire_id
            from questionnaire_item i
            semi join questionnaire_score s using (questionnaire_id)
        ),
        usable as (
            select s.questionnaire_id, q.measure, s.scale, s.score
            from questionnaire_score s
            join questionnaire q using (questionnaire_id)
            join ref_scale r on r.measure = q.measure and r.scale = s.scale
            anti join scored_by_items b on b.questionnaire_id = s.questionnaire_id
            where s.score between r.min_score and r.max_score
              and s.score = round(s.score)
        )
        select questionnaire_id, measure, scale, cast(min(score) as bigint) as score
        from usable
        group by questionnaire_id, measure, scale
        having min(score) = max(score)
        """)
    else:
        add("given_score", """
        create temp table given_score (questionnaire_id bigint, measure varchar, scale varchar, score bigint)
        """)
    add("item_answer", """
    create temp table item_answer as
    select q.measure, i.questionnaire_id, i.item, cast(i.value as bigint) as value
    from questionnaire q
    join questionnaire_item i using (questionnaire_id)
    where q.measure in ('ESQ', 'GBO', 'CURRENT_VIEW')
      and i.value between case q.measure when 'CURRENT_VIEW' then 1 else 0 end
                      and case q.measure when 'ESQ' then 2 when 'GBO' then 10 else 3 end
    """)
    # stage 1
    add("esq_answer", """
    create temp table esq_answer as
    select q.questionnaire_id, q.referral_id, q.informant, q.version, q.completed_date, a.item, a.value
    from questionnaire q
    join item_answer a using (questionnaire_id)
    where a.measure = 'ESQ'
    """)
    add("goal_rating", """
    create temp table goal_rating as
    with rating as (
        select questionnaire_id, item as goal, value as rating
        from item_answer
        where measure = 'GBO' and item in ('goal_1', 'goal_2', 'goal_3')
        union all
        select questionnaire_id, scale, score from given_score where measure = 'GBO'
    )
    select q.questionnaire_id, q.referral_id, q.informant, q.completed_date, r.goal, r.rating
    from questionnaire q
    join rating r using (questionnaire_id)
    where q.measure = 'GBO'
    """)
    add("scale_score", scale_score_sql())
    # stage 2 (views)
    add("sdq_score", f"""
    create temp view sdq_score as
    select questionnaire_id, referral_id, informant, version, completed_date, {', '.join(SDQ_SCALES)}
    from scale_score where measure = 'SDQ'
    """, "view")
    add("rcads_score", f"""
    create temp view rcads_score as
    select questionnaire_id, referral_id, informant, version, completed_date, {', '.join(RCADS_SCALES)}
    from scale_score where measure = 'RCADS'
    """, "view")
    # stage 3
    add("outcome_score", f"""
    create temp view outcome_score as
    select questionnaire_id, referral_id, measure, informant, completed_date, scale, cast(score as double) as score
    from (select s.questionnaire_id, s.referral_id, s.measure, s.informant, s.completed_date, {scale_long()}
          from scale_score s)
    where score is not null
    union all
    select questionnaire_id, referral_id, 'GBO', informant, completed_date, goal, cast(rating as double)
    from goal_rating
    """, "view")
    add("category", """
    create temp table category as
    with listed as (
        select 'gender' as dimension, group_label as category, min(sort_order) as sort_order
        from ref_gender group by group_label
        union all
        select 'age_band', band, min(sort_order) from ref_age_band group by band
        union all
        select 'ethnicity', group_label, min(sort_order) from ref_ethnicity group by group_label
    ),
    fallback as (
        select * from (values ('gender', 'Not known'), ('age_band', 'unknown'),
                              ('ethnicity', 'Not stated or known')) as f(dimension, category)
    )
    select dimension, category, cast(sort_order as bigint) as sort_order from listed
    union all
    select f.dimension, f.category, 1000 from fallback f
    where not exists (select 1 from listed l where l.dimension = f.dimension and l.category = f.category)
    """)
    add("national_scale_concept", """
    create temp table national_scale_concept as
    select measure, informant, scale, preferred_term, valid_min, valid_max,
        lower(national_rater) as rater,
        cast(dense_rank() over (order by preferred_term, lower(national_rater)) as int) as concept_key
    from ref_scale_snomed
    where to_mhsds = 'Y' and in_national_outcomes = 'Y'
    """)
    add("first_current_view", """
    create temp table first_current_view as
    select q.referral_id,
        arg_min(q.questionnaire_id, (q.completed_date, q.questionnaire_id)) as questionnaire_id,
        min(q.completed_date) as completed_date
    from questionnaire q
    join referral r using (referral_id)
    where q.measure = 'CURRENT_VIEW' and q.completed_date >= r.referral_date
    group by q.referral_id
    """)
    add("national_referral", """
    create temp table national_referral as
    with attended as (
        select c.referral_id, c.contact_date
        from contact c
        join ref_attendance a on a.code = c.attendance
        join referral r using (referral_id)
        where a.attended and r.closure_date is not null and c.contact_date <= r.closure_date
    ),
    contacts as (
        -- contact 1 = the first attended date; contact 2 = the same date when two
        -- contacts fall on it, else the next attended date.
        select a.referral_id, f.d1 as contact_1,
            case when count(*) filter (where a.contact_date = f.d1) >= 2 then f.d1
                 else min(a.contact_date) filter (where a.contact_date > f.d1) end as contact_2
        from attended a
        join (select referral_id, min(contact_date) as d1 from attended group by referral_id) f
            using (referral_id)
        group by a.referral_id, f.d1
    ),
    closed as (
        select r.referral_id, r.service_id, s.partnership_id, r.referral_date, r.closure_date,
            r.referral_source, p.gender, p.ethnicity,
            cast(date_part('year', r.referral_date) - date_part('year', p.birth_date)
                 - case when date_part('month', r.referral_date) * 100 + date_part('day', r.referral_date)
                            < date_part('month', p.birth_date) * 100 + date_part('day', p.birth_date)
                        then 1 else 0 end as bigint) as age
        from referral r
        join service s using (service_id)
        left join person p using (person_id)
        where r.closure_date is not null and r.referral_date >= date '2016-01-01'
    )
    select c.referral_id, c.service_id, c.partnership_id, c.referral_date, c.closure_date, c.age,
        case c.gender when '1' then 'M' when '2' then 'F' end as norms_gender,
        k.contact_1, k.contact_2,
        coalesce(ab.label, 'UNKNOWN') as age_band,
        coalesce(g.label, 'UNKNOWN') as gender,
        coalesce(e.label, 'UNKNOWN') as upper_ethnicity,
        coalesce(rs.group_label, 'UNKNOWN') as referral_source
    from closed c
    left join contacts k using (referral_id)
    left join ref_national_breakdown ab on ab.dimension = 'age_band' and c.age between ab.min_age and ab.max_age
    left join ref_national_breakdown g on g.dimension = 'gender' and g.code = c.gender
    left join ref_national_breakdown e on e.dimension = 'upper_ethnicity' and e.code = c.ethnicity
    left join ref_referral_source rs on rs.code = c.referral_source
    where c.age between 0 and 17
    """)
    # stage 3 step + stage 4: T1/T2 (t1_t2 as min/max of a HUGEINT key that
    # orders by date, then questionnaire_id: see order_key). SDQ and RCADS
    # are paired per case and measure, a column per scale (one row per
    # questionnaire, so no key ties); goals per goal, where a questionnaire
    # rating one goal twice counts with its lower rating, first and last.
    pair_cols = [f"coalesce(s.{a}, s.{b})" for a, b in zip(SDQ_SCALES[:8], RCADS_SCALES)] + ["s.impact"]
    keyed_cols = ", ".join(f"{c} as s{i}" for i, c in enumerate(pair_cols))
    ends_cols = ",\n            ".join(
        f"min(case when s{i} is not null then k end) as fk{i}, arg_min(s{i}, k) as fs{i}, "
        f"max(case when s{i} is not null then k end) as lk{i}, arg_max(s{i}, k) as ls{i}"
        for i in range(9))
    rcads_names = RCADS_SCALES + ["impact"]  # RCADS has no 9th scale: always NULL
    add("outcome_pair", f"""
    create temp table outcome_pair as
    with keyed as (
        select s.referral_id, s.measure, s.informant,
            {order_key('s.completed_date', 's.questionnaire_id')} as k,
            {keyed_cols}
        from scale_score s
        join referral r using (referral_id)
        where s.completed_date >= r.referral_date
    ),
    ends as (
        select referral_id, measure, informant,
            {ends_cols}
        from keyed
        group by referral_id, measure, informant
    ),
    scales as (
        select referral_id, measure, informant,
            unnest(case when measure = 'SDQ' then {sql_list(quoted(SDQ_SCALES))}
                        else {sql_list(quoted(rcads_names))} end) as scale,
            unnest([{', '.join(f'fk{i}' for i in range(9))}]) as fk,
            unnest([{', '.join(f'fs{i}' for i in range(9))}]) as fs,
            unnest([{', '.join(f'lk{i}' for i in range(9))}]) as lk,
            unnest([{', '.join(f'ls{i}' for i in range(9))}]) as ls
        from ends
    ),
    goals as (
        select referral_id, 'GBO' as measure, informant, goal as scale,
            min(k + rating) as fk, arg_min(rating, k + rating) as fs,
            max(k + 15 - rating) as lk, arg_max(rating, k + 15 - rating) as ls
        from (select g.referral_id, g.informant, g.goal, g.rating,
                     {order_key('g.completed_date', 'g.questionnaire_id')} as k
              from goal_rating g
              join referral r using (referral_id)
              where g.completed_date >= r.referral_date)
        group by referral_id, informant, goal
    ),
    ends_long as (
        select * from scales where fk is not null
        union all
        select * from goals
    )
    select referral_id, measure, informant, scale,
        {key_id('fk')} as t1_questionnaire_id, {key_date('fk')} as t1_date, cast(fs as double) as t1,
        case when (lk >> 68) > (fk >> 68) then {key_id('lk')} end as t2_questionnaire_id,
        case when (lk >> 68) > (fk >> 68) then {key_date('lk')} end as t2_date,
        case when (lk >> 68) > (fk >> 68) then cast(ls as double) end as t2
    from ends_long
    """)
    add("current_view_rating", """
    create temp table current_view_rating as
    select f.referral_id, a.item, a.value
    from first_current_view f
    join item_answer a using (questionnaire_id)
    where a.measure = 'CURRENT_VIEW'
    """)
    # stage 4-6: national
    add("national_concept", f"""
    create temp table national_concept as
    with population as (
        select referral_id, contact_1, contact_2, closure_date, age, norms_gender
        from national_referral
        where contact_1 is not null
    ),
    -- national_assessment: one row per scale score of the population between
    -- contact 1 and closure, mapped to its concept.
    questionnaire_in as (
        select s.*, p.contact_2, p.age, p.norms_gender
        from scale_score s
        join population p using (referral_id)
        where s.completed_date between p.contact_1 and p.closure_date
    ),
    long as (
        select referral_id, questionnaire_id, measure, informant, completed_date, contact_2, age,
            norms_gender, scale, cast(score as double) as raw_score
        from (select q.referral_id, q.questionnaire_id, q.measure, q.informant, q.completed_date,
                     q.contact_2, q.age, q.norms_gender, {scale_long('q')}
              from questionnaire_in q)
        where score is not null
        union all
        select g.referral_id, g.questionnaire_id, 'GBO', g.informant, g.completed_date, p.contact_2,
            p.age, p.norms_gender, g.goal, cast(g.rating as double)
        from goal_rating g
        join population p using (referral_id)
        where g.completed_date between p.contact_1 and p.closure_date
    ),
    mapped as (
        select s.referral_id, s.questionnaire_id, s.completed_date, s.raw_score, c.concept_key,
            s.age, s.norms_gender, s.contact_2
        from long s
        join national_scale_concept c
            on c.measure = s.measure and (c.informant is null or c.informant = s.informant)
            and c.scale = s.scale
        where s.raw_score between c.valid_min and c.valid_max
    ),
    concept_norm as (
        select c.concept_key, n.gender, n.age, n.sample_mean, n.sample_sd
        from (select distinct concept_key, preferred_term from national_scale_concept) c
        join ref_rcads_t_score_norms n on n.preferred_term = c.preferred_term
    ),
    assessment as (
        select m.referral_id, m.concept_key, m.questionnaire_id, m.completed_date, m.contact_2,
            case when n.sample_sd is not null then 50 + 10 * (m.raw_score - n.sample_mean) / n.sample_sd
                 else m.raw_score end as score
        from mapped m
        left join concept_norm n
            on n.concept_key = m.concept_key and n.gender = m.norms_gender and n.age = m.age
    ),
    -- first_last_distinct: duplicates (same date and score) count once, with
    -- the lowest id; then a questionnaire left twice on a date (two scores)
    -- counts with its lower score, first and last; then first and last by
    -- date and id (order_key), and the entries left.
    distinct_assessment as (
        select referral_id, concept_key, completed_date, score,
            min(questionnaire_id) as questionnaire_id
        from assessment
        group by referral_id, concept_key, completed_date, score
    ),
    keyed as (
        select referral_id, concept_key,
            {order_key('completed_date', 'questionnaire_id')} as k,
            min(score) as score, count(*) as entries
        from distinct_assessment
        group by referral_id, concept_key, completed_date, questionnaire_id
    ),
    ends as (
        select e.*, p.contact_2
        from (select referral_id, concept_key, sum(entries) as assessments,
                  min(k) as fk, arg_min(score, k) as fs, max(k) as lk, arg_max(score, k) as ls
              from keyed
              group by referral_id, concept_key) e
        join population p using (referral_id)
    ),
    paired as (
        select referral_id, concept_key, cast(assessments as bigint) as assessments,
            {key_id('fk')} as first_questionnaire_id, {key_date('fk')} as first_date,
            fs as first_score,
            coalesce(lk <> fk and {key_date('lk')} >= contact_2, false) as paired,
            {key_id('lk')} as last_questionnaire_id, {key_date('lk')} as last_date, ls as last_score
        from ends
    ),
    concept_rule as (
        select c.concept_key, c.concept, c.rater, t.threshold, t.lower_is_better
        from (select distinct concept_key, preferred_term as concept, rater from national_scale_concept) c
        left join ref_reliable_change_threshold t on t.preferred_term = c.concept
    )
    select p.referral_id, c.concept, c.rater, p.assessments, p.first_questionnaire_id, p.first_date,
        p.first_score, p.paired,
        case when p.paired then p.last_questionnaire_id end as last_questionnaire_id,
        case when p.paired then p.last_date end as last_date,
        case when p.paired then p.last_score end as last_score,
        case when p.paired then p.last_score - p.first_score end as change,
        c.threshold, c.lower_is_better,
        case
            when not p.paired or c.threshold is null then null
            when abs(p.last_score - p.first_score) < c.threshold then 'no_change'
            when (c.lower_is_better and p.last_score < p.first_score)
                or (not c.lower_is_better and p.last_score > p.first_score) then 'improvement'
            when (c.lower_is_better and p.last_score > p.first_score)
                or (not c.lower_is_better and p.last_score < p.first_score) then 'deterioration'
        end as outcome
    from concept_rule c
    join paired p using (concept_key)
    """)
    # national_outcome: the per-rater flags of each referral, pivoted in one
    # grouping (the rated flags of a rater are its one per_rater row's).
    rater_flags = "\n".join(
        f"""            c2 and coalesce(bool_or(k.rater = '{r}'{cond}), false) as {r}_{flag},"""
        for r in ("self", "parent", "clinician")
        for flag, cond in (
            ("assessment", ""),
            ("paired", " and k.paired"),
            ("improvement", " and k.paired and k.improved and not k.deteriorated"),
            ("no_change", " and k.paired and k.unchanged and not k.improved and not k.deteriorated"),
            ("deterioration", " and k.paired and k.deteriorated"),
        ))
    add("national_outcome", """
    create temp table national_outcome as
    with per_rater as (
        select referral_id, rater,
            bool_or(paired) as paired,
            coalesce(bool_or(paired and outcome = 'improvement'), false) as improved,
            coalesce(bool_or(paired and outcome = 'deterioration'), false) as deteriorated,
            coalesce(bool_or(paired and outcome = 'no_change'), false) as unchanged
        from national_concept
        where rater in ('self', 'parent', 'clinician')
        group by referral_id, rater
    ),
    flags as (
        select r.referral_id,
""" + rater_flags + """
            c2 and coalesce(bool_or(k.rater is not null), false) as any_assessment,
            c2 and coalesce(bool_or(k.paired), false) as any_paired
        from (select referral_id, contact_2 is not null as c2 from national_referral) r
        left join per_rater k using (referral_id)
        group by r.referral_id, r.c2
    )
    select * from flags
    """)
    # stage 5
    add("compared_unit", f"""
    create temp table compared_unit as
    with partnership_in_scope as (
        select partnership_id, partnership_name, collaborative
        from partnership
        where ('{coll}' = 'all' or collaborative = '{coll}') and ({pship} = 0 or partnership_id = {pship})
    )
    select partnership_id, null::bigint as service_id, partnership_id as unit_id,
        partnership_name as unit_name, collaborative
    from partnership_in_scope where '{level}' = 'partnership'
    union all
    select p.partnership_id, s.service_id, s.service_id, s.service_name, p.collaborative
    from partnership_in_scope p join service s using (partnership_id)
    where '{level}' = 'service'
    """)
    add("late_pair", f"""
    create temp table late_pair as
    select referral_id, measure, informant, scale, t1_date
    from outcome_pair
    where t1_date <= {PE} and t2_date > {PE}
    """)
    # stage 6
    add("in_scope_referral", f"""
    create temp table in_scope_referral as
    with unit_service as (
        select u.unit_id, u.unit_name, u.partnership_id, s.service_id
        from compared_unit u
        join service s on s.partnership_id = u.partnership_id
            and (u.service_id is null or s.service_id = u.service_id)
    )
    select r.referral_id, r.person_id, r.service_id, us.partnership_id, us.unit_id, us.unit_name,
        r.referral_date,
        case when r.closure_date <= {PE} then r.closure_date end as closure_date,
        case when r.closure_date <= {PE} then r.closure_reason end as closure_reason,
        r.referral_source,
        coalesce(r.closure_date between {PS} and {PE}, false) as closed_in_period,
        r.closure_date is null or r.closure_date > {PE} as open_at_end,
        case when p.birth_date is null or p.birth_date > r.referral_date then null
             else cast(date_part('year', r.referral_date) - date_part('year', p.birth_date)
                  - case when date_part('month', r.referral_date) * 100 + date_part('day', r.referral_date)
                             < date_part('month', p.birth_date) * 100 + date_part('day', p.birth_date)
                         then 1 else 0 end as bigint)
        end as age_at_referral,
        p.gender, p.ethnicity
    from referral r
    join unit_service us using (service_id)
    left join person p using (person_id)
    where r.referral_date <= {PE} and (r.closure_date is null or r.closure_date >= {PS})
    """)
    # stage 7
    add("national_population", f"""
    create temp table national_population as
    with in_period as (
        select r.*
        from national_referral r
        join partnership p using (partnership_id)
        where r.closure_date between {PS} and {PE}
          and ('{coll}' = 'all' or p.collaborative = '{coll}')
          and ({pship} = 0 or r.partnership_id = {pship})
    ),
    flagged as (
        select i.referral_id, i.partnership_id, i.service_id, i.age_band, i.gender, i.upper_ethnicity,
            i.referral_source, i.contact_2 is not null as closed_2_contacts, o.*
        from in_period i join national_outcome o using (referral_id)
    )
    select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity, referral_source,
        closed_2_contacts, 'self' as rater, self_assessment as assessment, self_paired as paired,
        self_improvement as improvement, self_no_change as no_change, self_deterioration as deterioration
    from flagged
    union all
    select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity, referral_source,
        closed_2_contacts, 'parent', parent_assessment, parent_paired, parent_improvement,
        parent_no_change, parent_deterioration
    from flagged
    union all
    select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity, referral_source,
        closed_2_contacts, 'clinician', clinician_assessment, clinician_paired, clinician_improvement,
        clinician_no_change, clinician_deterioration
    from flagged
    union all
    select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity, referral_source,
        closed_2_contacts, 'any', any_assessment, any_paired, null::boolean, null::boolean, null::boolean
    from flagged
    """)
    add("paired_outcome", f"""
    create temp table paired_outcome as
    with ended as (
        select referral_id, measure, informant, scale, t1_date, t1, t2_date, t2
        from outcome_pair where t2_date <= {PE}
    ),
    late_case as (select distinct referral_id, measure, informant from late_pair),
    late_score as (
        select referral_id, measure, informant, questionnaire_id, completed_date, scale,
            cast(score as double) as score
        from (select s.referral_id, s.measure, s.informant, s.questionnaire_id, s.completed_date,
                     {scale_long()}
              from scale_score s
              semi join late_case c
                  on c.referral_id = s.referral_id and c.informant = s.informant and c.measure = s.measure
              where s.completed_date <= {PE})
        union all
        select g.referral_id, 'GBO', g.informant, g.questionnaire_id, g.completed_date, g.goal,
            cast(g.rating as double)
        from goal_rating g
        semi join late_case c
            on c.referral_id = g.referral_id and c.informant = g.informant and c.measure = 'GBO'
        where g.completed_date <= {PE}
    ),
    repaired as (
        select l.referral_id, l.measure, l.informant, l.scale,
            arg_min({{'d': x.completed_date, 's': x.score}},
                    (x.completed_date, x.questionnaire_id, x.score)) as f,
            arg_max({{'d': x.completed_date, 's': x.score}},
                    (x.completed_date, x.questionnaire_id, -x.score)) as l
        from late_pair l
        join late_score x
            on x.referral_id = l.referral_id and x.measure = l.measure
            and x.informant = l.informant and x.scale = l.scale
        where x.completed_date >= l.t1_date and x.score is not null
        group by l.referral_id, l.measure, l.informant, l.scale
    ),
    pair as (
        select * from ended
        union all
        select referral_id, measure, informant, scale, f.d, f.s, l.d, l.s
        from repaired where l.d > f.d
    ),
    paired as (
        select r.unit_id, p.*
        from pair p
        join in_scope_referral r using (referral_id)
        where r.closure_date is null or (p.t1_date <= r.closure_date and p.t2_date <= r.closure_date)
    ),
    parameters as (
        select measure, informant, scale, sd1, reliability, coalesce(z, 1.96) as z,
            min_change, lower_is_better, clinical_cutoff
        from ref_reliable_change
    )
    select p.unit_id, p.referral_id, p.measure, p.informant, p.scale, p.t1, p.t2,
        p.t2 - p.t1 as change,
        case
            when k.sd1 is not null then
                -- reliable_change: |t2 - t1| > z * sd1 * sqrt(2) * sqrt(1 - r)
                case when abs(p.t2 - p.t1) > k.z * (k.sd1 * sqrt(2.0) * sqrt(1 - k.reliability))
                     then case when (p.t2 < p.t1) = k.lower_is_better then 1 else -1 end
                     else 0 end
            when k.min_change is not null then
                case
                    when (p.t2 - p.t1) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then 1
                    when (p.t1 - p.t2) * (case when k.lower_is_better then -1 else 1 end) >= k.min_change then -1
                    else 0
                end
        end as reliable_change,
        case when k.clinical_cutoff is null then null
             when k.lower_is_better then p.t1 >= k.clinical_cutoff
             else p.t1 <= k.clinical_cutoff end as t1_clinical,
        case when k.clinical_cutoff is null then null
             when k.lower_is_better then p.t2 >= k.clinical_cutoff
             else p.t2 <= k.clinical_cutoff end as t2_clinical,
        coalesce(s.lower_is_better, true) as lower_is_better,
        s.sort_order as scale_order
    from paired p
    left join parameters k
        on k.measure = p.measure
        and (k.informant is null or k.informant = p.informant)
        and k.scale = case when p.measure = 'GBO' then 'goal' else p.scale end
    left join ref_scale s on s.measure = p.measure and s.scale = p.scale
    """)
    add("referral_category", """
    create temp table referral_category as
    select r.unit_id, 'gender' as dimension, coalesce(g.group_label, 'Not known') as category
    from in_scope_referral r left join ref_gender g on g.code = r.gender
    union all
    select r.unit_id, 'age_band', coalesce(b.band, 'unknown')
    from in_scope_referral r left join ref_age_band b on r.age_at_referral between b.min_age and b.max_age
    union all
    select r.unit_id, 'ethnicity', coalesce(e.group_label, 'Not stated or known')
    from in_scope_referral r left join ref_ethnicity e on e.code = r.ethnicity
    """)
    # stage 8
    add("category_share", """
    create temp table category_share as
    with counted as (
        select u.partnership_id, u.service_id, u.unit_id, u.unit_name, c.dimension, c.category,
            c.sort_order, count(rc.unit_id) as count
        from compared_unit u
        cross join category c
        left join referral_category rc
            on rc.unit_id = u.unit_id and rc.dimension = c.dimension and rc.category = c.category
        group by u.partnership_id, u.service_id, u.unit_id, u.unit_name, c.dimension, c.category, c.sort_order
    ),
    all_units as (
        select null::bigint as partnership_id, null::bigint as service_id, null::bigint as unit_id,
            'All' as unit_name, dimension, category, sort_order, sum(count) as count
        from counted group by dimension, category, sort_order
    ),
    with_n as (
        select *, sum(count) over (partition by unit_id, dimension) as n from counted
        union all
        select *, sum(count) over (partition by dimension) as n from all_units
    )
    select partnership_id, service_id, unit_name, dimension, category, sort_order,
        cast(count as bigint) as count, cast(n as bigint) as n,
        case when n = 0 then null else 100.0 * count / n end as pct, false as suppressed
    from with_n
    """)
    add("current_view_share", f"""
    create temp table current_view_share as
    with item as (
        select item, label, item_group, sort_order from ref_item where measure = 'CURRENT_VIEW'
    ),
    assessed as (
        select r.unit_id, r.referral_id
        from in_scope_referral r join first_current_view cv using (referral_id)
        where cv.completed_date <= {PE}
    ),
    present as (
        select a.unit_id, cv.item
        from assessed a
        join current_view_rating cv using (referral_id)
        join item i on i.item = cv.item
        where (i.item_group = 'problem_descriptor'
               and cv.value between greatest({p['severity_threshold']}, 1) and 3)
           or (i.item_group = 'complexity_factor' and cv.value = 1)
    ),
    present_count as (select unit_id, item, count(*) as count from present group by unit_id, item),
    assessed_count as (select unit_id, count(*) as n from assessed group by unit_id),
    counted as (
        select u.partnership_id, u.service_id, u.unit_id, u.unit_name,
            i.item, i.label, i.item_group, i.sort_order,
            coalesce(pc.count, 0) as count, coalesce(ac.n, 0) as n
        from compared_unit u
        cross join item i
        left join present_count pc on pc.unit_id = u.unit_id and pc.item = i.item
        left join assessed_count ac on ac.unit_id = u.unit_id
    ),
    all_units as (
        select null::bigint, null::bigint, null::bigint, 'All', item, label, item_group, sort_order,
            sum(count), sum(n)
        from counted group by item, label, item_group, sort_order
    )
    select partnership_id, service_id, unit_name, item, label, item_group,
        cast(sort_order as bigint) as sort_order, cast(count as bigint) as count, cast(n as bigint) as n,
        case when n = 0 then null else 100.0 * count / n end as pct, false as suppressed
    from (select * from counted union all select * from all_units)
    """)
    add("national_unit_measure", """
    create temp table national_unit_measure as
    with rater as (
        select * from (values ('self', 1), ('parent', 2), ('clinician', 3), ('any', 4)) as r(rater, rater_order)
    ),
    unit as (
        select partnership_id, service_id, unit_id, unit_name, false as is_all, unit_id as unit_key
        from compared_unit
        union all
        select null::bigint, null::bigint, null::bigint, 'All', true, 0
    ),
    unit_referral as (
        select false as is_all, u.unit_id as unit_key, p.referral_id, p.rater, p.closed_2_contacts,
            p.assessment, p.paired, p.improvement, p.no_change, p.deterioration
        from compared_unit u
        join national_population p
            on p.partnership_id = u.partnership_id and (u.service_id is null or p.service_id = u.service_id)
        union all
        select true, 0, referral_id, rater, closed_2_contacts, assessment, paired, improvement,
            no_change, deterioration
        from national_population
    ),
    per_unit as (
        select u.partnership_id, u.service_id, u.unit_name, k.rater, k.rater_order,
            count(r.referral_id) as closed_referrals,
            count(case when r.closed_2_contacts then 1 end) as closed_2_contacts,
            count(case when r.assessment then 1 end) as with_assessment,
            count(case when r.paired then 1 end) as paired,
            count(case when r.improvement then 1 end) as improvement,
            count(case when r.no_change then 1 end) as no_change,
            count(case when r.deterioration then 1 end) as deterioration
        from unit u
        cross join rater k
        left join unit_referral r on r.is_all = u.is_all and r.unit_key = u.unit_key and r.rater = k.rater
        group by u.partnership_id, u.service_id, u.unit_name, k.rater, k.rater_order
    )
    select partnership_id, service_id, unit_name, rater, rater_order, closed_referrals,
        closed_2_contacts, with_assessment, paired,
        case when rater <> 'any' then improvement end as improvement,
        case when rater <> 'any' then no_change end as no_change,
        case when rater <> 'any' then deterioration end as deterioration
    from per_unit
    """)
    # stage 9
    add("esq_item_share", f"""
    create temp table esq_item_share as
    with answer as (
        select r.unit_id, a.version, a.item, a.value
        from esq_answer a join in_scope_referral r using (referral_id)
        where a.completed_date between {PS} and {PE}
    ),
    version as (
        select * from (values ('parent', 1), ('child_9_11', 2), ('young_person_12_18', 3)) as v(version, version_order)
    ),
    item as (select item, label, sort_order from ref_item where measure = 'ESQ'),
    answer_count as (
        select unit_id, version, item, count(*) as n,
            count(*) filter (where value = 2) as certainly,
            count(*) filter (where value = 1) as partly,
            count(*) filter (where value = 0) as not_true
        from answer group by unit_id, version, item
    ),
    counted as (
        select u.partnership_id, u.service_id, u.unit_id, u.unit_name, v.version, v.version_order,
            i.item, i.label, i.sort_order,
            coalesce(a.n, 0) as n, coalesce(a.certainly, 0) as certainly,
            coalesce(a.partly, 0) as partly, coalesce(a.not_true, 0) as not_true
        from compared_unit u
        cross join version v
        cross join item i
        left join answer_count a on a.unit_id = u.unit_id and a.version = v.version and a.item = i.item
    ),
    all_units as (
        select null::bigint, null::bigint, null::bigint, 'All', version, version_order, item, label,
            sort_order, sum(n), sum(certainly), sum(partly), sum(not_true)
        from counted group by version, version_order, item, label, sort_order
    )
    select partnership_id, service_id, unit_name, version, cast(version_order as bigint) as version_order,
        item, label, cast(sort_order as bigint) as sort_order, cast(n as bigint) as n,
        case when n > 0 then 100.0 * certainly / n end as pct_certainly_true,
        case when n > 0 then 100.0 * partly / n end as pct_partly_true,
        case when n > 0 then 100.0 * not_true / n end as pct_not_true,
        false as suppressed
    from (select * from counted union all select * from all_units)
    """)
    add("metric_case", f"""
    create temp table metric_case as
    with attended as (
        select c.referral_id, c.contact_date
        from contact c join ref_attendance a on a.code = c.attendance
        where a.attended and c.contact_date <= {PE}
    ),
    attended_count as (select referral_id, count(*) as attended_contacts from attended group by referral_id),
    closed_case as (
        select r.unit_id, r.referral_id, coalesce(a.attended_contacts, 0) as attended_contacts
        from in_scope_referral r left join attended_count a using (referral_id)
        where r.closed_in_period
    ),
    t1_measure as (select distinct referral_id, measure from outcome_pair where t1_date <= {PE}),
    paired_measure as (select distinct referral_id, measure from paired_outcome),
    measure_status as (
        select t.referral_id, t.measure, p.referral_id is not null as paired
        from t1_measure t left join paired_measure p using (referral_id, measure)
    ),
    completion_case as (
        select c.unit_id, c.referral_id,
            coalesce(bool_or(m.measure = 'SDQ'), false) as t1_sdq,
            coalesce(bool_or(m.measure = 'SDQ' and m.paired), false) as paired_sdq,
            coalesce(bool_or(m.measure = 'RCADS'), false) as t1_rcads,
            coalesce(bool_or(m.measure = 'RCADS' and m.paired), false) as paired_rcads,
            coalesce(bool_or(m.measure = 'GBO'), false) as t1_gbo,
            coalesce(bool_or(m.measure = 'GBO' and m.paired), false) as paired_gbo
        from closed_case c left join measure_status m using (referral_id)
        where c.attended_contacts >= 2
        group by c.unit_id, c.referral_id
    ),
    completion as (
        select unit_id, metric, case when flag then 1 else 0 end as x
        from (select unit_id,
                  unnest(['t1_sdq', 'paired_sdq', 't1_rcads', 'paired_rcads', 't1_gbo', 'paired_gbo',
                          't1_any', 'paired_any']) as metric,
                  unnest([t1_sdq, paired_sdq, t1_rcads, paired_rcads, t1_gbo, paired_gbo,
                          t1_sdq or t1_rcads or t1_gbo, paired_sdq or paired_rcads or paired_gbo]) as flag
              from completion_case)
    ),
    idle as (
        select r.unit_id, 'idle' as metric,
            case when {PE} - coalesce(max(a.contact_date), r.referral_date) > {p['idle_days']} then 1 else 0 end as x
        from in_scope_referral r left join attended a on a.referral_id = r.referral_id
        where r.open_at_end
        group by r.unit_id, r.referral_id, r.referral_date
    ),
    goal_status as (select referral_id, paired from measure_status where measure = 'GBO'),
    goals_use as (
        select c.unit_id, unnest(['goal_rated', 'goal_paired']) as metric,
            unnest([case when g.referral_id is not null then 1 else 0 end,
                    case when coalesce(g.paired, false) then 1 else 0 end]) as x
        from closed_case c left join goal_status g using (referral_id)
    ),
    rollup_score as (
        select unit_id, referral_id, scale, reliable_change,
            coalesce(t1_clinical, false) as t1_clinical,
            coalesce(t1_clinical and not t2_clinical, false) as recovered
        from paired_outcome
        where scale in ('total_difficulties', 'total') and reliable_change is not null
    ),
    rollup_case as (
        select unit_id, referral_id,
            max(reliable_change) = 1 and min(reliable_change) >= 0 as improved,
            min(reliable_change) = -1 as deteriorated,
            bool_or(t1_clinical) as clinical_at_t1,
            bool_or(recovered) as recovered,
            bool_or(recovered and reliable_change = 1) as reliably_recovered
        from rollup_score group by unit_id, referral_id
    ),
    rollup as (
        select unit_id, 'reliable_improvement' as metric, case when improved then 1 else 0 end as x from rollup_case
        union all
        select unit_id, 'reliable_deterioration', case when deteriorated then 1 else 0 end from rollup_case
        union all
        select unit_id, 'recovery', case when recovered then 1 else 0 end from rollup_case where clinical_at_t1
        union all
        select unit_id, 'reliable_recovery', case when reliably_recovered then 1 else 0 end
        from rollup_case where clinical_at_t1
    ),
    esq as (
        select r.unit_id, 'esq_satisfaction_' || a.informant as metric,
            case when a.value = 2 then 1 else 0 end as x
        from esq_answer a join in_scope_referral r using (referral_id)
        where a.informant in ('parent', 'self') and a.completed_date between {PS} and {PE}
          and a.item = 'esq_12'
    )
    select unit_id, metric, cast(x as bigint) as x from completion
    union all select unit_id, metric, cast(x as bigint) from idle
    union all select unit_id, metric, cast(x as bigint) from goals_use
    union all select unit_id, metric, cast(x as bigint) from rollup
    union all select unit_id, metric, cast(x as bigint) from esq
    """)
    # stage 10: proportion_funnel, x and n per unit here; the limits in Python.
    add("proportion_funnel_counts", """
    create temp table proportion_funnel_counts as
    with per_unit as (
        select 'metric_case' as source, u.partnership_id, u.service_id, u.unit_name, m.metric,
            cast(coalesce(sum(c.x), 0) as bigint) as x, count(c.x) as n
        from compared_unit u
        cross join (select distinct metric from chart_metric) m
        left join metric_case c on c.unit_id = u.unit_id and c.metric = m.metric
        group by u.partnership_id, u.service_id, u.unit_name, m.metric
        union all
        select 'national', partnership_id, service_id, unit_name, 'improvement_' || rater,
            improvement, paired
        from national_unit_measure
        where rater in ('self', 'parent') and partnership_id is not null
    ),
    overall as (
        select source, metric, sum(x) as x, sum(n) as n,
            cast(sum(x) as double) / nullif(sum(n), 0) as centre
        from per_unit group by source, metric
    )
    select pu.source, pu.partnership_id, pu.service_id, pu.unit_name, pu.metric, pu.x, pu.n,
        o.centre, false as is_all
    from per_unit pu join overall o using (source, metric)
    union all
    select source, null::bigint, null::bigint, 'All', metric, cast(x as bigint), cast(n as bigint),
        centre, true
    from overall
    """, "python-input")
    return out


# ---------------------------------------------------------------------------
# Funnel limits (funnel_limits, funnel_position) for the small final tables
# ---------------------------------------------------------------------------

_ND = statistics.NormalDist()


def z_for(coverage):
    return -_ND.inv_cdf((100.0 - coverage) / 200.0)


def tail_for(coverage):
    return (100.0 - coverage) / 200.0


_BINOM_CACHE = {}
# Probabilities of the binomial quantiles a run needs: both tails of both
# coverages, found in one pass per (n, theta0).
_BINOM_PROBS = ()


def binom_interp_quantile(n, p, prob):
    """Spiegelhalter's interpolated binomial quantile r - (F(r) - prob) / P(r),
    r the smallest count with F(r) >= prob, X ~ Binomial(n, p)."""
    key = (n, p)
    hit = _BINOM_CACHE.get(key)
    if hit is None:
        hit = _BINOM_CACHE[key] = _binom_quantiles(n, p, _BINOM_PROBS)
    if prob in hit:
        return hit[prob]
    return _binom_quantiles(n, p, (prob,))[prob]


def _binom_quantiles(n, p, probs):
    q = 1.0 - p
    if p <= 0.0:    # all mass at 0: r = 0, F(r) = P(r) = 1
        return {pr: 0.0 - min(max(1.0 - pr, 0.0), 1.0) for pr in probs}
    if q <= 0.0:    # all mass at n
        return {pr: n - min(max(1.0 - pr, 0.0), 1.0) for pr in probs}
    mu, sd = n * p, math.sqrt(n * p * q)
    # The mass beyond 9 sd (and 5 counts) is below 1e-17 of the total.
    lo = max(0, int(math.floor(mu - 9.0 * sd - 5)))
    hi = min(n, int(math.ceil(mu + 9.0 * sd + 5)))
    m = min(max(int(math.floor(mu)), lo), hi)
    size = hi - lo + 1
    pm = [0.0] * size
    pm[m - lo] = 1.0                 # unnormalised: scaled to sum 1 below
    ratio = p / q
    for k in range(m, lo, -1):       # P(k - 1) = P(k) k q / ((n - k + 1) p)
        pm[k - 1 - lo] = pm[k - lo] * k / ((n - k + 1) * ratio)
    for k in range(m, hi):           # P(k + 1) = P(k) (n - k) p / ((k + 1) q)
        pm[k + 1 - lo] = pm[k - lo] * (n - k) * ratio / (k + 1)
    total = math.fsum(pm)
    pm = [x / total for x in pm]
    split = min(max(int(math.ceil(mu)) - lo, 0), size)  # F from the left below mu, else 1 - upper tail
    cdf = [0.0] * size
    acc = 0.0
    for i in range(split):
        acc += pm[i]
        cdf[i] = acc
    acc = 0.0
    for i in range(size - 1, split - 1, -1):
        cdf[i] = 1.0 - acc
        acc += pm[i]
    out = {}
    for pr in probs:
        i = bisect.bisect_left(cdf, pr)
        while i > 0 and cdf[i - 1] >= pr:   # cdf is monotone up to rounding
            i -= 1
        while i < size - 1 and cdf[i] < pr:
            i += 1
        a = (cdf[i] - pr) / pm[i] if pm[i] > 0 else 0.0
        out[pr] = lo + i - min(max(a, 0.0), 1.0)
    return out


def funnel_limits(kind, centre, n, coverage, spread=None):
    """(lower, upper) of funnel_limits at tau2 = 0, or None (n = 0, or an
    argument the kind uses is NULL)."""
    if n is None or centre is None or n == 0:
        return None
    z = z_for(coverage)
    if kind == "mean":
        if spread is None:
            return None
        half = z * (spread / math.sqrt(n))
        return centre - half, centre + half
    if kind == "effect_size":
        if spread is None:
            return None
        t = centre / math.sqrt(2.0 * n)
        half = z * math.sqrt(2.0 * (1.0 - spread) / n + t * t)
        return centre - half, centre + half
    if kind == "proportion":
        half = z * math.sqrt(centre * (1.0 - centre) / n)
        return min(max(centre - half, 0.0), 1.0), min(max(centre + half, 0.0), 1.0)
    if kind == "proportion_exact":
        tail = tail_for(coverage)
        lo = binom_interp_quantile(int(n), centre, tail)
        hi = binom_interp_quantile(int(n), centre, 1.0 - tail)
        return min(max(lo / n, 0.0), 1.0), min(max(hi / n, 0.0), 1.0)
    if kind == "proportion_arcsine":
        c = math.asin(math.sqrt(centre))
        half = z * math.sqrt(1.0 / (4.0 * n))
        lo, hi = c - half, c + half
        return (0.0 if lo <= 0 else math.sin(lo) ** 2), (1.0 if hi >= math.pi / 2 else math.sin(hi) ** 2)
    raise ValueError(f"unknown funnel kind {kind}")


def funnel_position(value, l95, u95, l998, u998):
    if None in (value, l95, u95, l998, u998):
        return None
    if value > u998:
        return "above_998"
    if value < l998:
        return "below_998"
    if value > u95:
        return "above_95"
    if value < l95:
        return "below_95"
    return "inside"


def with_limits(rows, kind_of, centre_of, n_of, spread_of, value_of, p, skip=None):
    """Add lower_95, upper_95, lower_998, upper_998, position to dict rows."""
    for r in rows:
        if skip is not None and skip(r):
            inner = outer = None
        else:
            k = kind_of(r)
            inner = funnel_limits(k, centre_of(r), n_of(r), p["coverage_inner"], spread_of(r))
            outer = funnel_limits(k, centre_of(r), n_of(r), p["coverage_outer"], spread_of(r))
        r["lower_95"], r["upper_95"] = inner if inner else (None, None)
        r["lower_998"], r["upper_998"] = outer if outer else (None, None)
        r["position"] = funnel_position(value_of(r), r["lower_95"], r["upper_95"],
                                        r["lower_998"], r["upper_998"])
    return rows


def rows_of(con, sql):
    rel = con.sql(sql)
    cols = rel.columns
    return [dict(zip(cols, t)) for t in rel.fetchall()]


def arrow_of(rows, columns, types):
    return pa.table({c: pa.array([r[c] for r in rows], type=types[c]) for c in columns})


# ---------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------

def proportion_funnel(con, p):
    """The proportion_funnel block: the counts from DuckDB, the limits here."""
    rows = rows_of(con, "select * from proportion_funnel_counts")
    for r in rows:
        r["value"] = r["centre"] if r["is_all"] else (r["x"] / r["n"] if r["n"] > 0 else None)
        r["tau2"] = 0.0
        r["suppressed"] = False
    with_limits(rows, lambda r: p["funnel_kind"], lambda r: r["centre"], lambda r: r["n"],
                lambda r: None, lambda r: r["value"], p, skip=lambda r: r["is_all"])
    cols = ["source", "partnership_id", "service_id", "unit_name", "metric", "value", "x", "n",
            "centre", "tau2", "lower_95", "upper_95", "lower_998", "upper_998", "position", "suppressed"]
    types = {"source": pa.string(), "partnership_id": pa.int64(), "service_id": pa.int64(),
             "unit_name": pa.string(), "metric": pa.string(), "value": pa.float64(), "x": pa.int64(),
             "n": pa.int64(), "centre": pa.float64(), "tau2": pa.float64(), "lower_95": pa.float64(),
             "upper_95": pa.float64(), "lower_998": pa.float64(), "upper_998": pa.float64(),
             "position": pa.string(), "suppressed": pa.bool_()}
    table = arrow_of(rows, cols, types)
    con.register("proportion_funnel_arrow", table)
    con.execute("create temp table proportion_funnel as select * from proportion_funnel_arrow")
    con.unregister("proportion_funnel_arrow")


FUNNEL_COLS = ["lower_95", "upper_95", "lower_998", "upper_998", "position"]


def funnel_chart(con, p, sql, kind, spread_col, order_cols):
    """A mean or effect-size funnel: SQL gives the rows up to the limits."""
    rel = con.sql(sql)
    cols = rel.columns
    rows = [dict(zip(cols, t)) for t in rel.fetchall()]
    with_limits(rows, lambda r: kind, lambda r: r["centre"], lambda r: r["n"],
                lambda r: r[spread_col], lambda r: r["value"], p, skip=lambda r: r["unit_name"] == "All")
    out = [c for c in order_cols]
    types = {c: t for c, t in zip(cols, rel.types)}
    pa_types = {}
    for c in out:
        if c in FUNNEL_COLS:
            pa_types[c] = pa.string() if c == "position" else pa.float64()
        else:
            pa_types[c] = duck_to_arrow(str(types[c]))
    return arrow_of(rows, out, pa_types)


def duck_to_arrow(t):
    return {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "VARCHAR": pa.string(),
            "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "HUGEINT": pa.int64()}[t]


def severity_sql(p, measure, scale, informant):
    PE = p["PE"]
    return f"""
    with t1 as (
        select r.unit_id, o.t1
        from in_scope_referral r join outcome_pair o using (referral_id)
        where o.informant = '{informant}' and o.measure = '{measure}' and o.scale = '{scale}'
          and o.t1_date <= {PE}
    ),
    overall as (select avg(t1) as centre, stddev_samp(t1) as sigma, count(t1) as n from t1),
    per_unit as (
        select u.partnership_id, u.service_id, u.unit_name, count(t.t1) as n, avg(t.t1) as mean
        from compared_unit u left join t1 t on t.unit_id = u.unit_id
        group by u.partnership_id, u.service_id, u.unit_name
    )
    select * from (
        select u.partnership_id, u.service_id, u.unit_name, u.mean as value, u.n, o.centre,
            o.sigma as spread, false as suppressed
        from per_unit u cross join overall o
        union all
        select null::bigint, null::bigint, 'All', o.centre, o.n, o.centre, o.sigma, false
        from overall o
    )
    order by partnership_id nulls last, service_id nulls first
    """


def effect_size_sql(p, measure, scale, informant):
    es = """
        case when count(t1) >= 2 and stddev_samp(t1) > 0
             then (avg(t1) - avg(t2)) / stddev_samp(t1) end as d,
        case when stddev_samp(t1) > 0 and stddev_samp(t2) > 0 then corr(t1, t2) end as r,
        count(t1) as n"""
    return f"""
    with case_score as (
        select unit_id, t1, t2 from paired_outcome
        where measure = '{measure}' and scale = '{scale}' and informant = '{informant}'
          and t1 is not null and t2 is not null
    ),
    direction as (
        select coalesce(max(case when lower_is_better then 1.0 else -1.0 end), 1.0) as sign
        from ref_scale where measure = '{measure}' and scale = '{scale}'
    ),
    pooled as (select {es} from case_score),
    per_unit as (
        select u.partnership_id, u.service_id, u.unit_name, {es}
        from compared_unit u left join case_score c on c.unit_id = u.unit_id
        group by u.partnership_id, u.service_id, u.unit_name
    ),
    rows as (
        select u.partnership_id, u.service_id, u.unit_name, u.d * s.sign as value,
            sqrt(2 * (1 - u.r) / u.n + u.d * u.d / (2 * u.n)) as se, u.n,
            p.d * s.sign as centre, p.r as spread
        from per_unit u cross join pooled p cross join direction s
        union all
        select null::bigint, null::bigint, 'All', p.d * s.sign,
            sqrt(2 * (1 - p.r) / p.n + p.d * p.d / (2 * p.n)), p.n, p.d * s.sign, p.r
        from pooled p cross join direction s
    )
    select *, false as suppressed from rows
    order by partnership_id nulls last, service_id nulls first
    """


def scale_change_sql(measure, informant):
    return f"""
    with scale as (select measure, scale, label, sort_order from ref_scale where measure = '{measure}'),
    case_score as (
        select unit_id, scale, t1, t2, change from paired_outcome
        where informant = '{informant}' and measure = '{measure}'
    ),
    per_unit as (
        select u.partnership_id, u.service_id, u.unit_name, s.scale, s.label, s.sort_order,
            count(c.change) as n, avg(c.t1) as mean_t1, avg(c.t2) as mean_t2, avg(c.change) as mean_change
        from compared_unit u cross join scale s
        left join case_score c on c.unit_id = u.unit_id and c.scale = s.scale
        group by u.partnership_id, u.service_id, u.unit_name, s.scale, s.label, s.sort_order
    ),
    all_units as (
        select null::bigint, null::bigint, 'All', s.scale, s.label, s.sort_order,
            count(c.change), avg(c.t1), avg(c.t2), avg(c.change)
        from scale s left join case_score c on c.scale = s.scale
        group by s.scale, s.label, s.sort_order
    )
    select partnership_id, service_id, unit_name, scale, label, cast(sort_order as bigint) as sort_order,
        n, mean_t1, mean_t2, mean_change, false as suppressed
    from (select * from per_unit union all select * from all_units)
    order by partnership_id nulls last, service_id nulls first, sort_order
    """


def category_chart_sql(dimension):
    return f"""
    select partnership_id, service_id, unit_name, category, sort_order, count, n, pct, suppressed
    from category_share where dimension = '{dimension}'
    order by partnership_id nulls last, service_id nulls first, sort_order, category
    """


def current_view_chart_sql(group):
    return f"""
    select partnership_id, service_id, unit_name, item, label, sort_order, count, n, pct, suppressed
    from current_view_share where item_group = '{group}'
    order by partnership_id nulls last, service_id nulls first, sort_order
    """


def esq_chart_sql(versions):
    v = ", ".join(f"'{x}'" for x in versions)
    return f"""
    select partnership_id, service_id, unit_name, version, item, label, sort_order,
        n, pct_certainly_true, pct_partly_true, pct_not_true, suppressed
    from esq_item_share where version in ({v})
    order by partnership_id nulls last, service_id nulls first, version_order, sort_order
    """


def funnel_metrics_sql(metrics):
    m = ", ".join(f"'{x}'" for x in metrics)
    return f"""
    select * exclude (source) from proportion_funnel
    where source = 'metric_case' and metric in ({m})
    order by metric, partnership_id nulls last, service_id nulls first
    """


GOAL_PROGRESS_SQL = """
with goal as (select unit_id, t1, t2, change, reliable_change from paired_outcome where measure = 'GBO'),
unit_goal as (
    select u.partnership_id, u.service_id, u.unit_name, g.t1, g.t2, g.change, g.reliable_change
    from compared_unit u left join goal g on g.unit_id = u.unit_id
    union all
    select null::bigint, null::bigint, 'All', g.t1, g.t2, g.change, g.reliable_change
    from (values (true)) as all_row (x) left join goal g on all_row.x
),
per_unit as (
    select partnership_id, service_id, unit_name, count(change) as n,
        avg(t1) as mean_t1, avg(t2) as mean_t2, avg(change) as mean_change,
        count(*) filter (where reliable_change = 1) as improved,
        count(*) filter (where reliable_change = -1) as deteriorated
    from unit_goal group by partnership_id, service_id, unit_name
)
select partnership_id, service_id, unit_name, n, mean_t1, mean_t2, mean_change,
    case when n > 0 then 100.0 * improved / n end as pct_reliable_improvement,
    case when n > 0 then 100.0 * deteriorated / n end as pct_reliable_deterioration,
    false as suppressed
from per_unit
order by partnership_id nulls last, service_id nulls first
"""

OUTCOME_MEASURES_SQL = """
select partnership_id, service_id, unit_name, rater, closed_referrals, closed_2_contacts,
    with_assessment, paired, improvement, no_change, deterioration,
    100.0 * with_assessment / nullif(closed_2_contacts, 0) as pct_with_assessment,
    100.0 * paired / nullif(closed_2_contacts, 0) as pct_paired,
    100.0 * improvement / nullif(paired, 0) as pct_improvement,
    100.0 * no_change / nullif(paired, 0) as pct_no_change,
    100.0 * deterioration / nullif(paired, 0) as pct_deterioration,
    false as suppressed
from national_unit_measure
order by partnership_id nulls last, service_id nulls first,
    case rater when 'self' then 1 when 'parent' then 2 when 'clinician' then 3 else 4 end
"""

IMPROVEMENT_FUNNEL_SQL = """
select partnership_id, service_id, unit_name, metric, substr(metric, length('improvement_') + 1) as rater,
    value, x, n, centre, tau2, lower_95, upper_95, lower_998, upper_998, position, suppressed
from proportion_funnel where source = 'national'
order by metric, partnership_id nulls last, service_id nulls first
"""

PUBLISHED_MEASURES = [
    ("MHS110", "any", "closed_2_contacts", "closed_referrals", False, "Closed referrals with at least 2 contacts"),
    ("MHS111", "any", "assessment", "closed_2_contacts", False, "With any assessment"),
    ("MHS111a", "any", "assessment", "closed_2_contacts", True, "With any assessment, % of MHS110"),
    ("MHS111b", "self", "assessment", "closed_2_contacts", False, "With a self-rated assessment"),
    ("MHS111c", "self", "assessment", "closed_2_contacts", True, "With a self-rated assessment, % of MHS110"),
    ("MHS111d", "parent", "assessment", "closed_2_contacts", False, "With a parent-rated assessment"),
    ("MHS111e", "parent", "assessment", "closed_2_contacts", True, "With a parent-rated assessment, % of MHS110"),
    ("MHS111f", "clinician", "assessment", "closed_2_contacts", False, "With a clinician-rated assessment"),
    ("MHS111g", "clinician", "assessment", "closed_2_contacts", True, "With a clinician-rated assessment, % of MHS110"),
    ("MHS112", "any", "paired", "closed_2_contacts", False, "With any paired score"),
    ("MHS112a", "any", "paired", "closed_2_contacts", True, "With any paired score, % of MHS110"),
    ("MHS112b", "self", "paired", "closed_2_contacts", False, "With a self-rated paired score"),
    ("MHS112c", "self", "paired", "closed_2_contacts", True, "With a self-rated paired score, % of MHS110"),
    ("MHS112d", "parent", "paired", "closed_2_contacts", False, "With a parent-rated paired score"),
    ("MHS112e", "parent", "paired", "closed_2_contacts", True, "With a parent-rated paired score, % of MHS110"),
    ("MHS112f", "clinician", "paired", "closed_2_contacts", False, "With a clinician-rated paired score"),
    ("MHS112g", "clinician", "paired", "closed_2_contacts", True, "With a clinician-rated paired score, % of MHS110"),
    ("MHS113a", "self", "improvement", "paired", False, "Self-rated: measurable improvement"),
    ("MHS113b", "self", "improvement", "paired", True, "Self-rated: measurable improvement, % of MHS112b"),
    ("MHS113c", "self", "deterioration", "paired", False, "Self-rated: measurable deterioration"),
    ("MHS113d", "self", "deterioration", "paired", True, "Self-rated: measurable deterioration, % of MHS112b"),
    ("MHS113e", "self", "no_change", "paired", False, "Self-rated: no measurable change"),
    ("MHS113f", "self", "no_change", "paired", True, "Self-rated: no measurable change, % of MHS112b"),
    ("MHS114a", "parent", "improvement", "paired", False, "Parent-rated: measurable improvement"),
    ("MHS114b", "parent", "improvement", "paired", True, "Parent-rated: measurable improvement, % of MHS112d"),
    ("MHS114c", "parent", "deterioration", "paired", False, "Parent-rated: measurable deterioration"),
    ("MHS114d", "parent", "deterioration", "paired", True, "Parent-rated: measurable deterioration, % of MHS112d"),
    ("MHS114e", "parent", "no_change", "paired", False, "Parent-rated: no measurable change"),
    ("MHS114f", "parent", "no_change", "paired", True, "Parent-rated: no measurable change, % of MHS112d"),
    ("MHS115a", "clinician", "improvement", "paired", False, "Clinician-rated: measurable improvement"),
    ("MHS115b", "clinician", "improvement", "paired", True, "Clinician-rated: measurable improvement, % of MHS112f"),
    ("MHS115c", "clinician", "deterioration", "paired", False, "Clinician-rated: measurable deterioration"),
    ("MHS115d", "clinician", "deterioration", "paired", True, "Clinician-rated: measurable deterioration, % of MHS112f"),
    ("MHS115e", "clinician", "no_change", "paired", False, "Clinician-rated: no measurable change"),
    ("MHS115f", "clinician", "no_change", "paired", True, "Clinician-rated: no measurable change, % of MHS112f"),
]


def published_sql(p):
    coll, pship = p["collaborative"], p["partnership"]
    measures = ",\n        ".join(
        f"('{a}', '{b}', '{c}', '{d}', {str(e).lower()}, '{f}')" for a, b, c, d, e, f in PUBLISHED_MEASURES)
    return f"""
    with measure as (
        select * from (values
        {measures}
        ) as m(measure_id, rater, counted, base, percentage, measure_name)
    ),
    national_breakdown as (
        select * from (values ('age_band', 4), ('gender', 5), ('upper_ethnicity', 6), ('referral_source', 7))
            as b(breakdown, breakdown_rank)
    ),
    partnership_in_scope as (
        select partnership_id, partnership_name from partnership
        where ('{coll}' = 'all' or collaborative = '{coll}') and ({pship} = 0 or partnership_id = {pship})
    ),
    listed_unit as (
        select 'all' as breakdown, 1 as breakdown_rank, null::bigint as partnership_id,
            null::bigint as service_id, 'All' as unit, 0::bigint as category_rank
        union all
        select 'partnership', 2, partnership_id, null::bigint, partnership_name, 0::bigint
        from partnership_in_scope
        union all
        select 'service', 3, s.partnership_id, s.service_id, s.service_name, 0::bigint
        from service s join partnership_in_scope p using (partnership_id)
        union all
        select b.breakdown, b.breakdown_rank, null::bigint, null::bigint, r.label, min(r.sort_order)
        from national_breakdown b join ref_national_breakdown r on r.dimension = b.breakdown
        group by b.breakdown, b.breakdown_rank, r.label
        union all
        select 'referral_source', 7, null::bigint, null::bigint, group_label, min(sort_order)
        from ref_referral_source group by group_label
        union all
        select breakdown, breakdown_rank, null::bigint, null::bigint, 'UNKNOWN', 1000000::bigint
        from national_breakdown
    ),
    breakdown_unit as (
        select breakdown, partnership_id, service_id, unit,
            breakdown not in ('partnership', 'service') as national,
            cast(row_number() over (order by breakdown_rank, partnership_id, service_id, category_rank, unit)
                 as bigint) as sort_order
        from listed_unit
    ),
    population as (
        select referral_id, partnership_id, service_id, age_band, gender, upper_ethnicity,
            referral_source, rater, closed_2_contacts, assessment, paired, improvement, no_change,
            deterioration
        from national_population
    ),
    unit_referral as (
        select 'all' as breakdown, null::bigint as unit_partnership_id, null::bigint as unit_service_id,
            'All' as unit, p.* from population p
        union all
        select 'partnership', p.partnership_id, null::bigint, u.partnership_name, p.*
        from population p join partnership_in_scope u using (partnership_id)
        union all
        select 'service', p.partnership_id, p.service_id, s.service_name, p.*
        from population p join service s using (service_id)
        union all
        select unnest(['age_band', 'gender', 'upper_ethnicity', 'referral_source']), null::bigint,
            null::bigint, unnest([p.age_band, p.gender, p.upper_ethnicity, p.referral_source]), p.*
        from population p
    ),
    counts as (
        select b.breakdown, b.partnership_id, b.service_id, b.unit, b.sort_order, b.national, k.rater,
            count(r.referral_id) as closed_referrals,
            count(case when r.closed_2_contacts then 1 end) as closed_2_contacts,
            count(case when r.assessment then 1 end) as assessment,
            count(case when r.paired then 1 end) as paired,
            count(case when r.improvement then 1 end) as improvement,
            count(case when r.no_change then 1 end) as no_change,
            count(case when r.deterioration then 1 end) as deterioration
        from breakdown_unit b
        cross join (select distinct rater from measure) k
        left join unit_referral r
            on r.breakdown = b.breakdown and r.unit = b.unit
            and r.unit_partnership_id is not distinct from b.partnership_id
            and r.unit_service_id is not distinct from b.service_id
            and r.rater = k.rater
        group by b.breakdown, b.partnership_id, b.service_id, b.unit, b.sort_order, b.national, k.rater
    ),
    measured as (
        select m.measure_id, m.measure_name, m.percentage, c.breakdown, c.partnership_id, c.service_id,
            c.unit, c.sort_order, c.national,
            case m.counted
                when 'closed_2_contacts' then c.closed_2_contacts
                when 'assessment' then c.assessment
                when 'paired' then c.paired
                when 'improvement' then c.improvement
                when 'no_change' then c.no_change
                when 'deterioration' then c.deterioration
            end as numerator,
            case m.base
                when 'closed_referrals' then c.closed_referrals
                when 'closed_2_contacts' then c.closed_2_contacts
                when 'paired' then c.paired
            end as denominator
        from measure m join counts c on c.rater = m.rater
    ),
    rounded as (
        select *, case when denominator > 0
                       then (2000 * numerator + denominator) // (2 * denominator) end as tenths
        from measured
    )
    select measure_id, measure_name, breakdown, partnership_id, service_id, unit, sort_order,
        numerator, denominator,
        case when not percentage then cast(numerator as double)
             else 100.0 * numerator / nullif(denominator, 0) end as value,
        case
            when national and not percentage then cast(numerator as varchar)
            when national then cast(tenths // 10 as varchar) || '.' || cast(tenths % 10 as varchar)
            when numerator < 5 then '*'
            when not percentage then cast((numerator + 2) // 5 * 5 as varchar)
            else cast((tenths + 5) // 10 as varchar)
        end as published,
        false as suppressed
    from rounded
    order by measure_id, sort_order
    """


def partnerships_sql():
    return """
    with referral_count as (select partnership_id, count(*) as referrals from in_scope_referral group by partnership_id),
    service_count as (select partnership_id, count(*) as services from service group by partnership_id)
    select u.partnership_id, u.unit_name as partnership_name, u.collaborative,
        coalesce(s.services, 0) as services, coalesce(r.referrals, 0) as referrals, false as suppressed
    from compared_unit u
    left join referral_count r using (partnership_id)
    left join service_count s using (partnership_id)
    order by partnership_id
    """


def benchmark(con, p):
    """data_quality/benchmark: values and centres in DuckDB, limits here."""
    PE = p["PE"]
    es = lambda a: (f"case when count({a}.t1) >= 2 and stddev_samp({a}.t1) > 0 "
                    f"then (avg({a}.t1) - avg({a}.t2)) / stddev_samp({a}.t1) end")
    es_r = lambda a: (f"case when stddev_samp({a}.t1) > 0 and stddev_samp({a}.t2) > 0 "
                      f"then corr({a}.t1, {a}.t2) end")
    sql = f"""
    with partnership_row as (
        select unit_id as partnership_id, unit_name as partnership_name, collaborative from compared_unit
    ),
    headline as (
        select chart, metric, benchmark as kind, measure, scale, informant,
            row_number() over (order by chart_order, metric_order) as chart_order
        from chart_metric where benchmark is not null
    ),
    case_value as (
        select unit_id as partnership_id, metric, cast(x as double) as y from metric_case
        union all
        select r.unit_id, h.metric, o.t1
        from headline h
        join outcome_pair o on o.measure = h.measure and o.informant = h.informant and o.scale = h.scale
        join in_scope_referral r using (referral_id)
        where h.kind = 'mean' and o.t1_date <= {PE}
    ),
    es_case as (
        select o.unit_id as partnership_id, h.metric, o.t1, o.t2
        from headline h
        join paired_outcome o on o.measure = h.measure and o.informant = h.informant and o.scale = h.scale
        where h.kind = 'effect_size' and o.t1 is not null and o.t2 is not null
    ),
    partnership_value as (
        select pr.partnership_id, pr.collaborative, h.metric, h.kind,
            avg(v.y) as value, sum(v.y) as y_sum, count(v.y) as n
        from partnership_row pr cross join headline h
        left join case_value v on v.partnership_id = pr.partnership_id and v.metric = h.metric
        where h.kind <> 'effect_size'
        group by pr.partnership_id, pr.collaborative, h.metric, h.kind
        union all
        select pr.partnership_id, pr.collaborative, h.metric, h.kind, {es('e')}, null::double, count(e.t1)
        from partnership_row pr cross join headline h
        left join es_case e on e.partnership_id = pr.partnership_id and e.metric = h.metric
        where h.kind = 'effect_size'
        group by pr.partnership_id, pr.collaborative, h.metric, h.kind
    ),
    collaborative_value as (
        select pr.collaborative, v.metric, avg(v.y) as centre, stddev_samp(v.y) as spread,
            sum(v.y) as y_sum, count(v.y) as n
        from case_value v join partnership_row pr using (partnership_id)
        group by pr.collaborative, v.metric
        union all
        select pr.collaborative, e.metric, {es('e')}, {es_r('e')}, null::double, count(e.t1)
        from es_case e join partnership_row pr using (partnership_id)
        group by pr.collaborative, e.metric
    ),
    national_value as (
        select metric, avg(y) as value, sum(y) as y_sum, count(y) as n from case_value group by metric
        union all
        select h.metric, {es('e')}, null::double, count(e.t1)
        from headline h left join es_case e using (metric)
        where h.kind = 'effect_size'
        group by h.metric
    )
    select pv.partnership_id, pr.partnership_name, pv.collaborative, h.chart, pv.metric, pv.value,
        case when pv.kind = 'proportion' then cast(coalesce(pv.y_sum, 0) as bigint) end as x,
        cast(pv.n as bigint) as n,
        cv.centre as collaborative_value,
        case when pv.kind = 'proportion' then cast(coalesce(cv.y_sum, 0) as bigint) end as collaborative_x,
        cast(cv.n as bigint) as collaborative_n,
        nv.value as national_value,
        case when pv.kind = 'proportion' then cast(coalesce(nv.y_sum, 0) as bigint) end as national_x,
        cast(nv.n as bigint) as national_n,
        pv.kind, cv.spread, false as suppressed
    from partnership_value pv
    left join collaborative_value cv on cv.collaborative = pv.collaborative and cv.metric = pv.metric
    left join national_value nv on nv.metric = pv.metric
    join partnership_row pr using (partnership_id)
    join headline h on h.metric = pv.metric
    order by pv.partnership_id, h.chart_order
    """
    rows = rows_of(con, sql)
    kind = p["funnel_kind"]
    with_limits(rows, lambda r: kind if r["kind"] == "proportion" else r["kind"],
                lambda r: r["collaborative_value"], lambda r: r["n"], lambda r: r["spread"],
                lambda r: r["value"], p)
    cols = ["partnership_id", "partnership_name", "collaborative", "chart", "metric", "value", "x", "n",
            "collaborative_value", "collaborative_x", "collaborative_n", "national_value", "national_x",
            "national_n", "lower_95", "upper_95", "lower_998", "upper_998", "position", "suppressed"]
    types = {c: pa.float64() for c in cols}
    types.update({c: pa.int64() for c in ["partnership_id", "x", "n", "collaborative_x",
                                          "collaborative_n", "national_x", "national_n"]})
    types.update({c: pa.string() for c in ["partnership_name", "collaborative", "chart", "metric",
                                           "position"]})
    types["suppressed"] = pa.bool_()
    return arrow_of(rows, cols, types)


SEVERITY_COLS = ["partnership_id", "service_id", "unit_name", "value", "n", "centre", "spread",
                 "lower_95", "upper_95", "lower_998", "upper_998", "position", "suppressed"]
EFFECT_COLS = ["partnership_id", "service_id", "unit_name", "value", "se", "n", "centre", "spread",
               "lower_95", "upper_95", "lower_998", "upper_998", "position", "suppressed"]


def charts(con, p):
    """Every chart, in dashboard order: name -> Arrow table."""
    def q(sql):
        return con.sql(sql).to_arrow_table()
    out = {}
    out["who/gender"] = q(category_chart_sql("gender"))
    out["who/age"] = q(category_chart_sql("age_band"))
    out["who/ethnicity"] = q(category_chart_sql("ethnicity"))
    out["who/problem_descriptors"] = q(current_view_chart_sql("problem_descriptor"))
    out["who/complexity"] = q(current_view_chart_sql("complexity_factor"))
    out["who/severity_sdq"] = funnel_chart(con, p, severity_sql(p, "SDQ", "total_difficulties", "parent"),
                                           "mean", "spread", SEVERITY_COLS)
    out["who/severity_rcads"] = funnel_chart(con, p, severity_sql(p, "RCADS", "total", "self"),
                                             "mean", "spread", SEVERITY_COLS)
    out["outcomes/sdq_change"] = q(scale_change_sql("SDQ", "parent"))
    out["outcomes/rcads_change"] = q(scale_change_sql("RCADS", "self"))
    out["outcomes/effect_size"] = funnel_chart(
        con, p, effect_size_sql(p, "SDQ", "total_difficulties", "parent"), "effect_size", "spread",
        EFFECT_COLS)
    out["outcomes/reliable_improvement"] = q(funnel_metrics_sql(
        ["reliable_improvement", "reliable_deterioration", "recovery", "reliable_recovery"]))
    out["outcomes/goal_progress"] = q(GOAL_PROGRESS_SQL)
    out["experience/esq_parent"] = q(esq_chart_sql(["parent"]))
    out["experience/esq_child"] = q(esq_chart_sql(["child_9_11", "young_person_12_18"]))
    out["experience/esq_satisfaction"] = q(funnel_metrics_sql(
        ["esq_satisfaction_parent", "esq_satisfaction_self"]))
    out["data_quality/completion"] = q(funnel_metrics_sql(
        ["t1_sdq", "paired_sdq", "t1_rcads", "paired_rcads", "t1_gbo", "paired_gbo", "t1_any", "paired_any"]))
    out["data_quality/idle_cases"] = q(funnel_metrics_sql(["idle"]))
    out["data_quality/goals_use"] = q(funnel_metrics_sql(["goal_rated", "goal_paired"]))
    out["data_quality/benchmark"] = benchmark(con, p)
    out["national/outcome_measures"] = q(OUTCOME_MEASURES_SQL)
    out["national/improvement_funnel"] = q(IMPROVEMENT_FUNNEL_SQL)
    out["national/published"] = q(published_sql(p))
    out["key/partnerships"] = q(partnerships_sql())
    return out


# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------

STEPS_DROPPED_AFTER = {  # a step, and the block after which nothing reads it
    "given_score": "scale_score",
    "item_answer": "current_view_rating",
}


def open_session(data):
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    for t in INPUT_TABLES:
        src = source(data, t)
        if src is None:
            raise SystemExit(f"missing input table {t} in {data}")
        con.execute(f"create view {t} as select * from {src}")
    src = source(data, "questionnaire_score")
    has_scores = src is not None
    if has_scores:
        con.execute(f"create view questionnaire_score as select * from {src}")
    else:
        con.execute("create temp table questionnaire_score "
                    "(questionnaire_id bigint, scale varchar, score double)")
    for name, cols in REF_TABLES.items():
        spec = ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in cols.split(", "))
        con.execute(f"create temp table {name} as select * from read_csv("
                    f"'{os.path.join(REF_DIR, name + '.csv')}', header = true, auto_detect = false, "
                    f"columns = {{{spec}}})")
    values = ", ".join(
        "(" + ", ".join("null" if v is None else (str(v) if isinstance(v, int) else f"'{v}'") for v in row) + ")"
        for row in CHART_METRICS)
    con.execute(f"create temp table chart_metric as select * from (values {values}) as "
                "m(chart, metric, benchmark, chart_order, metric_order, measure, scale, informant)")
    return con, has_scores


def resolve_params(con, period_end=None):
    p = dict(PARAMS)
    if period_end is None:
        end = con.execute("""
            select max(d) from (
                select max(referral_date) as d from referral where referral_date <= current_date
                union all select max(closure_date) from referral where closure_date <= current_date
                union all select max(contact_date) from contact where contact_date <= current_date)
        """).fetchone()[0]
    else:
        import datetime
        end = datetime.date.fromisoformat(period_end)
    start = con.execute(f"select cast(date '{end}' - interval 1 year + interval 1 day as date)").fetchone()[0]
    p["period_end"], p["period_start"] = end, start
    p["PE"], p["PS"] = f"date '{end}'", f"date '{start}'"
    global _BINOM_PROBS
    _BINOM_PROBS = tuple(sorted({t for c in (p["coverage_inner"], p["coverage_outer"])
                                 for t in (tail_for(c), 1.0 - tail_for(c))}))
    _BINOM_CACHE.clear()
    return p


def run(data, period_end=None, block_seconds=None):
    """Compute every block and chart; returns (connection, params, charts).
    With block_seconds (a dict), adds each block's seconds to it, and the
    charts' under "(charts)"."""
    con, has_scores = open_session(data)
    p = resolve_params(con, period_end)
    for name, kind, sql in blocks(p, has_scores):
        start = time.perf_counter()
        con.execute(sql)
        if block_seconds is not None:
            block_seconds[name] = block_seconds.get(name, 0.0) + time.perf_counter() - start
        for step, after in STEPS_DROPPED_AFTER.items():
            if name == after:
                con.execute(f"drop table {step}")
    start = time.perf_counter()
    proportion_funnel(con, p)
    if block_seconds is not None:
        block_seconds["proportion_funnel"] = time.perf_counter() - start
    start = time.perf_counter()
    out = charts(con, p)
    if block_seconds is not None:
        block_seconds["(charts)"] = time.perf_counter() - start
    return con, p, out


def main_bench(data, reps):
    times = []
    rows = 0
    block_seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        block_seconds.append({})
        con, _, out = run(data, block_seconds=block_seconds[-1])
        rows = sum(table.num_rows for table in out.values())
        con.close()
        del out
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"duckdb_version": duckdb.__version__, "dashboard": times,
                      "peak_rss_mib": round(peak, 1), "threads": THREADS, "chart_rows": rows,
                      "blocks": {name: [round(rep.get(name, 0.0), 3) for rep in block_seconds]
                                 for name in block_seconds[0]}}))


# ---------------------------------------------------------------------------
# Check against cypdash
# ---------------------------------------------------------------------------

REL = 1e-9
CHECK_BLOCKS = ["esq_answer", "goal_rating", "scale_score", "category", "national_scale_concept",
                "first_current_view", "national_referral", "outcome_pair", "current_view_rating",
                "national_concept", "national_outcome", "compared_unit", "late_pair", "in_scope_referral",
                "national_population", "paired_outcome", "referral_category", "category_share",
                "current_view_share", "national_unit_measure", "esq_item_share", "metric_case",
                "proportion_funnel"]


def cell_equal(mine, theirs):
    """mine: a Python value from Arrow; theirs: a CSV cell of cypdash."""
    if mine is None:
        return theirs == ""
    if isinstance(mine, bool):
        return theirs == ("true" if mine else "false")
    if isinstance(mine, (int, float)):
        try:
            y = float(theirs)
        except ValueError:
            return False
        x = float(mine)
        if math.isnan(x) and math.isnan(y):
            return True
        scale = max(abs(x), abs(y))
        return abs(x - y) <= REL * scale or scale < 1e-300
    return str(mine) == theirs


def compare_chart(table, path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        ref = list(csv.reader(f))
    header, body = ref[0], ref[1:]
    if header != table.column_names:
        return f"columns {table.column_names} != {header}"
    mine = table.to_pylist()
    if len(mine) != len(body):
        return f"{len(mine)} rows here, {len(body)} in cypdash"
    for i, (a, b) in enumerate(zip(mine, body)):
        for c, y in zip(header, b):
            if not cell_equal(a[c], y):
                return f"row {i + 1}, {c}: {a[c]!r} here, {y!r} in cypdash"
    return None


def block_summary_sql(con, blocks):
    """One statement (valid in DuckDB and DataFusion) giving, per block, its
    row count and per column a sum (numbers, booleans as 0/1, dates as
    day + 31 x month) or a count of non-NULL values (text)."""
    parts = []
    for block in blocks:
        parts.append(f"select '{block}' as block, 'rows' as measure, cast(count(*) as double) as v from {block}")
        for name, typ, *_ in con.execute(f"describe {block}").fetchall():
            t = typ.upper()
            if t in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "FLOAT", "SMALLINT", "TINYINT"):
                label, expr = f"sum({name})", f"sum(cast({name} as double))"
            elif t == "BOOLEAN":
                label, expr = f"true({name})", f"sum(case when {name} then 1 else 0 end)"
            elif t == "DATE":
                label, expr = (f"days({name})",
                               f"sum(date_part('day', {name}) + 31 * date_part('month', {name}))")
            else:
                label, expr = f"count({name})", f"count({name})"
            parts.append(f"select '{block}', '{label}', cast({expr} as double) from {block}")
    return " union all ".join(parts)


def main_check(data, cypdash, period_end=None):
    con, p, out = run(data, period_end)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [cypdash, "--quiet", "--sdc", "none", "--data", data, "export", "--out", tmp, "--format", "csv"]
        if period_end:
            cmd += ["-p", f"period_end={p['period_end']}", "-p", f"period_start={p['period_start']}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for chart, table in out.items():
            path = os.path.join(tmp, chart.replace("/", "__") + ".csv")
            if not os.path.exists(path):
                results.append((chart, "DIFF", table.num_rows, "not exported by cypdash"))
                continue
            problem = compare_chart(table, path)
            results.append((chart, "OK" if problem is None else "DIFF", table.num_rows, problem or ""))
    if period_end is None:
        sql = block_summary_sql(con, CHECK_BLOCKS)
        mine = {(b, m): v for b, m, v in con.execute(sql).fetchall()}
        res = subprocess.run([cypdash, "--quiet", "--sdc", "none", "--data", data, "sql", "--format", "csv",
                              sql], check=True, capture_output=True, text=True)
        theirs = {(b, m): v for b, m, v in csv.reader(res.stdout.lstrip("\ufeff").splitlines()[1:])}
        for block in CHECK_BLOCKS:
            keys = [k for k in mine if k[0] == block]
            bad = [f"{m}: {mine[(b, m)]!r} here, {theirs.get((b, m))!r} in cypdash" for b, m in keys
                   if (b, m) not in theirs or not cell_equal(mine[(b, m)], theirs[(b, m)])]
            results.append((f"block {block}", "OK" if not bad else "DIFF", int(mine[(block, "rows")]),
                            f"{len(keys)} sums equal" if not bad else "; ".join(bad[:3])))
    width = max(len(r[0]) for r in results)
    print(f"{'chart / block':<{width}}  result  rows  note")
    for name, res, rows, note in results:
        print(f"{name:<{width}}  {res:<6}  {rows:>5}  {note}")
    bad = sum(1 for r in results if r[1] != "OK")
    print(f"{len(results) - bad} OK, {bad} DIFF (data {data}, period {p['period_start']} .. {p['period_end']})")
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    if len(args) >= 3 and args[1] == "--check":
        period_end = None
        if len(args) >= 5 and args[3] == "--period-end":
            period_end = args[4]
        sys.exit(main_check(args[0], args[2], period_end))
    if len(args) != 2:
        sys.exit(__doc__)
    main_bench(args[0], int(args[1]))


if __name__ == "__main__":
    main()
