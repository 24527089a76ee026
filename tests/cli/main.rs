//! End-to-end tests of the command line, the REPL and the exports (issue #5).
//!
//! The real binary runs over the tiny fixture (`tests/fixtures/tiny`), with
//! the built-in queries (`key/partnerships` is the stable target) or the
//! test charts in `tests/cli/queries` (`--queries`): `key/units`, `who/types`
//! (every export type, a text that needs CSV quoting, NULLs) and
//! `outcomes/broken` (fails while running). Outputs are insta snapshots with
//! times, paths and fingerprints filtered; review changes with
//! `cargo insta review` (or `INSTA_UPDATE=always` and `git diff`).

mod cache;
#[cfg(feature = "cluster")]
mod cluster;
mod commands;
mod common;
mod errors;
mod exports;
#[cfg(unix)]
mod pty;
mod repl;
