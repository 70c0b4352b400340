//! The one integration-test binary: each module drives the real `onus` binary or the library
//! against real DuckDB files.

mod analysis;
mod cli;
mod detectors;
mod graph;
mod ingest;
mod interrupt;
mod synth;
mod util;
