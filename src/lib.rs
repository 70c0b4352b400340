//! onus: investigate incidents caused by authorised AI agents.
//!
//! The crate is a library with a thin binary. Evidence files are read by [`ingest`] into the
//! DuckDB evidence store of [`store`], using the domain types of [`model`]. The command line in
//! [`cli`] and the interactive [`tui`] are the only places that print or draw.
//!
//! See `docs/ARCHITECTURE.md` for the module map and the dependency rules.

#[cfg(feature = "store")]
#[cfg(feature = "store")]
pub mod analysis;
#[cfg(feature = "store")]
pub mod cli;
#[cfg(feature = "store")]
pub mod graph;
pub mod ingest;
pub mod model;
#[cfg(feature = "store")]
pub mod replay;
#[cfg(feature = "store")]
pub mod report;
#[cfg(feature = "store")]
pub mod store;
pub mod synth;
pub mod text;
#[cfg(feature = "store")]
pub mod tui;

/// Version of this build of onus, recorded with every ingested source and in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
