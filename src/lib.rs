//! cypdash: the CYP IAPT partnership dashboard as SQL on Apache DataFusion.
//!
//! Layers, each depending only on those above it:
//! - [`contract`]: the input tables and their columns;
//! - [`reference`]: shipped reference tables;
//! - [`engine`]: the one session builder;
//! - [`generate`], [`validate`]: synthetic data and data checks;
//! - [`catalog`], [`disclosure`], [`dashboard`]: chart files, disclosure
//!   control of their results, and running them;
//! - [`output`], [`export`]: printing results and BI-ready exports;
//! - [`cli`], [`repl`]: the command line and the interactive shell.

pub mod bench;
pub mod catalog;
pub mod cli;
pub mod contract;
pub mod dashboard;
pub mod disclosure;
pub mod engine;
pub mod export;
pub mod generate;
pub mod output;
pub mod reference;
pub mod repl;
pub mod report;
pub mod validate;
