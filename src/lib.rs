//! cypdash: the CYP IAPT partnership dashboard as SQL on Apache DataFusion.
//!
//! Layers, each depending only on those above it:
//! - [`contract`]: the input tables and their columns;
//! - [`reference`]: shipped reference tables;
//! - [`engine`]: the one session builder;
//! - [`generate`], [`validate`]: synthetic data and data checks;
//! - [`output`], [`cli`]: printing and the command line.

pub mod catalog;
pub mod cli;
pub mod contract;
pub mod dashboard;
pub mod engine;
pub mod generate;
pub mod output;
pub mod reference;
pub mod validate;
