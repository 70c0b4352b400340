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

/// Reads the bookmarks; a missing file means none.
pub fn load(path: &Path) -> io::Result<Vec<String>> {
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
}
