//! cypdash: the CYP IAPT partnership dashboard as SQL on Apache DataFusion.
//!
//! Layers, each depending only on those above it:
//! - [`contract`]: the input tables and their columns;
//! - [`reference`]: shipped reference tables;
//! - [`engine`]: the one session builder;
//! - [`generate`], [`validate`], [`sort`]: synthetic data, data checks,
//!   and a copy of a data directory sorted by the tables' keys;
//! - [`catalog`], [`disclosure`], [`dashboard`]: chart files, disclosure
//!   control of their results, and running them;
//! - [`exec`]: ad hoc SQL over the dashboard's session;
//! - [`output`], [`export`], [`docs`]: printing results, BI-ready exports,
//!   and the catalogue's documentation (`list`, `describe`, `functions`);
//! - [`cli`], [`repl`], [`serve`]: the command line, the interactive shell,
//!   and the PostgreSQL-wire server for BI tools;
//! - `cluster` (`--features cluster`): the Ballista scheduler, executor and
//!   client that run the same queries on a cluster.

pub mod bench;
pub mod block_cache;
pub mod catalog;
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod contract;
pub mod dashboard;
pub mod disclosure;
pub mod docs;
pub mod engine;
pub mod exec;
pub mod export;
pub mod generate;
pub mod output;
pub mod process;
pub mod reference;
pub mod repl;
pub mod report;
pub mod serve;
pub mod sort;
pub mod validate;

#[cfg(test)]
mod layering;
