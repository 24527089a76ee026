//! Throughput of `sdq_scores` over a long item table held in memory:
//! 400 000 questionnaires x 25 items = 10 million rows (Int64
//! questionnaire_id, Utf8View item, Int32 value), grouped by questionnaire.
//! Baseline in the same run: `sum(value)` with the same grouping.
//!
//! Run with `cargo bench -p cypdash-udfs --bench scoring`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cypdash_udfs::scoring;
use datafusion::arrow::array::{Int32Array, Int64Array, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

const QUESTIONNAIRES: i64 = 400_000;
const BATCH_ROWS: usize = 8192;

/// The 25 SDQ scale items in form order.
const ITEMS: [&str; 25] = [
    "consid", "restles", "somatic", "shares", "tantrum", "loner", "obeys", "worries", "caring",
    "fidgety", "friend", "fights", "unhappy", "popular", "distrac", "clingy", "kind", "lies",
    "bullied", "helpout", "reflect", "steals", "oldbest", "afraid", "attends",
];

fn item_table(partitions: usize) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("questionnaire_id", DataType::Int64, false),
        Field::new("item", DataType::Utf8View, false),
        Field::new("value", DataType::Int32, true),
    ]));
    let rows = QUESTIONNAIRES as usize * ITEMS.len();
    let mut parts = vec![Vec::new(); partitions];
    let mut start = 0;
    while start < rows {
        let end = (start + BATCH_ROWS).min(rows);
        let ids: Int64Array = (start..end).map(|r| (r / ITEMS.len()) as i64).collect();
        let items: StringViewArray = (start..end).map(|r| Some(ITEMS[r % ITEMS.len()])).collect();
        // Mostly valid answers, with some NULL and out-of-range values.
        let values: Int32Array = (start..end)
            .map(|r| match r % 97 {
                0 => None,
                1 => Some(9),
                _ => Some(((r * 7 + r / 25) % 3) as i32),
            })
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(ids), Arc::new(items), Arc::new(values)],
        )
        .expect("valid batch");
        parts[(start / BATCH_ROWS) % partitions].push(batch);
        start = end;
    }
    MemTable::try_new(schema, parts).expect("valid table")
}

/// Run `sql` and count the result rows.
async fn count_rows(ctx: &SessionContext, sql: &str) -> Result<usize> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

fn bench_scoring(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = SessionContext::new();
    scoring::register(&ctx);
    let partitions = ctx.state().config().target_partitions();
    ctx.register_table("t", Arc::new(item_table(partitions)))
        .expect("register table");

    let rows = QUESTIONNAIRES as u64 * ITEMS.len() as u64;
    let mut group = c.benchmark_group("group_by_questionnaire");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(rows));
    for (name, sql) in [
        (
            "sdq_scores",
            "SELECT questionnaire_id, sdq_scores(item, value) AS s FROM t GROUP BY questionnaire_id",
        ),
        (
            "sum_baseline",
            "SELECT questionnaire_id, sum(value) AS s FROM t GROUP BY questionnaire_id",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let n = rt.block_on(count_rows(&ctx, sql)).expect("query runs");
                assert_eq!(n, QUESTIONNAIRES as usize);
                black_box(n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_scoring);
criterion_main!(benches);
