//! MHSDS-shaped input (issue 13): a directory of Mental Health Services
//! Data Set tables read as the input contract.
//!
//! The MHSDS tables (`MHS001MPI`, `MHS101Referral`, `MHS201CareContact`,
//! `MHS204IndirectActivity`, `MHS606CodedScoreAssessmentRefer` and, when
//! present, `MHS607CodedScoreAssessmentAct`; each `<table>.parquet`, a
//! folder of Parquet files, or `<table>.csv`) are registered under their
//! own names with the columns cypdash reads checked like a contract table's,
//! so that a missing table or column, or a wrong type, names the MHSDS table
//! and column. The contract's tables are then views over them
//! ([`CONTRACT_VIEWS`]), so every chart, shared block and `validate` check
//! runs unchanged. `docs/mhsds.md` states the rules; the main ones:
//!
//! - a referral is resubmitted every month it is open: its record of the
//!   latest `UniqMonthID` is taken (same month twice: the higher
//!   `RecordNumber`, then the one with a discharge date);
//! - a person's attributes are those of their latest `MHS001MPI` record;
//! - partnership = provider (`OrgIDProv`), service = team
//!   (`UniqCareProfTeamLocalID` within its provider);
//! - contacts: `MHS201CareContact` rows as they are (direct when a
//!   consultation mechanism is given), `MHS204IndirectActivity` rows as
//!   attended (`5`) indirect contacts;
//! - coded scores become questionnaires with scale scores through
//!   `ref_scale_snomed` (concept -> measure, informant, scale, valid range);
//!   a non-numeric or out-of-range `PersScore` scores as missing and an
//!   unknown concept is not read, each counted by `validate`
//!   (`validate::MHSDS_CHECKS`).

use super::{locate, register_empty, register_input, scan, ContractProblem, InputTable};
use crate::contract::{self, col, optional_col, ContractType, TableSpec};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use std::path::Path;

/// The shape of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputShape {
    // MHSDS when the directory holds `MHS101Referral` and no `referral`
    // table, else the contract. (Plain comments: value docs would switch
    // every command's help to the long layout.)
    #[default]
    Auto,
    // cypdash's own contract (`docs/data-contract.md`).
    Contract,
    // An MHSDS extract (`docs/mhsds.md`).
    Mhsds,
}

impl InputShape {
    /// The shape to read `dir` as (`Auto` decided by its table names).
    pub fn resolve(self, dir: &Path) -> InputShape {
        match self {
            InputShape::Auto => {
                let has = |spec: &TableSpec| locate(dir, spec).is_ok();
                if has(&MHS101) && !has(&contract::REFERRAL) {
                    InputShape::Mhsds
                } else {
                    InputShape::Contract
                }
            }
            shape => shape,
        }
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputShape::Auto => "auto",
            InputShape::Contract => "contract",
            InputShape::Mhsds => "mhsds",
        })
    }
}

use ContractType::{Date, Int64, Timestamp, Utf8};

/// Patient index: one row per person, provider and month.
pub const MHS001: TableSpec = TableSpec {
    name: "MHS001MPI",
    columns: &[
        col("Person_ID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("OrgIDProv", Utf8, false),
        col("Gender", Utf8, true),
        col("NHSDEthnicity", Utf8, true),
        optional_col("PersonBirthDate", Date),
        optional_col("RecordNumber", Int64),
    ],
};

/// Referrals: one row per referral and month it is open.
pub const MHS101: TableSpec = TableSpec {
    name: "MHS101Referral",
    columns: &[
        col("UniqServReqID", Utf8, false),
        col("Person_ID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("OrgIDProv", Utf8, false),
        col("ReferralRequestReceivedDate", Date, false),
        col("ServDischDate", Date, true),
        col("SourceOfReferralMH", Utf8, true),
        col("ReferClosReason", Utf8, true),
        col("UniqCareProfTeamLocalID", Utf8, false),
        optional_col("RecordNumber", Int64),
    ],
};

/// Care contacts.
pub const MHS201: TableSpec = TableSpec {
    name: "MHS201CareContact",
    columns: &[
        col("UniqCareContID", Utf8, false),
        col("MHS201UniqID", Int64, false),
        col("UniqServReqID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("CareContDate", Date, false),
        col("AttendStatus", Utf8, false),
        col("ConsMechanismMH", Utf8, true),
    ],
};

/// Indirect activity (no attendance in MHSDS).
pub const MHS204: TableSpec = TableSpec {
    name: "MHS204IndirectActivity",
    columns: &[
        col("MHS204UniqID", Int64, false),
        col("UniqServReqID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("IndirectActDate", Date, false),
    ],
};

/// Coded scores of assessments at referral level, each with its own date.
pub const MHS606: TableSpec = TableSpec {
    name: "MHS606CodedScoreAssessmentRefer",
    columns: &[
        col("MHS606UniqID", Int64, false),
        col("UniqServReqID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("CodedAssToolType", Utf8, false),
        col("PersScore", Utf8, true),
        col("AssToolCompTimestamp", Timestamp, false),
    ],
};

/// Coded scores of assessments in a care activity (optional): dated by
/// their contact.
pub const MHS607: TableSpec = TableSpec {
    name: "MHS607CodedScoreAssessmentAct",
    columns: &[
        col("MHS607UniqID", Int64, false),
        col("UniqServReqID", Utf8, false),
        col("UniqCareContID", Utf8, false),
        col("UniqMonthID", Int64, false),
        col("CodedAssToolType", Utf8, false),
        col("PersScore", Utf8, true),
    ],
};

/// `partnership.csv` (optional, not an MHSDS table): provider names and
/// collaboratives.
pub const PARTNERSHIP_CSV: TableSpec = TableSpec {
    name: "partnership",
    columns: &[
        col("OrgIDProv", Utf8, false),
        col("partnership_id", Int64, false),
        col("partnership_name", Utf8, false),
        col("collaborative", Utf8, false),
    ],
};

/// The MHSDS tables a directory must hold.
pub const REQUIRED: &[TableSpec] = &[MHS001, MHS101, MHS201, MHS204, MHS606];

/// The name `partnership.csv` is registered under (the contract's
/// `partnership` is the view over it).
const PARTNERSHIP_TABLE: &str = "mhsds_partnership";

/// Register the MHSDS tables found in `dir` and the contract views over
/// them. Returns the tables found and every problem (missing tables and
/// columns, wrong types) at once; the views exist only when there is none.
pub(super) async fn register(
    ctx: &SessionContext,
    sources: &scan::ScanSources,
    dir: &Path,
) -> Result<(Vec<InputTable>, Vec<ContractProblem>), DataFusionError> {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    let mut add = |found: Result<InputTable, Vec<ContractProblem>>| match found {
        Ok(table) => inputs.push(table),
        Err(mut p) => problems.append(&mut p),
    };
    for spec in REQUIRED {
        add(register_input(ctx, sources, dir, spec).await?);
    }
    let with_607 = !matches!(
        locate(dir, &MHS607),
        Err(ContractProblem::MissingTable { .. })
    );
    if with_607 {
        add(register_input(ctx, sources, dir, &MHS607).await?);
    } else {
        register_empty(ctx, &MHS607)?;
    }
    let with_partnerships = !matches!(
        locate(dir, &PARTNERSHIP_CSV),
        Err(ContractProblem::MissingTable { .. })
    );
    if with_partnerships {
        let found = register_input(ctx, sources, dir, &PARTNERSHIP_CSV).await?;
        if found.is_ok() {
            // Registered under the spec's name; move it out of the way of
            // the contract's `partnership` view.
            if let Some(table) = ctx.deregister_table(datafusion::common::TableReference::bare(
                PARTNERSHIP_CSV.name,
            ))? {
                ctx.register_table(PARTNERSHIP_TABLE, table)?;
            }
        }
        add(found);
    }
    if !problems.is_empty() {
        return Ok((inputs, problems));
    }
    let provider = if with_partnerships {
        PROVIDER_FROM_CSV
    } else {
        PROVIDER_BY_CODE
    };
    ctx.register_table("mhsds_provider", ctx.sql(provider).await?.into_view())?;
    for (name, sql) in CONTRACT_VIEWS {
        let view = ctx.sql(sql).await?.into_view();
        ctx.register_table(*name, view)?;
    }
    register_empty(ctx, &contract::QUESTIONNAIRE_ITEM)?;
    Ok((inputs, problems))
}

/// Providers numbered and named by `partnership.csv`.
const PROVIDER_FROM_CSV: &str = "\
    SELECT \"OrgIDProv\" AS org, partnership_id, partnership_name, collaborative \
    FROM mhsds_partnership";

/// Providers numbered in code order, named by their code, in one
/// collaborative.
const PROVIDER_BY_CODE: &str = "\
    SELECT org, CAST(dense_rank() OVER (ORDER BY org) AS BIGINT) AS partnership_id, \
        org AS partnership_name, 'All providers' AS collaborative \
    FROM (SELECT DISTINCT \"OrgIDProv\" AS org FROM \"MHS101Referral\")";

/// Each referral's record of its latest month.
const LATEST_REFERRAL: &str = "\
    SELECT * FROM ( \
        SELECT *, row_number() OVER ( \
            PARTITION BY \"UniqServReqID\" \
            ORDER BY \"UniqMonthID\" DESC, \"RecordNumber\" DESC NULLS LAST, \
                \"ServDischDate\" DESC NULLS LAST) AS record_rank \
        FROM \"MHS101Referral\") \
    WHERE record_rank = 1";

/// The teams (provider, local team id) of the referrals, numbered in
/// (provider, team) order.
const TEAM: &str = "\
    SELECT org, team, CAST(dense_rank() OVER (ORDER BY org, team) AS BIGINT) AS service_id \
    FROM (SELECT DISTINCT \"OrgIDProv\" AS org, \"UniqCareProfTeamLocalID\" AS team \
          FROM \"MHS101Referral\" WHERE \"UniqCareProfTeamLocalID\" IS NOT NULL)";

/// The coded scores of both assessment tables, one row each, with the
/// concept's cypdash measure, informant and scale (NULL when the concept is
/// unknown or names no scale), the usable score (NULL when PersScore is not
/// a number or is outside the concept's valid range) and the date.
/// `uniq` orders the rows: MHS606UniqID x 2, MHS607UniqID x 2 + 1.
pub const CODED_SCORE: &str = "\
    WITH contact_date AS ( \
        SELECT \"UniqCareContID\" AS contact, \"UniqServReqID\" AS referral, \
            min(\"CareContDate\") AS contact_date \
        FROM \"MHS201CareContact\" GROUP BY \"UniqCareContID\", \"UniqServReqID\"), \
    assessment AS ( \
        SELECT CAST(\"MHS606UniqID\" AS BIGINT) * 2 AS uniq, \
            CAST(\"MHS606UniqID\" AS BIGINT) AS row_id, \"UniqServReqID\" AS referral, \
            \"CodedAssToolType\" AS concept, \"PersScore\" AS pers_score, \
            CAST(\"AssToolCompTimestamp\" AS DATE) AS completed_date \
        FROM \"MHS606CodedScoreAssessmentRefer\" \
        UNION ALL \
        SELECT CAST(a.\"MHS607UniqID\" AS BIGINT) * 2 + 1, CAST(a.\"MHS607UniqID\" AS BIGINT), \
            a.\"UniqServReqID\", \
            a.\"CodedAssToolType\", a.\"PersScore\", c.contact_date \
        FROM \"MHS607CodedScoreAssessmentAct\" a \
        LEFT JOIN contact_date c \
            ON c.contact = a.\"UniqCareContID\" AND c.referral = a.\"UniqServReqID\"), \
    concept AS ( \
        SELECT snomed_id, measure, coalesce(nullif(informant, ''), 'self') AS informant, \
            scale, valid_min, valid_max \
        FROM ref_scale_snomed \
        WHERE measure IN ('SDQ', 'RCADS', 'GBO') AND scale IS NOT NULL AND scale <> '') \
    SELECT a.uniq, a.row_id, a.referral, a.concept, a.pers_score, a.completed_date, \
        l.listed_id IS NOT NULL AS listed, c.snomed_id IS NOT NULL AS known, \
        c.measure, c.informant, c.scale, c.valid_min, c.valid_max, \
        try_cast(trim(a.pers_score) AS DOUBLE) AS number, \
        CASE WHEN try_cast(trim(a.pers_score) AS DOUBLE) BETWEEN c.valid_min AND c.valid_max \
            THEN try_cast(trim(a.pers_score) AS DOUBLE) END AS score \
    FROM assessment a \
    LEFT JOIN (SELECT DISTINCT snomed_id AS listed_id FROM ref_scale_snomed) l \
        ON l.listed_id = trim(a.concept) \
    LEFT JOIN concept c ON c.snomed_id = trim(a.concept)";

/// The scale scores grouped into questionnaires: the rows of one referral,
/// measure, informant and completion date form one questionnaire, except
/// that a scale given twice starts a second one (its k-th row goes to the
/// k-th questionnaire). The questionnaire's id is its lowest `uniq`.
const GROUPED_SCORE: &str = "\
    SELECT *, min(uniq) OVER ( \
            PARTITION BY referral, measure, informant, completed_date, occurrence) \
        AS questionnaire_id \
    FROM ( \
        SELECT *, row_number() OVER ( \
                PARTITION BY referral, measure, informant, completed_date, scale \
                ORDER BY uniq) AS occurrence \
        FROM mhsds_coded_score \
        WHERE scale IS NOT NULL AND completed_date IS NOT NULL)";

/// The contract's tables as views over the MHSDS tables, in registration
/// order (each may read those before it). Ids are the MHSDS ids read as
/// numbers (decimal text); `try_cast` leaves any other id NULL, which
/// `validate` reports as a NULL key.
pub const CONTRACT_VIEWS: &[(&str, &str)] = &[
    (
        "partnership",
        "SELECT partnership_id, partnership_name, collaborative FROM mhsds_provider",
    ),
    ("mhsds_team", TEAM),
    (
        "service",
        "SELECT t.service_id, p.partnership_id, t.team AS service_name, \
            CAST(NULL AS VARCHAR) AS service_type \
         FROM mhsds_team t LEFT JOIN mhsds_provider p ON p.org = t.org",
    ),
    (
        "person",
        "SELECT try_cast(\"Person_ID\" AS BIGINT) AS person_id, \
            \"PersonBirthDate\" AS birth_date, \"Gender\" AS gender, \
            \"NHSDEthnicity\" AS ethnicity \
         FROM ( \
            SELECT *, row_number() OVER ( \
                PARTITION BY \"Person_ID\" \
                ORDER BY \"UniqMonthID\" DESC, \"RecordNumber\" DESC NULLS LAST, \
                    \"OrgIDProv\") AS record_rank \
            FROM \"MHS001MPI\") \
         WHERE record_rank = 1",
    ),
    ("mhsds_latest_referral", LATEST_REFERRAL),
    (
        "referral",
        "SELECT try_cast(r.\"UniqServReqID\" AS BIGINT) AS referral_id, \
            try_cast(r.\"Person_ID\" AS BIGINT) AS person_id, t.service_id, \
            r.\"ReferralRequestReceivedDate\" AS referral_date, \
            r.\"SourceOfReferralMH\" AS referral_source, \
            r.\"ServDischDate\" AS closure_date, r.\"ReferClosReason\" AS closure_reason \
         FROM mhsds_latest_referral r \
         LEFT JOIN mhsds_team t \
            ON t.org = r.\"OrgIDProv\" AND t.team = r.\"UniqCareProfTeamLocalID\"",
    ),
    (
        "contact",
        "SELECT CAST(\"MHS201UniqID\" AS BIGINT) * 2 AS contact_id, \
            try_cast(\"UniqServReqID\" AS BIGINT) AS referral_id, \
            \"CareContDate\" AS contact_date, \"AttendStatus\" AS attendance, \
            \"ConsMechanismMH\" IS NOT NULL AS direct \
         FROM ( \
            SELECT *, row_number() OVER ( \
                PARTITION BY \"UniqCareContID\" \
                ORDER BY \"UniqMonthID\" DESC, \"MHS201UniqID\" DESC) AS record_rank \
            FROM \"MHS201CareContact\") \
         WHERE record_rank = 1 \
         UNION ALL \
         SELECT CAST(\"MHS204UniqID\" AS BIGINT) * 2 + 1, \
            try_cast(\"UniqServReqID\" AS BIGINT), \"IndirectActDate\", '5', false \
         FROM \"MHS204IndirectActivity\"",
    ),
    ("mhsds_coded_score", CODED_SCORE),
    ("mhsds_grouped_score", GROUPED_SCORE),
    (
        "questionnaire",
        "SELECT DISTINCT questionnaire_id, try_cast(referral AS BIGINT) AS referral_id, \
            CAST(NULL AS BIGINT) AS contact_id, measure, informant, \
            CAST(NULL AS VARCHAR) AS version, completed_date \
         FROM mhsds_grouped_score",
    ),
    (
        "questionnaire_score",
        "SELECT questionnaire_id, scale, score FROM mhsds_grouped_score",
    ),
];

/// A contract table, the MHSDS table(s) it comes from, and its columns'
/// MHSDS names (contract column, MHSDS column).
pub type Source = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Where each contract table comes from in an MHSDS extract, and its
/// columns' MHSDS names: `validate` names these in its findings.
pub const SOURCES: &[Source] = &[
    (
        "partnership",
        "MHS101Referral (OrgIDProv) / partnership.csv",
        &[("partnership_id", "OrgIDProv")],
    ),
    (
        "service",
        "MHS101Referral (UniqCareProfTeamLocalID)",
        &[
            ("service_id", "UniqCareProfTeamLocalID"),
            ("partnership_id", "OrgIDProv"),
        ],
    ),
    (
        "person",
        "MHS001MPI",
        &[
            ("person_id", "Person_ID"),
            ("birth_date", "PersonBirthDate"),
            ("gender", "Gender"),
            ("ethnicity", "NHSDEthnicity"),
        ],
    ),
    (
        "referral",
        "MHS101Referral",
        &[
            ("referral_id", "UniqServReqID"),
            ("person_id", "Person_ID"),
            ("service_id", "UniqCareProfTeamLocalID"),
            ("referral_date", "ReferralRequestReceivedDate"),
            ("referral_source", "SourceOfReferralMH"),
            ("closure_date", "ServDischDate"),
            ("closure_reason", "ReferClosReason"),
        ],
    ),
    (
        "contact",
        "MHS201CareContact / MHS204IndirectActivity",
        &[
            ("referral_id", "UniqServReqID"),
            ("contact_date", "CareContDate / IndirectActDate"),
            ("attendance", "AttendStatus"),
        ],
    ),
    (
        "questionnaire",
        "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        &[
            ("referral_id", "UniqServReqID"),
            ("completed_date", "AssToolCompTimestamp / CareContDate"),
        ],
    ),
    (
        "questionnaire_score",
        "MHS606CodedScoreAssessmentRefer / MHS607CodedScoreAssessmentAct",
        &[("score", "PersScore"), ("scale", "CodedAssToolType")],
    ),
];

/// A finding about a contract view, in MHSDS words: the table it comes
/// from (`MHS101Referral (as referral)`) and the problem with the MHSDS
/// names of the columns it mentions (`NULL referral_date
/// (ReferralRequestReceivedDate)`).
pub fn relabel(table: &str, problem: &str) -> (String, String) {
    let Some((_, source, columns)) = SOURCES.iter().find(|(t, _, _)| *t == table) else {
        return (table.to_string(), problem.to_string());
    };
    let named: Vec<String> = columns
        .iter()
        .filter(|(c, _)| {
            problem
                .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .any(|w| w == *c)
        })
        .map(|(c, m)| format!("{c} = {m}"))
        .collect();
    let problem = if named.is_empty() {
        problem.to_string()
    } else {
        format!("{problem} ({})", named.join(", "))
    };
    (format!("{source} (as {table})"), problem)
}
