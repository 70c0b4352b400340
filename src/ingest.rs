//! Reading evidence files into the store.
//!
//! [`ingest_paths`] walks the given paths, hashes every file, skips files already ingested
//! (same SHA-256), detects each file's format from its content, and loads each file as one
//! source in one transaction. Records that cannot be normalised are quarantined with the reason
//! and their location; whole files that cannot be read are refused and reported. Nothing is
//! printed here: the caller gets an [`IngestSummary`] and decides what to say.

// Without the `store` feature (the fuzz build) the file-loading half is compiled out, which leaves
// helpers only it calls (hashing files, detecting from a path) unused.
#![cfg_attr(not(feature = "store"), allow(dead_code, unused_imports))]

mod chat;
mod cloudtrail;
mod detect;
mod dry_run;
mod frame;
mod json;
mod k8s_audit;
#[cfg(feature = "store")]
mod loader;
mod manifest;
mod mcp;
mod native;
mod otlp;
mod reader;
mod sink;
mod tool_target;
#[cfg(feature = "store")]
mod verify;
mod walk;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::SourceCounts;
#[cfg(feature = "store")]
use crate::store::{Store, StoreError};

pub use detect::Format;
pub use dry_run::{ParsedEvidence, parse_evidence};
pub use manifest::{Manifest, ManifestError, parse_manifest};
pub use reader::{DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_MANIFEST_BYTES, Limits};
#[cfg(feature = "store")]
pub use verify::{IntegrityStatus, SourceCheck, verify_sources};

/// Which format to read files as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Detect from each file's content.
    #[default]
    Auto,
    /// Read every file as the given format.
    Force(Format),
}

/// Options for one ingest run.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub format: FormatChoice,
    /// Manifests given explicitly; they are loaded before any log.
    pub manifests: Vec<PathBuf>,
    pub limits: Limits,
}

/// Receives progress while files are read. Every method has an empty default.
pub trait Progress {
    /// A file of `bytes` bytes starts loading.
    fn file_started(&self, _path: &Path, _bytes: u64) {}
    /// `bytes` bytes of the current file have been read so far.
    fn advanced(&self, _bytes: u64) {}
    /// The current file is done.
    fn file_finished(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Errors that stop an ingest run as a whole. Problems with single files or records are not
/// errors: they are reported in the [`IngestSummary`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[cfg(feature = "store")]
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no input files were given")]
    NoInput,
}

/// How much a compressed file inflated when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Inflation {
    /// Bytes on disk.
    pub compressed: u64,
    /// Bytes after decompression.
    pub decompressed: u64,
    /// The most it was allowed to inflate to (`--max-decompressed-bytes`).
    pub limit: u64,
}

impl Inflation {
    /// Decompressed bytes per compressed byte.
    pub fn ratio(&self) -> f64 {
        self.decompressed as f64 / self.compressed.max(1) as f64
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    /// Loaded as a new source.
    Loaded {
        source_id: i32,
        format: String,
        sha256: String,
        counts: SourceCounts,
        /// The first few quarantined records, as (locator, reason).
        quarantine_sample: Vec<(String, String)>,
        /// For a gzip file, how far it inflated.
        #[serde(skip_serializing_if = "Option::is_none")]
        inflation: Option<Inflation>,
    },
    /// A file with the same SHA-256 was already ingested; nothing was added.
    Duplicate {
        sha256: String,
        existing_source_id: i32,
        existing_path: String,
    },
    /// Not evidence (documentation next to a fixture); not read.
    Skipped { reason: String },
    /// Could not be loaded as a whole; nothing from it was stored.
    Refused { reason: String },
}

/// One input file and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Written to JSON as [`crate::text::path_text`]: a name that is not UTF-8 keeps its bytes.
    #[serde(serialize_with = "serialize_path")]
    pub path: PathBuf,
    #[serde(flatten)]
    pub outcome: FileOutcome,
}

fn serialize_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::text::path_text(path))
}

/// The result of an ingest run, file by file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub files: Vec<FileReport>,
}

impl IngestSummary {
    /// True when any record was quarantined or any file refused.
    pub fn had_bad_input(&self) -> bool {
        self.files.iter().any(|f| match &f.outcome {
            FileOutcome::Loaded { counts, .. } => counts.records_quarantined > 0,
            FileOutcome::Refused { .. } => true,
            FileOutcome::Duplicate { .. } | FileOutcome::Skipped { .. } => false,
        })
    }

    /// Totals over the files loaded in this run.
    pub fn totals(&self) -> SourceCounts {
        let mut total = SourceCounts::default();
        for f in &self.files {
            if let FileOutcome::Loaded { counts, .. } = &f.outcome {
                total.records_read += counts.records_read;
                total.records_ok += counts.records_ok;
                total.records_quarantined += counts.records_quarantined;
                total.events_ingested += counts.events_ingested;
            }
        }
        total
    }
}

/// Ingests `paths` (files or directories, walked recursively) plus the manifests named in
/// `options` into `store`.
#[cfg(feature = "store")]
pub fn ingest_paths(
    store: &mut Store,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestSummary, IngestError> {
    if paths.is_empty() && options.manifests.is_empty() {
        return Err(IngestError::NoInput);
    }
    let mut summary = IngestSummary::default();
    let plan = walk::plan(paths, &options.manifests);
    for (path, reason) in plan.skipped {
        summary.files.push(FileReport {
            path,
            outcome: FileOutcome::Skipped { reason },
        });
    }
    for (path, reason) in plan.unreadable {
        summary.files.push(FileReport {
            path,
            outcome: FileOutcome::Refused { reason },
        });
    }
    for path in plan.manifests {
        let outcome = loader::load_manifest(store, &path, &options.limits, progress)?;
        summary.files.push(FileReport { path, outcome });
    }
    for path in plan.logs {
        let outcome = loader::load_log(store, &path, options, progress)?;
        summary.files.push(FileReport { path, outcome });
    }
    if summary
        .files
        .iter()
        .any(|f| matches!(f.outcome, FileOutcome::Loaded { .. }))
        || store.timeline_index_events().is_err()
    {
        store.rebuild_timeline_index()?;
    }
    Ok(summary)
}
