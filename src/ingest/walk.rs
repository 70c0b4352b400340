//! Turning the paths on the command line into an ordered plan of files to load.
//!
//! Directories are walked recursively in name order. Hidden entries are skipped, and so are the
//! documentation files that sit next to evidence in a fixture (`README*`, `*.md`) and replay
//! expectation files (`expected*`); each skip is reported. `*.toml` files found in a directory
//! are read as manifests. Symbolic links to files are followed; symbolic links to directories
//! are not (they can form loops), and that is reported too. Only regular files are read: a FIFO,
//! socket or device (named on the command line or met in a directory) would block the hash pass
//! or never end, and could not be read twice anyway, so it is refused with the reason.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The files of one ingest run, in the order they will be loaded.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub manifests: Vec<PathBuf>,
    pub logs: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, String)>,
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Deepest directory nesting walked; deeper trees are reported, not followed.
const MAX_DEPTH: usize = 64;

/// Why a FIFO, socket or device is not read.
const NOT_REGULAR: &str = "not a regular file (a FIFO, socket or device could block or never end, and cannot be read twice)";

pub(super) fn plan(paths: &[PathBuf], manifests: &[PathBuf]) -> Plan {
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    for m in manifests {
        if let Ok(meta) = fs::metadata(m)
            && !meta.is_file()
        {
            plan.unreadable.push((m.clone(), NOT_REGULAR.to_owned()));
        } else if seen.insert(m.clone()) {
            plan.manifests.push(m.clone());
        }
    }
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk_dir(path, 0, &mut plan, &mut seen),
            Ok(meta) if !meta.is_file() => {
                plan.unreadable.push((path.clone(), NOT_REGULAR.to_owned()));
            }
            Ok(_) => {
                if seen.insert(path.clone()) {
                    plan.logs.push(path.clone());
                }
            }
            Err(e) => plan
                .unreadable
                .push((path.clone(), format!("cannot read: {e}"))),
        }
    }
    plan
}

fn walk_dir(dir: &Path, depth: usize, plan: &mut Plan, seen: &mut BTreeSet<PathBuf>) {
    if depth > MAX_DEPTH {
        plan.skipped.push((
            dir.to_path_buf(),
            format!("directory nested deeper than {MAX_DEPTH} levels, not walked"),
        ));
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            plan.unreadable
                .push((dir.to_path_buf(), format!("cannot list directory: {e}")));
            return;
        }
    };
    let mut children: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push(entry.path()),
            Err(e) => plan.unreadable.push((
                dir.to_path_buf(),
                format!("cannot list directory entry: {e}"),
            )),
        }
    }
    children.sort();
    for child in children {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            plan.skipped.push((child, "hidden file".to_owned()));
            continue;
        }
        let link = fs::symlink_metadata(&child).map(|m| m.file_type().is_symlink());
        let meta = fs::metadata(&child);
        match (link, meta) {
            (_, Err(e)) => plan.unreadable.push((child, format!("cannot read: {e}"))),
            (Ok(true), Ok(meta)) if meta.is_dir() => plan.skipped.push((
                child,
                "symbolic link to a directory, not followed".to_owned(),
            )),
            (_, Ok(meta)) if meta.is_dir() => walk_dir(&child, depth + 1, plan, seen),
            (_, Ok(meta)) if !meta.is_file() => {
                plan.unreadable.push((child, NOT_REGULAR.to_owned()));
            }
            (_, Ok(_)) => {
                if !seen.insert(child.clone()) {
                    continue;
                }
                let lower = name.to_ascii_lowercase();
                let extension = child
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                if lower.starts_with("readme") || extension == "md" {
                    plan.skipped.push((child, "documentation".to_owned()));
                } else if lower.starts_with("expected") {
                    plan.skipped
                        .push((child, "replay expectation file".to_owned()));
                } else if extension == "toml" {
                    plan.manifests.push(child);
                } else {
                    plan.logs.push(child);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_sorts_files_into_kinds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::write(root.join("b.jsonl"), "").expect("write");
        fs::write(root.join("a.jsonl"), "").expect("write");
        fs::write(root.join("README.md"), "").expect("write");
        fs::write(root.join("manifest.toml"), "").expect("write");
        fs::write(root.join(".hidden"), "").expect("write");
        fs::create_dir(root.join("sub")).expect("mkdir");
        fs::write(root.join("sub/c.json"), "").expect("write");
        let plan = plan(&[root.to_path_buf()], &[]);
        let names = |v: &[PathBuf]| {
            v.iter()
                .map(|p| {
                    p.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&plan.logs), ["a.jsonl", "b.jsonl", "sub/c.json"]);
        assert_eq!(names(&plan.manifests), ["manifest.toml"]);
        assert_eq!(plan.skipped.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_reported_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::os::unix::fs::symlink(root, root.join("loop")).expect("symlink");
        fs::write(root.join("x.jsonl"), "").expect("write");
        let plan = plan(&[root.to_path_buf()], &[]);
        assert_eq!(plan.logs.len(), 1);
        assert!(
            plan.skipped
                .iter()
                .any(|(p, r)| p.ends_with("loop") && r.contains("not followed"))
        );
    }

    /// A FIFO would block the hash pass forever (nobody writes to it), and a device such as
    /// `/dev/zero` never ends: neither is planned for reading.
    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_refused_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let fifo = root.join("pipe.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        fs::write(root.join("x.jsonl"), "").expect("write");
        let plan = plan(&[root.to_path_buf(), PathBuf::from("/dev/zero")], &[]);
        assert_eq!(plan.logs, [root.join("x.jsonl")]);
        let refused: Vec<&PathBuf> = plan
            .unreadable
            .iter()
            .filter(|(_, r)| r.contains("not a regular file"))
            .map(|(p, _)| p)
            .collect();
        let mut want = vec![PathBuf::from("/dev/zero")];
        if made {
            want.insert(0, fifo);
        }
        assert_eq!(refused, want.iter().collect::<Vec<_>>());
    }
}
