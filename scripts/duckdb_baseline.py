#!/usr/bin/env python3
"""DuckDB baseline for `scripts/bench.sh`: the SDQ scoring step and the
reliable-improvement chart written as plain SQL over the same Parquet files
cypdash reads, timed in this process (min and median of N runs).

Usage: duckdb_baseline.py DATA_DIR REPS
Prints one JSON object: {"sdq_scoring": [seconds...], "reliable_improvement": [...]}.

The SQL follows the same rules as cypdash (domain.md): reverse items,
prorating at 3 of 5 answered with round-half-up, out-of-range values as
missing, T1 = earliest scorable on or after referral, T2 = latest later
one, both on or before closure, Jacobson-Truax reliable change with the
shipped ref_reliable_change values, the CORC case roll-up. It scores the
five SDQ scales and the total (not impact), and rolls up SDQ totals only
(cypdash also rolls up RCADS totals): both a little less work than cypdash
does, so the comparison favours DuckDB.
"""
import json
import sys
import time

import duckdb

SDQ_ITEMS = {
    "consid": ("prosocial", False), "restles": ("hyperactivity", False),
    "somatic": ("emotional", False), "shares": ("prosocial", False),
    "tantrum": ("conduct", False), "loner": ("peer", False),
    "obeys": ("conduct", True), "worries": ("emotional", False),
    "caring": ("prosocial", False), "fidgety": ("hyperactivity", False),
    "friend": ("peer", True), "fights": ("conduct", False),
    "unhappy": ("emotional", False), "popular": ("peer", True),
    "distrac": ("hyperactivity", False), "clingy": ("emotional", False),
    "kind": ("prosocial", False), "lies": ("conduct", False),
    "bullied": ("peer", False), "helpout": ("prosocial", False),
    "reflect": ("hyperactivity", True), "steals": ("conduct", False),
    "oldbest": ("peer", False), "afraid": ("emotional", False),
    "attends": ("hyperactivity", True),
}


def source(data, table):
    import os
    path = os.path.join(data, table)
    if os.path.isdir(path):
        return f"read_parquet('{path}/*.parquet')"
    return f"read_parquet('{path}.parquet')"


def sdq_sql(data):
    values = ", ".join(f"('{k}', '{s}', {str(r).lower()})" for k, (s, r) in SDQ_ITEMS.items())
    return f"""
    WITH sdq_map(item, scale, reverse) AS (VALUES {values}),
    q AS (SELECT questionnaire_id, referral_id, informant, completed_date
          FROM {source(data, 'questionnaire')} WHERE measure = 'SDQ'),
    items AS (
        SELECT i.questionnaire_id, m.scale,
               CASE WHEN i.value BETWEEN 0 AND 2
                    THEN CASE WHEN m.reverse THEN 2 - i.value ELSE i.value END END AS v
        FROM {source(data, 'questionnaire_item')} i
        JOIN sdq_map m USING (item)
        WHERE i.questionnaire_id IN (SELECT questionnaire_id FROM q)),
    scale AS (
        SELECT questionnaire_id, scale,
               CASE WHEN count(v) >= 3 THEN floor(sum(v) * 5.0 / count(v) + 0.5) END AS score
        FROM items GROUP BY questionnaire_id, scale),
    wide AS (
        SELECT questionnaire_id,
               max(score) FILTER (WHERE scale = 'emotional') AS emotional,
               max(score) FILTER (WHERE scale = 'conduct') AS conduct,
               max(score) FILTER (WHERE scale = 'hyperactivity') AS hyperactivity,
               max(score) FILTER (WHERE scale = 'peer') AS peer,
               max(score) FILTER (WHERE scale = 'prosocial') AS prosocial
        FROM scale GROUP BY questionnaire_id)
    SELECT q.*, w.*, emotional + conduct + hyperactivity + peer AS total_difficulties
    FROM q JOIN wide w USING (questionnaire_id)
    """


def reliable_improvement_sql(data):
    # Parameters as shipped in data/reference/ref_reliable_change.csv.
    return f"""
    WITH sdq AS ({sdq_sql(data)}),
    params(informant, sd1, r) AS (VALUES ('parent', 5.8, 0.82), ('self', 5.2, 0.80), ('teacher', 5.9, 0.87)),
    ref AS (SELECT referral_id, service_id, referral_date, closure_date FROM {source(data, 'referral')}),
    scorable AS (
        SELECT s.referral_id, s.informant, s.questionnaire_id, s.completed_date, s.total_difficulties AS score,
               r.closure_date, r.service_id
        FROM sdq s JOIN ref r USING (referral_id)
        WHERE s.total_difficulties IS NOT NULL AND s.completed_date >= r.referral_date),
    t1 AS (
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY referral_id, informant
                        ORDER BY completed_date, questionnaire_id) AS k FROM scorable) WHERE k = 1),
    t2 AS (
        SELECT * FROM (
            SELECT s.*, row_number() OVER (PARTITION BY s.referral_id, s.informant
                        ORDER BY s.completed_date DESC, s.questionnaire_id DESC) AS k
            FROM scorable s JOIN t1 USING (referral_id, informant)
            WHERE s.completed_date > t1.completed_date) WHERE k = 1),
    pair AS (
        SELECT t1.referral_id, t1.service_id, t1.informant, t1.score AS s1, t2.score AS s2
        FROM t1 JOIN t2 USING (referral_id, informant)
        WHERE t1.closure_date IS NULL OR (t1.completed_date <= t1.closure_date AND t2.completed_date <= t1.closure_date)),
    rc AS (
        SELECT p.referral_id, p.service_id,
               CASE WHEN abs(s2 - s1) > 1.96 * sd1 * sqrt(2) * sqrt(1 - r)
                    THEN CASE WHEN s2 < s1 THEN 1 ELSE -1 END ELSE 0 END AS change
        FROM pair p JOIN params USING (informant)),
    case_level AS (
        SELECT referral_id, service_id, max(change) = 1 AND min(change) >= 0 AS improved
        FROM rc GROUP BY referral_id, service_id)
    SELECT s.partnership_id, count(*) AS n, sum(CASE WHEN improved THEN 1 ELSE 0 END) AS x
    FROM case_level c JOIN {source(data, 'service')} s USING (service_id)
    GROUP BY s.partnership_id ORDER BY s.partnership_id
    """


def timed(con, sql, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        out.append(time.perf_counter() - t)
    return out


def main():
    data, reps = sys.argv[1], int(sys.argv[2])
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    result = {
        "duckdb_version": duckdb.__version__,
        "sdq_scoring": timed(con, f"SELECT count(*), sum(total_difficulties) FROM ({sdq_sql(data)})", reps),
        "reliable_improvement": timed(con, reliable_improvement_sql(data), reps),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
