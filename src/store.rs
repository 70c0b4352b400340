//! The evidence store: an embedded DuckDB database holding sources, events, quarantine and the
//! entities derived from them. All SQL of onus lives in this module.
//!
//! A [`Store`] owns one connection. Writers go through [`Store::begin_source`], which loads one
//! source file in one transaction so that an interrupted ingest never leaves half a source.

mod baseline;
mod migrate;
mod queries;
mod timeline_index;
mod value;
mod writer;

use std::path::{Path, PathBuf};

use duckdb::{AccessMode, Config, Connection};

pub use baseline::duckdb_read_json;
pub use migrate::SCHEMA_VERSION;
pub use queries::analysis::{AnalysisEvent, FindingRow};
pub use queries::console::{ConsoleResult, ConsoleRun};
pub use queries::detail::{EventDetail, TaskDeclaration};
pub use queries::entities::{ActionRow, CredentialUse, HandOffSummary, TaskSlice, TaskStart};
pub use queries::investigate::{StoredAccountability, StoredDriftPoint, StoredFinding, StoredSpan};
pub use queries::page::{Direction, EventFilter, FilterIndex, Histogram, Hit, PageRow, Target};
pub use queries::sources::SourceRow;
pub use queries::sql::{QueryColumns, QueryOutcome};
pub use queries::timeline::{TimelineFilter, TimelineRow};
pub use writer::{NewSource, SourceCounts, SourceWriter};

/// Errors of the evidence store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("no evidence database at {path} (hint: create one with `onus ingest`)")]
    Missing { path: PathBuf },
    #[error("cannot open evidence database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "{path} is not a DuckDB database ({why}); it was left untouched (hint: --db names the evidence database onus writes, such as onus.duckdb, not an evidence file)"
    )]
    NotDuckDb { path: PathBuf, why: String },
    #[error(
        "evidence database {path} has schema version {found}, newer than this onus understands ({supported}); use a newer onus"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "evidence database {path} is read-only here and needs migrating to schema {wanted} (open it once for writing: `onus reindex` does, and builds what the new schema adds)"
    )]
    NeedsMigration { path: PathBuf, wanted: i64 },
    #[error(
        "the evidence database {path} is damaged: {message} (the file itself is corrupt or cut short; restore it from a copy, or ingest the evidence again into a new file)"
    )]
    Damaged { path: PathBuf, message: String },
    #[error("query failed: {0}")]
    Query(String),
    #[error("database error while {context}: {source}")]
    Db {
        context: &'static str,
        #[source]
        source: duckdb::Error,
    },
    #[error(
        "the timeline index covers {indexed} events but the store holds {stored} (an ingest stopped before indexing?); rebuild it with `onus reindex`"
    )]
    StaleIndex { indexed: u64, stored: u64 },
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
}

impl StoreError {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(duckdb::Error) -> Self {
        move |source| Self::Db { context, source }
    }

    /// Whether this error comes from a damaged database file (a checksum that does not match,
    /// a block cut short) rather than from what was asked of it. [`StoreError::Damaged`] says so
    /// with the path; a query or a store operation that ran into the damage says so in DuckDB's
    /// words, which this recognises.
    pub fn is_damage(&self) -> bool {
        match self {
            Self::Damaged { .. } => true,
            Self::Open { message, .. } | Self::Query(message) => says_damaged(message),
            Self::Db { source, .. } => says_damaged(&source.to_string()),
            _ => false,
        }
    }
}

impl StoreError {
    /// This error, or, when it reports damage to the file, [`StoreError::Damaged`] naming `path`.
    pub(crate) fn at(self, path: &Path) -> Self {
        if matches!(self, Self::Damaged { .. }) || !self.is_damage() {
            return self;
        }
        let message = match &self {
            Self::Db { context, source } => format!("{source} (while {context})"),
            other => other.to_string(),
        };
        Self::Damaged {
            path: path.to_path_buf(),
            message,
        }
    }
}

/// Whether a DuckDB message reports damage to the database file.
pub(crate) fn says_damaged(message: &str) -> bool {
    message.contains("Data Corruption Error")
        || message.contains("Corrupt database file")
        || message.contains("Could not read enough bytes from file")
}

/// Whether the store may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// An open evidence database.
pub struct Store {
    conn: Connection,
    access: Access,
    location: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (and for [`Access::ReadWrite`], creates and migrates) the database file at `path`.
    ///
    /// A read-only open needs an existing file at the current schema version. A second writer
    /// on the same file gets an [`StoreError::Open`] that says the file is locked.
    ///
    /// An existing file that does not start with DuckDB's file header is refused
    /// ([`StoreError::NotDuckDb`]) before DuckDB sees it, so that `--db` naming an evidence file
    /// by mistake (or by design) can never overwrite it.
    pub fn open(path: &Path, access: Access) -> Result<Self, StoreError> {
        if path.exists() {
            check_duckdb_header(path)?;
        } else {
            if access == Access::ReadOnly {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                });
            }
            create_complete(path)?;
        }
        Self::open_existing(path, access)
    }

    fn open_existing(path: &Path, access: Access) -> Result<Self, StoreError> {
        let mode = match access {
            Access::ReadWrite => AccessMode::ReadWrite,
            Access::ReadOnly => AccessMode::ReadOnly,
        };
        let open_error = |e: duckdb::Error| {
            let message = describe_open_error(&e);
            if says_damaged(&message) {
                StoreError::Damaged {
                    path: path.to_path_buf(),
                    message,
                }
            } else {
                StoreError::Open {
                    path: path.to_path_buf(),
                    message,
                }
            }
        };
        let config = Config::default()
            .access_mode(mode)
            .and_then(|c| c.enable_autoload_extension(false))
            .map_err(open_error)?;
        let conn = Connection::open_with_flags(path, config).map_err(open_error)?;
        let store = Self {
            conn,
            access,
            location: path.display().to_string(),
        };
        store.prepare_schema(Some(path))?;
        Ok(store)
    }

    /// Opens a fresh in-memory database (used by replay and tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(StoreError::db("opening in memory"))?;
        let store = Self {
            conn,
            access: Access::ReadWrite,
            location: ":memory:".to_owned(),
        };
        store.prepare_schema(None)?;
        Ok(store)
    }

    /// Where the database lives (a path, or `:memory:`).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether this store was opened for writing.
    pub fn access(&self) -> Access {
        self.access
    }

    fn prepare_schema(&self, path: Option<&Path>) -> Result<(), StoreError> {
        let path_buf = path.map_or_else(|| PathBuf::from(":memory:"), Path::to_path_buf);
        match self.access {
            Access::ReadWrite => migrate::migrate(&self.conn, &path_buf),
            Access::ReadOnly => migrate::check(&self.conn, &path_buf),
        }
        .map_err(|e| e.at(&path_buf))
    }

    /// A second connection to the same database (also for an in-memory one), for another
    /// thread. It has the same access; settings made with [`Store::restrict_to_evidence`] may
    /// apply to the whole database, as DuckDB decides per setting.
    pub fn try_clone(&self) -> Result<Self, StoreError> {
        let conn = self
            .conn
            .try_clone()
            .map_err(StoreError::db("opening a second connection"))?;
        Ok(Self {
            conn,
            access: self.access,
            location: self.location.clone(),
        })
    }

    /// Caps DuckDB's memory (its buffer pool and query state) for the whole database, in MiB.
    /// Reads past the cap evict cached blocks of a database file; an in-memory database must
    /// not be capped below its size.
    pub fn limit_memory(&self, mebibytes: u32) -> Result<(), StoreError> {
        self.conn
            .execute_batch(&format!("SET memory_limit = '{mebibytes}MiB'"))
            .map_err(StoreError::db("limiting the database's memory"))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Where DuckDB's file header has its magic bytes: after an 8-byte checksum.
const DUCKDB_MAGIC_OFFSET: usize = 8;
/// DuckDB's magic bytes.
const DUCKDB_MAGIC: &[u8; 4] = b"DUCK";

/// Refuses an existing path that is not a DuckDB database file, without DuckDB opening it (a
/// writer would turn an evidence file into a database, or fail on it after taking a lock).
/// A directory is left to DuckDB, which names the problem; anything else that is not a regular
/// file (a FIFO would block the read here) is refused.
fn check_duckdb_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read as _;
    let refuse = |why: String| StoreError::NotDuckDb {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if meta.is_dir() {
        return Ok(());
    }
    if !meta.is_file() {
        return Err(refuse("not a regular file".to_owned()));
    }
    let mut head = Vec::with_capacity(DUCKDB_MAGIC_OFFSET + DUCKDB_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take((DUCKDB_MAGIC_OFFSET + DUCKDB_MAGIC.len()) as u64)
                .read_to_end(&mut head)
        })
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if head.get(DUCKDB_MAGIC_OFFSET..) == Some(DUCKDB_MAGIC.as_slice()) {
        Ok(())
    } else if head.is_empty() {
        Err(refuse("the file is empty".to_owned()))
    } else {
        Err(refuse(format!(
            "its header lacks DuckDB's magic bytes `DUCK` at byte {DUCKDB_MAGIC_OFFSET}"
        )))
    }
}

/// Creates a new database file with its whole schema, so that the file at `path` only ever
/// appears complete: the schema is built in a scratch file next to it, which is then linked into
/// place (a link, unlike a rename, never replaces a file another process created meanwhile).
/// A process killed while creating leaves at most the scratch file, never a half-made database.
fn create_complete(path: &Path) -> Result<(), StoreError> {
    let mut scratch_name = path.file_name().unwrap_or_default().to_os_string();
    scratch_name.push(format!(".creating-{}", std::process::id()));
    let scratch = path.with_file_name(scratch_name);
    let io_error = |source: std::io::Error| StoreError::Open {
        path: path.to_path_buf(),
        message: format!("cannot create the database: {source}"),
    };
    remove_stale_scratch(path);
    Store::open_existing(&scratch, Access::ReadWrite)?;
    let linked = std::fs::hard_link(&scratch, path);
    let _ = std::fs::remove_file(&scratch);
    match linked {
        Ok(()) => Ok(()),
        // Someone else created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// Removes scratch files (and their WAL) that processes killed while creating `path` left
/// behind: those whose process no longer runs. Where `/proc` does not exist, only our own pid's
/// (reused pids) is treated as stale.
fn remove_stale_scratch(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.creating-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let own = std::process::id().to_string();
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.strip_suffix(".wal").unwrap_or(rest);
        let gone = pid == own
            || (proc_fs
                && pid.bytes().all(|b| b.is_ascii_digit())
                && !Path::new("/proc").join(pid).exists());
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Turns DuckDB's open errors into something a responder can act on.
fn describe_open_error(e: &duckdb::Error) -> String {
    let text = e.to_string();
    if text.contains("Could not set lock") || text.contains("Conflicting lock") {
        format!("the database is locked by another onus or DuckDB process ({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
