//! The one integration-test binary: each module drives the real `onus` binary or the library
//! against real DuckDB files.

mod analysis;
mod browser;
mod chat;
mod cli;
mod cloudtrail;
mod detectors;
mod fuzz_inputs;
mod graph;
mod hostile;
mod ingest;
mod integrity;
mod interrupt;
mod k8s_audit;
mod mcp;
mod otlp;
mod report;
mod synth;
mod tui;
mod util;
