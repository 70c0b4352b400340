//! Bookmarks persist in a small JSON file next to the database (`<db>.bookmarks.json`).
//!
//! The TUI opens the evidence database read-only, so bookmarks cannot go into it without taking
//! a write lock that would block `onus ingest` and every other reader's read-only open. A sidecar
//! file keeps the evidence untouched. Event ids are built from the file hash and the record's
//! place, so the same bookmarks are valid in any database holding the same evidence. The file is
//! written whole to a temporary file and renamed over the old one, so a crash never leaves half
//! a file.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const VERSION: u32 = 1;

/// Most bookmarks kept. An investigator marks tens or hundreds of events; the cap keeps a
/// planted or runaway bookmark file from making the TUI look up millions of ids (and quit slowly).
pub const MAX_BOOKMARKS: usize = 10_000;

/// Largest bookmark file read: room for [`MAX_BOOKMARKS`] long ids.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct BookmarkFile {
    version: u32,
    /// Bookmarked event ids, sorted.
    bookmarks: Vec<String>,
}

/// Where the bookmarks of the database at `db` are kept.
pub fn sidecar_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".bookmarks.json");
    db.with_file_name(name)
}

/// Reads the bookmarks; a missing file means none. A file that is not a regular file, larger
/// than 4 MiB, or holding more than [`MAX_BOOKMARKS`] ids is refused without being read whole.
pub fn load(path: &Path) -> io::Result<Vec<String>> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ));
        }
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is {} bytes, more than a bookmark file holds ({MAX_FILE_BYTES} at most)",
                    path.display(),
                    meta.len()
                ),
            ));
        }
        _ => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => {
            let file: BookmarkFile = serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a bookmark file: {e}", path.display()),
                )
            })?;
            if file.version != VERSION {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} has bookmark format {}, this onus reads {VERSION}",
                        path.display(),
                        file.version
                    ),
                ));
            }
            if file.bookmarks.len() > MAX_BOOKMARKS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} holds {} bookmarks, more than the {MAX_BOOKMARKS} onus keeps",
                        path.display(),
                        file.bookmarks.len()
                    ),
                ));
            }
            Ok(file.bookmarks)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Writes the bookmarks atomically (temporary file, then rename).
pub fn save(path: &Path, ids: &[String]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut bookmarks = ids.to_vec();
    bookmarks.sort();
    let file = BookmarkFile {
        version: VERSION,
        bookmarks,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut tmp, &file).map_err(io::Error::other)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_round_trip_next_to_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("case.duckdb");
        let path = sidecar_path(&db);
        assert_eq!(path, dir.path().join("case.duckdb.bookmarks.json"));
        assert!(load(&path).expect("missing is empty").is_empty());
        save(&path, &["b:L2".to_owned(), "a:L1".to_owned()]).expect("save");
        assert_eq!(load(&path).expect("load"), ["a:L1", "b:L2"]);
        std::fs::write(&path, "not json").expect("write");
        assert!(load(&path).is_err());
    }

    #[test]
    fn an_oversized_bookmark_file_is_refused_before_it_is_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("case.duckdb.bookmarks.json");
        let ids: Vec<String> = (0..=MAX_BOOKMARKS).map(|n| format!("f:L{n}")).collect();
        save(&path, &ids).expect("save");
        let err = load(&path).expect_err("one too many");
        assert!(err.to_string().contains("10001 bookmarks"), "{err}");
        save(&path, &ids[..MAX_BOOKMARKS]).expect("save");
        assert_eq!(load(&path).expect("at the cap").len(), MAX_BOOKMARKS);
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 4 * 1024 * 1024 + 1]).expect("write");
        let err = load(&big).expect_err("too large");
        assert!(err.to_string().contains("4194305 bytes"), "{err}");
        assert!(
            load(dir.path()).is_err(),
            "a directory is not a bookmark file"
        );
    }
}
