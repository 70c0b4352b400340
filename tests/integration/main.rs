//! The one integration-test binary: each module drives the real `onus` binary or the library
//! against real DuckDB files.

mod cli;
mod graph;
mod ingest;
mod interrupt;
mod tui;
mod util;
