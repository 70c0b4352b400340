//! Where `--out` may write: never over the case itself.
//!
//! A report is written atomically (a temporary file renamed over the target), so an `--out` that
//! names the evidence database would replace the case with the report, one that names an
//! evidence file would replace the evidence, and one that names a device (`/dev/null`) would
//! replace the device node with a regular file. [`check`] refuses all of these before anything
//! is written: the target must be a new file or an existing regular file (also through a
//! symbolic link), and it must not be, by canonical path or by file identity (a hard link), any
//! of the protected files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A file `--out` must not replace, and what it is (for the message).
#[derive(Debug, Clone)]
pub(super) struct Protected {
    pub path: PathBuf,
    pub what: String,
}

impl Protected {
    pub fn new(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// The evidence database at `db` and the files DuckDB and the TUI keep next to it.
pub(super) fn database(db: &Path) -> Vec<Protected> {
    let mut wal = db.as_os_str().to_os_string();
    wal.push(".wal");
    vec![
        Protected::new(db, "the evidence database (--db)"),
        Protected::new(wal, "the evidence database's write-ahead log"),
        Protected::new(
            crate::tui::bookmark_file(db),
            "the evidence database's bookmarks",
        ),
    ]
}

/// Why `out` must not be written, or `None` when it may be.
pub(super) fn check(out: &Path, protected: &[Protected]) -> Option<String> {
    match fs::symlink_metadata(out) {
        Ok(meta) if meta.file_type().is_symlink() => match fs::metadata(out) {
            Ok(target) if !target.is_file() => {
                return Some(
                    "it is a symbolic link to something that is not a regular file".to_owned(),
                );
            }
            Ok(_) => {}
            Err(e) => {
                return Some(format!(
                    "it is a symbolic link that cannot be followed ({e})"
                ));
            }
        },
        Ok(meta) if !meta.is_file() => {
            return Some(
                "it is not a regular file (a directory, device, FIFO or socket is never replaced)"
                    .to_owned(),
            );
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Some(format!("it cannot be inspected ({e})")),
    }
    let target = resolved(out);
    protected
        .iter()
        .find(|p| resolved(&p.path) == target || same_file(out, &p.path))
        .map(|p| format!("it is {}", p.what))
}

/// `path` made absolute with its symbolic links resolved; for a file that does not exist yet,
/// its folder resolved and its name kept.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = fs::canonicalize(path) {
        return p;
    }
    let name = path.file_name().unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::canonicalize(parent).map_or_else(
        |_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        |dir| dir.join(name),
    )
}

/// Whether two existing paths are the same file (also through a hard link).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_its_wal_and_evidence_are_refused_by_any_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("case.duckdb");
        fs::write(&db, "db").expect("write");
        let evidence = dir.path().join("log.jsonl");
        fs::write(&evidence, "{}").expect("write");
        let mut protected = database(&db);
        protected.push(Protected::new(&evidence, "evidence file source 1"));
        let why = |p: &Path| check(p, &protected);
        assert!(why(&db).expect("db").contains("evidence database (--db)"));
        assert!(
            why(&dir.path().join(".").join("case.duckdb")).is_some(),
            "another spelling"
        );
        assert!(
            why(&dir.path().join("case.duckdb.wal"))
                .expect("wal, even before it exists")
                .contains("write-ahead log")
        );
        assert!(why(&evidence).expect("source").contains("source 1"));
        #[cfg(unix)]
        {
            let hard = dir.path().join("hard");
            fs::hard_link(&db, &hard).expect("link");
            assert!(why(&hard).is_some(), "a hard link to the database");
            let soft = dir.path().join("soft.md");
            std::os::unix::fs::symlink(&evidence, &soft).expect("symlink");
            assert!(why(&soft).is_some(), "a symbolic link to evidence");
            let null = dir.path().join("null.md");
            std::os::unix::fs::symlink("/dev/null", &null).expect("symlink");
            assert!(
                why(&null)
                    .expect("device link")
                    .contains("not a regular file")
            );
            assert!(
                why(Path::new("/dev/null"))
                    .expect("device")
                    .contains("not a regular file")
            );
        }
        assert!(why(dir.path()).expect("dir").contains("not a regular file"));
        assert_eq!(why(&dir.path().join("report.md")), None);
        fs::write(dir.path().join("old.md"), "old").expect("write");
        assert_eq!(
            why(&dir.path().join("old.md")),
            None,
            "an old report is replaced"
        );
    }
}
