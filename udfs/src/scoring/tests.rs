//! SQL-level tests of the scoring aggregates: the documentation examples,
//! argument checking, input types, and agreement between the plain-Rust
//! kernels and every aggregation path DataFusion may take (single
//! accumulator, grouped, repartitioned with `state`/`merge_batch`, partial
//! aggregation skipped via `convert_to_state`).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int16Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, StructArray, UInt8Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};
use proptest::prelude::*;

use super::*;

fn context(config: SessionConfig) -> SessionContext {
    let ctx = SessionContext::new_with_config(config);
    register(&ctx);
    ctx
}

/// Split a documentation `sql_example` into the SQL after the `> ` prompt
/// (up to the line ending in `;`) and the expected table lines.
fn split_example(example: &str) -> (String, Vec<String>) {
    let body: Vec<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .collect();
    let start = body
        .iter()
        .position(|l| l.starts_with("> "))
        .expect("example has a `> ` prompt");
    let end = start
        + body[start..]
            .iter()
            .position(|l| l.trim_end().ends_with(';'))
            .expect("example SQL ends with ;");
    let sql = body[start..=end]
        .iter()
        .map(|l| l.strip_prefix("> ").unwrap_or(l).trim())
        .collect::<Vec<_>>()
        .join(" ");
    let expected = body[end + 1..]
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    (sql, expected)
}

#[tokio::test]
async fn documentation_examples_run_and_match() -> Result<()> {
    let ctx = context(SessionConfig::new());
    for f in functions() {
        let doc = f.documentation().expect("documented");
        assert!(doc.syntax_example.starts_with(f.name()));
        let example = doc.sql_example.as_deref().expect("has an SQL example");
        let (sql, expected) = split_example(example);
        let batches = ctx.sql(&sql).await?.collect().await?;
        let actual: Vec<String> = pretty_format_batches(&batches)?
            .to_string()
            .lines()
            .map(|l| l.trim().to_string())
            .collect();
        assert_eq!(actual, expected, "{} documentation example", f.name());
    }
    Ok(())
}

async fn plan_error(ctx: &SessionContext, sql: &str) -> String {
    let result = match ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    result.expect_err(sql).strip_backtrace()
}

#[tokio::test]
async fn wrong_arguments_name_the_function() {
    let ctx = context(SessionConfig::new());
    for (sql, fragments) in [
        (
            "SELECT sdq_scores('consid') ",
            &["sdq_scores", "sdq_scores(item, value)"][..],
        ),
        ("SELECT sdq_scores('consid', 1, 2)", &["sdq_scores"]),
        (
            "SELECT sdq_scores(1, 1)",
            &["sdq_scores", "item must be a string"],
        ),
        (
            "SELECT sdq_scores('consid', 1.5)",
            &["sdq_scores", "value must be an integer"],
        ),
        (
            "SELECT sdq_scores('consid', 'x')",
            &["sdq_scores", "value must be an integer"],
        ),
        ("SELECT esq_scores('esq_01')", &["esq_scores"]),
        (
            "SELECT esq_scores(true, 1)",
            &["esq_scores", "item must be a string"],
        ),
        (
            "SELECT rcads_scores('rcads_01', 1, 2, 3)",
            &["rcads_scores"],
        ),
        (
            "SELECT rcads_scores('rcads_01', 1, 'two')",
            &["rcads_scores", "integer"],
        ),
        (
            "SELECT rcads_scores('rcads_01', 1, -1)",
            &["rcads_scores", "max_missing_per_scale", ">= 0"],
        ),
        (
            "SELECT rcads_scores('rcads_01', 1, CAST(NULL AS BIGINT))",
            &["rcads_scores", "NULL"],
        ),
        (
            "SELECT rcads_scores(item, value, value) FROM (VALUES ('rcads_01', 1)) t(item, value)",
            &["rcads_scores", "max_missing_per_scale", "constant"],
        ),
    ] {
        let message = plan_error(&ctx, sql).await;
        for fragment in fragments {
            assert!(
                message.contains(fragment),
                "{sql}: {message:?} lacks {fragment:?}"
            );
        }
    }
}

fn struct_row(column: &ArrayRef, row: usize) -> Vec<Option<String>> {
    let s: &StructArray = column.as_struct();
    assert!(s.is_valid(row));
    s.columns()
        .iter()
        .map(|c| {
            if c.is_null(row) {
                None
            } else if let Some(i) = c.as_primitive_opt::<Int64Type>() {
                Some(i.value(row).to_string())
            } else {
                Some(format!("{:?}", c.as_primitive::<Float64Type>().value(row)))
            }
        })
        .collect()
}

#[tokio::test]
async fn item_and_value_types() -> Result<()> {
    let ctx = context(SessionConfig::new());
    let items = [
        "somatic", "worries", "unhappy", "clingy", "esq_01", "rcads_01",
    ];
    let values = [1i64, 1, 2, 2, 2, 3];
    let mut item_arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(items.to_vec())),
        Arc::new(LargeStringArray::from(items.to_vec())),
        Arc::new(StringViewArray::from(items.to_vec())),
    ];
    // Dictionary-encoded codes (as Parquet written with a dictionary type
    // arrives), with narrow and unsigned keys, string and view values, and
    // dictionary entries no row uses (one a scored code, one NULL).
    let codes = StringArray::from(vec![
        Some("rcads_01"),
        Some("unhappy"),
        None,
        Some("esq_01"),
        Some("worries"),
        Some("clingy"),
        Some("somatic"),
        Some("kind"),
    ]);
    let keys = [6u8, 4, 1, 5, 3, 0];
    item_arrays.push(Arc::new(DictionaryArray::new(
        UInt8Array::from(keys.to_vec()),
        Arc::new(codes.clone()),
    )));
    item_arrays.push(Arc::new(DictionaryArray::new(
        Int16Array::from(keys.iter().map(|&k| i16::from(k)).collect::<Vec<_>>()),
        datafusion::arrow::compute::cast(&codes, &DataType::Utf8View)?,
    )));
    item_arrays.push(Arc::new(DictionaryArray::new(
        Int32Array::from(keys.iter().map(|&k| i32::from(k)).collect::<Vec<_>>()),
        datafusion::arrow::compute::cast(&codes, &DataType::LargeUtf8)?,
    )));
    // A dictionary of 5,000 codes behind a 6-row batch (read as strings
    // rather than matched code by code).
    let mut many: Vec<Option<String>> = (0..5000).map(|n| Some(format!("junk_{n}"))).collect();
    for (k, code) in codes.iter().enumerate() {
        many[k * 600] = code.map(str::to_string);
    }
    item_arrays.push(Arc::new(DictionaryArray::new(
        Int32Array::from(keys.iter().map(|&k| i32::from(k) * 600).collect::<Vec<_>>()),
        Arc::new(StringArray::from(many)),
    )));
    for item in item_arrays {
        for value_type in [
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt8,
            DataType::UInt32,
            DataType::UInt64,
        ] {
            let value =
                datafusion::arrow::compute::cast(&Int64Array::from(values.to_vec()), &value_type)?;
            let schema = Schema::new(vec![
                Field::new("item", item.data_type().clone(), true),
                Field::new("value", value_type.clone(), true),
            ]);
            let batch = RecordBatch::try_new(Arc::new(schema), vec![item.clone(), value])?;
            ctx.deregister_table("t")?;
            ctx.register_batch("t", batch)?;
            let batches = ctx
                .sql("SELECT sdq_scores(item, value)['emotional'] AS e, esq_scores(item, value)['care'] AS c FROM t")
                .await?
                .collect()
                .await?;
            let e = batches[0].column(0).as_primitive::<Int64Type>().value(0);
            let c = batches[0].column(1).as_primitive::<Float64Type>().value(0);
            // domain.md worked example 1,1,2,2 -> 8; ESQ care = esq_01 = 2.
            assert_eq!((e, c), (8, 2.0), "{} / {value_type}", item.data_type());
        }
    }
    Ok(())
}

#[tokio::test]
async fn huge_and_negative_values_are_missing() -> Result<()> {
    let ctx = context(SessionConfig::new());
    let items = StringViewArray::from(vec!["somatic", "worries", "unhappy", "clingy", "afraid"]);
    let values = Int64Array::from(vec![
        Some(1),
        Some(i64::MAX),
        Some(i64::MIN),
        Some(-1),
        Some(4_294_967_297),
    ]);
    let batch = RecordBatch::try_from_iter(vec![
        ("item", Arc::new(items) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
    ])?;
    ctx.register_batch("t", batch)?;
    let batches = ctx
        .sql("SELECT sdq_scores(item, value)['emotional'] AS e FROM t")
        .await?
        .collect()
        .await?;
    assert!(batches[0].column(0).is_null(0));
    Ok(())
}

/// Every item code any of the three instruments knows, plus codes none scores.
fn item_pool() -> Vec<String> {
    let mut pool: Vec<String> = [
        "consid", "restles", "somatic", "shares", "tantrum", "loner", "obeys", "worries", "caring",
        "fidgety", "friend", "fights", "unhappy", "popular", "distrac", "clingy", "kind", "lies",
        "bullied", "helpout", "reflect", "steals", "oldbest", "afraid", "attends", "distres",
        "imphome", "impfrie", "impclas", "impleis", "ebddiff", "better", "helpful", "esq_good",
        "junk", "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    pool.extend((1..=47).map(|n| format!("rcads_{n:02}")));
    pool.extend((1..=12).map(|n| format!("esq_{n:02}")));
    pool
}

type Row = (i64, Option<usize>, Option<i32>);

fn row_strategy(questionnaires: i64) -> impl Strategy<Value = Row> {
    let pool = item_pool().len();
    (
        0..questionnaires,
        proptest::option::weighted(0.95, 0..pool),
        proptest::option::weighted(
            0.9,
            prop_oneof![8 => -1i32..5, 1 => Just(9), 1 => any::<i32>()],
        ),
    )
}

/// The rows as a table of `partitions` partitions of `batch_size`-row
/// batches; `dictionary`: the items dictionary-encoded over the whole pool
/// (so each batch's dictionary holds codes its rows do not use).
fn table(rows: &[Row], partitions: usize, batch_size: usize, dictionary: bool) -> Result<MemTable> {
    let pool = item_pool();
    let item_type = if dictionary {
        DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8))
    } else {
        DataType::Utf8View
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("questionnaire_id", DataType::Int64, false),
        Field::new("item", item_type, true),
        Field::new("value", DataType::Int32, true),
    ]));
    let codes: ArrayRef = Arc::new(StringArray::from_iter_values(&pool));
    let mut parts = vec![Vec::new(); partitions];
    let chunks: Vec<&[Row]> = rows.chunks(batch_size.max(1)).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(chunk.iter().map(|r| r.0).collect::<Int64Array>()),
                if dictionary {
                    let keys = chunk
                        .iter()
                        .map(|r| r.1.map(|i| i16::try_from(i).expect("a small pool")))
                        .collect::<Int16Array>();
                    Arc::new(DictionaryArray::new(keys, codes.clone()))
                } else {
                    Arc::new(StringViewArray::from_iter(
                        chunk.iter().map(|r| r.1.map(|i| pool[i].as_str())),
                    ))
                },
                Arc::new(chunk.iter().map(|r| r.2).collect::<Int32Array>()),
            ],
        )?;
        parts[i % partitions].push(batch);
    }
    MemTable::try_new(schema, parts)
}

/// Expected struct rows per questionnaire, computed with the kernels.
fn expected(rows: &[Row], function: &str) -> BTreeMap<i64, Vec<Option<String>>> {
    let pool = item_pool();
    let mut sdq: BTreeMap<i64, SdqAnswers> = BTreeMap::new();
    let mut rcads: BTreeMap<i64, RcadsAnswers> = BTreeMap::new();
    let mut esq: BTreeMap<i64, EsqAnswers> = BTreeMap::new();
    for &(q, item, value) in rows {
        // GROUP BY yields a row for every questionnaire in the table, even
        // one whose rows all have a NULL item (its scores are all NULL).
        let sdq_q = sdq.entry(q).or_default();
        let Some(item) = item else {
            rcads.entry(q).or_default();
            esq.entry(q).or_default();
            continue;
        };
        sdq_q.update(&pool[item], value);
        rcads.entry(q).or_default().update(&pool[item], value);
        esq.entry(q).or_default().update(&pool[item], value);
    }
    let int = |v: Option<i64>| v.map(|v| v.to_string());
    match function {
        "sdq" => sdq
            .into_iter()
            .map(|(q, a)| {
                let s = a.finish();
                let fields = [
                    s.emotional,
                    s.conduct,
                    s.hyperactivity,
                    s.peer,
                    s.prosocial,
                    s.total_difficulties,
                    s.externalising,
                    s.internalising,
                    s.impact,
                ];
                (q, fields.into_iter().map(int).collect())
            })
            .collect(),
        "rcads" => rcads
            .into_iter()
            .map(|(q, a)| {
                let s = a.finish(3);
                let fields = [
                    s.separation_anxiety,
                    s.generalised_anxiety,
                    s.panic,
                    s.social_phobia,
                    s.ocd,
                    s.depression,
                    s.total_anxiety,
                    s.total,
                ];
                (q, fields.into_iter().map(int).collect())
            })
            .collect(),
        _ => esq
            .into_iter()
            .map(|(q, a)| {
                let s = a.finish();
                let f = |v: Option<f64>| v.map(|v| format!("{v:?}"));
                (
                    q,
                    vec![f(s.care), f(s.environment), Some(s.answered.to_string())],
                )
            })
            .collect(),
    }
}

async fn grouped(ctx: &SessionContext, call: &str) -> Result<BTreeMap<i64, Vec<Option<String>>>> {
    let sql = format!("SELECT questionnaire_id, {call} AS s FROM t GROUP BY questionnaire_id");
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut out = BTreeMap::new();
    for batch in &batches {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            out.insert(ids.value(row), struct_row(batch.column(1), row));
        }
    }
    Ok(out)
}

/// Session configurations exercising each aggregation path.
fn configs() -> Vec<(&'static str, SessionConfig, usize)> {
    vec![
        (
            "single partition",
            SessionConfig::new().with_target_partitions(1),
            1,
        ),
        (
            "repartitioned, small batches",
            SessionConfig::new()
                .with_target_partitions(3)
                .with_batch_size(4),
            3,
        ),
        (
            "partial aggregation skipped",
            SessionConfig::new()
                .with_target_partitions(2)
                .with_batch_size(4)
                .set_usize(
                    "datafusion.execution.skip_partial_aggregation_probe_rows_threshold",
                    0,
                )
                .set_str(
                    "datafusion.execution.skip_partial_aggregation_probe_ratio_threshold",
                    "0.0",
                ),
            2,
        ),
    ]
}

fn check_all_paths(rows: &[Row]) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        for ((label, config, partitions), dictionary) in configs()
            .into_iter()
            .flat_map(|c| [(c.clone(), false), (c, true)])
        {
            let label = format!("{label}, dictionary items: {dictionary}");
            let ctx = context(config);
            ctx.register_table("t", Arc::new(table(rows, partitions, 5, dictionary)?))?;
            for (function, call) in [
                ("sdq", "sdq_scores(item, value)"),
                ("rcads", "rcads_scores(item, value, 3)"),
                ("esq", "esq_scores(item, value)"),
            ] {
                let actual = grouped(&ctx, call).await?;
                assert_eq!(actual, expected(rows, function), "{label}: {call}");
            }
            // Without GROUP BY (plain Accumulator, merged across partitions):
            // every row as one questionnaire.
            let one: Vec<Row> = rows.iter().map(|&(_, i, v)| (0, i, v)).collect();
            if !one.is_empty() {
                let sql = "SELECT 0 AS questionnaire_id, sdq_scores(item, value) AS s, \
                           rcads_scores(item, value, 3) AS r, esq_scores(item, value) AS e FROM t";
                let batches = ctx.sql(sql).await?.collect().await?;
                let batch = &batches[0];
                for (col, function) in [(1, "sdq"), (2, "rcads"), (3, "esq")] {
                    assert_eq!(
                        struct_row(batch.column(col), 0),
                        expected(&one, function)[&0],
                        "{label}: {function} without GROUP BY"
                    );
                }
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The grouped, repartitioned and skip-partial paths all agree with the
    /// kernels, whatever the row order and split into batches/partitions.
    #[test]
    fn every_aggregation_path_matches_the_kernels(
        rows in proptest::collection::vec(row_strategy(12), 0..400)
    ) {
        check_all_paths(&rows).unwrap();
    }
}

#[test]
fn complete_forms_all_paths() {
    // Complete SDQ, RCADS and ESQ forms for a few questionnaires, duplicated
    // rows included, so the scored (non-NULL) paths are exercised too.
    let pool = item_pool();
    let mut rows = Vec::new();
    for q in 0..6i64 {
        for (i, code) in pool.iter().enumerate() {
            let v = ((q + i as i64) % 3) as i32;
            rows.push((q, Some(i), Some(v)));
            if code.ends_with('1') {
                rows.push((q, Some(i), Some(v)));
            }
        }
    }
    rows.reverse();
    check_all_paths(&rows).unwrap();
}
