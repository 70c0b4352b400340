//! Evidence integrity after the fact: re-hashing the files a database was built from.
//!
//! Every source keeps the SHA-256 and size of its file as it was read. [`verify_sources`] reads
//! each file again (read-only) and says whether it is still the same, changed, gone or
//! unreadable, so an analyst can show that the evidence behind a report was not altered.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::reader::hash_file;
use crate::store::{SourceRow, Store, StoreError};

/// What re-reading one source's file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrityStatus {
    /// Same SHA-256 as when it was ingested.
    Unchanged,
    /// The file is there but its content differs.
    Changed,
    /// No file at the recorded path.
    Missing,
    /// The file exists but could not be read.
    Unreadable,
}

impl IntegrityStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Changed => "changed",
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
        }
    }
}

/// One source checked against its file on disk.
#[derive(Debug, Clone, Serialize)]
pub struct SourceCheck {
    pub source_id: i32,
    /// The path recorded at ingest.
    pub path: String,
    /// Where the file was looked for (the recorded path, resolved against the base directory
    /// when it is relative and a base was given).
    pub checked_path: PathBuf,
    pub format: String,
    pub recorded_sha256: String,
    pub recorded_bytes: u64,
    pub status: IntegrityStatus,
    /// The SHA-256 and size found now, when the file could be read.
    pub current_sha256: Option<String>,
    pub current_bytes: Option<u64>,
    /// Why the file could not be read, when it could not.
    pub error: Option<String>,
}

impl SourceCheck {
    /// True when the file is still exactly what was ingested.
    pub fn holds(&self) -> bool {
        self.status == IntegrityStatus::Unchanged
    }
}

/// Re-hashes the file of every source in `store`. Relative recorded paths are resolved against
/// `base` when given (the directory the ingest ran in), else against the current directory.
///
/// # Errors
/// Only when the store cannot list its sources; a file that cannot be read is a result.
pub fn verify_sources(store: &Store, base: Option<&Path>) -> Result<Vec<SourceCheck>, StoreError> {
    Ok(store
        .sources()?
        .into_iter()
        .map(|source| check_source(source, base))
        .collect())
}

fn check_source(source: SourceRow, base: Option<&Path>) -> SourceCheck {
    let recorded = Path::new(&source.path);
    let checked_path = match base {
        Some(base) if recorded.is_relative() => base.join(recorded),
        _ => recorded.to_path_buf(),
    };
    let (status, current, error) = match hash_file(&checked_path) {
        Ok((sha256, bytes)) if sha256 == source.sha256 => {
            (IntegrityStatus::Unchanged, Some((sha256, bytes)), None)
        }
        Ok((sha256, bytes)) => (IntegrityStatus::Changed, Some((sha256, bytes)), None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            (IntegrityStatus::Missing, None, Some(e.to_string()))
        }
        Err(e) => (IntegrityStatus::Unreadable, None, Some(e.to_string())),
    };
    let (current_sha256, current_bytes) = current.unzip();
    SourceCheck {
        source_id: source.id,
        path: source.path,
        checked_path,
        format: source.format,
        recorded_sha256: source.sha256,
        recorded_bytes: source.size_bytes,
        status,
        current_sha256,
        current_bytes,
        error,
    }
}
