//! Reference tables shipped with cypdash (code lists, SDQ bands,
//! reliable-change parameters, item labels), registered beside the input
//! tables. Each lives in `data/reference/<name>.csv` under version control,
//! with a `source` column; the files are compiled into the binary. A file of
//! the same name in the user's data directory replaces the shipped one.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One shipped reference table: its name, columns and embedded content.
#[derive(Debug)]
pub struct ReferenceSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub columns: &'static [(&'static str, DataType)],
    pub shipped: &'static str,
}

const CODE_LIST: &[(&str, DataType)] = &[
    ("code", DataType::Utf8),
    ("label", DataType::Utf8),
    ("group_label", DataType::Utf8),
    ("sort_order", DataType::Int64),
    ("source", DataType::Utf8),
];

/// Every reference table.
pub const REFERENCES: &[ReferenceSpec] = &[
    ReferenceSpec {
        name: "ref_gender",
        description: "NHS person stated gender codes, labels and dashboard groups",
        columns: CODE_LIST,
        shipped: include_str!("../data/reference/ref_gender.csv"),
    },
    ReferenceSpec {
        name: "ref_ethnicity",
        description: "NHS ethnic category codes, labels and dashboard groups",
        columns: CODE_LIST,
        shipped: include_str!("../data/reference/ref_ethnicity.csv"),
    },
    ReferenceSpec {
        name: "ref_referral_source",
        description: "NHS source-of-referral codes, labels and groups",
        columns: CODE_LIST,
        shipped: include_str!("../data/reference/ref_referral_source.csv"),
    },
    ReferenceSpec {
        name: "ref_closure_reason",
        description: "Referral closure reasons, labels and groups",
        columns: CODE_LIST,
        shipped: include_str!("../data/reference/ref_closure_reason.csv"),
    },
    ReferenceSpec {
        name: "ref_attendance",
        description: "NHS attended-or-did-not-attend codes; `attended` marks 5 and 6",
        columns: &[
            ("code", DataType::Utf8),
            ("label", DataType::Utf8),
            ("group_label", DataType::Utf8),
            ("attended", DataType::Boolean),
            ("sort_order", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_attendance.csv"),
    },
    ReferenceSpec {
        name: "ref_age_band",
        description: "Age bands at referral (whole years, inclusive)",
        columns: &[
            ("band", DataType::Utf8),
            ("min_age", DataType::Int64),
            ("max_age", DataType::Int64),
            ("sort_order", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_age_band.csv"),
    },
    ReferenceSpec {
        name: "ref_sdq_band",
        description: "SDQ score bands per informant, scale and banding scheme",
        columns: &[
            ("informant", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("scheme", DataType::Utf8),
            ("band", DataType::Utf8),
            ("band_order", DataType::Int64),
            ("min_score", DataType::Int64),
            ("max_score", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_sdq_band.csv"),
    },
    ReferenceSpec {
        name: "ref_reliable_change",
        description: "Reliable-change parameters and clinical cut-offs per measure, informant and scale",
        columns: &[
            ("measure", DataType::Utf8),
            ("informant", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("sd1", DataType::Float64),
            ("reliability", DataType::Float64),
            ("z", DataType::Float64),
            ("min_change", DataType::Float64),
            ("lower_is_better", DataType::Boolean),
            ("clinical_cutoff", DataType::Float64),
            ("status", DataType::Utf8),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_reliable_change.csv"),
    },
    ReferenceSpec {
        name: "ref_item",
        description: "Labels of Current View descriptors and complexity factors and ESQ items",
        columns: &[
            ("measure", DataType::Utf8),
            ("item", DataType::Utf8),
            ("label", DataType::Utf8),
            ("item_group", DataType::Utf8),
            ("sort_order", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_item.csv"),
    },
    ReferenceSpec {
        name: "ref_item_range",
        description: "Item codes of every measure and their valid response range (other_valid: an extra valid code such as ESQ 9 = don't know; no range: free-text item)",
        columns: &[
            ("measure", DataType::Utf8),
            ("item", DataType::Utf8),
            ("min_value", DataType::Int64),
            ("max_value", DataType::Int64),
            ("other_valid", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_item_range.csv"),
    },
    ReferenceSpec {
        name: "ref_scale",
        description: "Scales of the outcome measures: label, range, direction and chart order",
        columns: &[
            ("measure", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("label", DataType::Utf8),
            ("min_score", DataType::Int64),
            ("max_score", DataType::Int64),
            ("lower_is_better", DataType::Boolean),
            ("sort_order", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_scale.csv"),
    },
    // The national CYP outcome measures (docs/definitions.md, "National
    // method"): the three tables of shared/spec/national/, copied as they
    // are, and the national breakdown categories.
    ReferenceSpec {
        name: "ref_scale_snomed",
        description: "SNOMED CT concepts of the assessment scales (NHS England): valid range, whether the national CYP outcome measures use it and its rater; to_mhsds = Y maps a cypdash measure, informant and scale to its concept",
        columns: &[
            ("snomed_id", DataType::Utf8),
            ("preferred_term", DataType::Utf8),
            ("tool_name", DataType::Utf8),
            ("category", DataType::Utf8),
            ("snomed_version", DataType::Utf8),
            ("valid_min", DataType::Float64),
            ("valid_max", DataType::Float64),
            ("cypmh_flag", DataType::Utf8),
            ("rater_mh_ass", DataType::Utf8),
            ("in_national_outcomes", DataType::Utf8),
            ("national_rater", DataType::Utf8),
            ("threshold", DataType::Float64),
            ("measure", DataType::Utf8),
            ("informant", DataType::Utf8),
            ("version", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("item", DataType::Utf8),
            ("to_mhsds", DataType::Utf8),
            ("note", DataType::Utf8),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_scale_snomed.csv"),
    },
    ReferenceSpec {
        name: "ref_reliable_change_threshold",
        description: "National reliable-change thresholds and direction per concept (by preferred term), NHS England's CYP outcome measures",
        columns: &[
            ("preferred_term", DataType::Utf8),
            ("tool_name", DataType::Utf8),
            ("threshold", DataType::Float64),
            ("source_direction", DataType::Utf8),
            ("lower_is_better", DataType::Boolean),
            ("in_national_outcomes", DataType::Utf8),
            ("source_comment", DataType::Utf8),
            ("measure", DataType::Utf8),
            ("informant", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("note", DataType::Utf8),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_reliable_change_threshold.csv"),
    },
    ReferenceSpec {
        name: "ref_rcads_t_score_norms",
        description: "RCADS T-score norms (mean, SD) per concept, gender (M, F) and age 8-17, NHS England's CYP outcome measures",
        columns: &[
            ("gender", DataType::Utf8),
            ("age", DataType::Int64),
            ("preferred_term", DataType::Utf8),
            ("informant", DataType::Utf8),
            ("scale", DataType::Utf8),
            ("sample_mean", DataType::Float64),
            ("sample_sd", DataType::Float64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_rcads_t_score_norms.csv"),
    },
    ReferenceSpec {
        name: "ref_national_breakdown",
        description: "Categories of the national breakdowns: age band at referral (min_age..max_age), gender and upper ethnic group (code -> label); codes not listed are UNKNOWN",
        columns: &[
            ("dimension", DataType::Utf8),
            ("code", DataType::Utf8),
            ("min_age", DataType::Int64),
            ("max_age", DataType::Int64),
            ("label", DataType::Utf8),
            ("sort_order", DataType::Int64),
            ("source", DataType::Utf8),
        ],
        shipped: include_str!("../data/reference/ref_national_breakdown.csv"),
    },
];

impl ReferenceSpec {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

/// Where a registered reference table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceOrigin {
    Shipped,
    Override(PathBuf),
}

/// A reference table as registered.
#[derive(Debug, Clone)]
pub struct LoadedReference {
    pub name: &'static str,
    pub origin: ReferenceOrigin,
    pub rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference table `{table}` ({origin}): {message}")]
    Invalid {
        table: &'static str,
        origin: String,
        message: String,
    },
    #[error("reference table `{table}`: {source}")]
    Register {
        table: &'static str,
        source: datafusion::error::DataFusionError,
    },
}

/// Parse one reference CSV into batches, checking its header against the
/// expected columns.
pub fn parse(
    spec: &ReferenceSpec,
    text: &str,
    origin: &str,
) -> Result<Vec<RecordBatch>, ReferenceError> {
    let invalid = |message: String| ReferenceError::Invalid {
        table: spec.name,
        origin: origin.to_string(),
        message,
    };
    let text = text.trim_start_matches('\u{feff}');
    let header = text.lines().next().unwrap_or_default();
    let found: Vec<&str> = header.split(',').map(|s| s.trim()).collect();
    let expected: Vec<&str> = spec.columns.iter().map(|(n, _)| *n).collect();
    if found != expected {
        return Err(invalid(format!(
            "header is `{}`, expected `{}`",
            found.join(","),
            expected.join(",")
        )));
    }
    let reader = datafusion::arrow::csv::ReaderBuilder::new(spec.schema())
        .with_header(true)
        .build(Cursor::new(text.as_bytes()))
        .map_err(|e| invalid(e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))
}

/// Register every reference table on `ctx`, taking a same-named CSV in
/// `data_dir` over the shipped one.
pub fn register_all(
    ctx: &SessionContext,
    data_dir: &Path,
) -> Result<Vec<LoadedReference>, ReferenceError> {
    let mut loaded = Vec::with_capacity(REFERENCES.len());
    for spec in REFERENCES {
        let user = data_dir.join(format!("{}.csv", spec.name));
        let (batches, origin) = if user.is_file() {
            let text = std::fs::read_to_string(&user).map_err(|e| ReferenceError::Invalid {
                table: spec.name,
                origin: user.display().to_string(),
                message: e.to_string(),
            })?;
            (
                parse(spec, &text, &user.display().to_string())?,
                ReferenceOrigin::Override(user),
            )
        } else {
            (
                parse(spec, spec.shipped, "shipped")?,
                ReferenceOrigin::Shipped,
            )
        };
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let table = MemTable::try_new(spec.schema(), vec![batches]).map_err(|source| {
            ReferenceError::Register {
                table: spec.name,
                source,
            }
        })?;
        ctx.register_table(spec.name, Arc::new(table))
            .map_err(|source| ReferenceError::Register {
                table: spec.name,
                source,
            })?;
        loaded.push(LoadedReference {
            name: spec.name,
            origin,
            rows,
        });
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_table_parses_and_cites_a_source() {
        for spec in REFERENCES {
            let batches = parse(spec, spec.shipped, "shipped").unwrap();
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert!(rows > 0, "{} is empty", spec.name);
            let idx = spec.schema().index_of("source").unwrap();
            for b in &batches {
                assert_eq!(
                    b.column(idx).null_count(),
                    0,
                    "{} has a row without a source",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn a_wrong_header_names_the_table() {
        let err = parse(&REFERENCES[0], "code,label\n1,Male\n", "x.csv").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("ref_gender") && msg.contains("x.csv") && msg.contains("expected"),
            "{msg}"
        );
    }
}
