//! Turning the paths on the command line into an ordered plan of files to load.
//!
//! Directories are walked recursively in name order. An evidence directory is written, in part,
//! by the party under investigation, so the walk reads logs and nothing else: hidden entries are
//! skipped, and so are the documentation files that sit next to evidence in a fixture
//! (`README*`, `*.md`), replay expectation files (`expected*`) and `*.toml` files, which are
//! never read as manifests (a planted one would change who is accountable; a manifest is read
//! only when named with `--manifest`). Each skip is reported. A symbolic link whose target lies
//! outside the walked directory is not followed (a link to `/etc/shadow` would copy it into the
//! store); links to files inside it are followed, links to directories are not (they can form
//! loops), and all of that is reported too. A file named on the command line is read as named.
//! Only regular files are read: a FIFO, socket or device (named on the command line or met in a
//! directory) would block the hash pass or never end, and could not be read twice anyway, so it
//! is refused with the reason.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::reader::NOT_REGULAR;

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

/// Why a `*.toml` met in a directory is not read.
const NOT_A_NAMED_MANIFEST: &str = "a TOML file met while walking a directory is not read as a manifest (hint: name it with --manifest FILE to use it)";

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
    // A manifest named with --manifest that a walk meets again is already planned: not a skip.
    let named: BTreeSet<PathBuf> = manifests
        .iter()
        .filter_map(|m| fs::canonicalize(m).ok())
        .collect();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                // The walk's bounds: links whose target leaves this directory are not followed.
                let walk = Walk {
                    root: fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
                    named: &named,
                };
                walk.dir(path, 0, &mut plan, &mut seen);
            }
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

/// One directory named on the command line, being walked.
struct Walk<'n> {
    /// The directory, canonical.
    root: PathBuf,
    /// The manifests named with --manifest, canonical.
    named: &'n BTreeSet<PathBuf>,
}

impl Walk<'_> {
    fn dir(&self, dir: &Path, depth: usize, plan: &mut Plan, seen: &mut BTreeSet<PathBuf>) {
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
            self.entry(child, depth, plan, seen);
        }
    }

    fn entry(&self, child: PathBuf, depth: usize, plan: &mut Plan, seen: &mut BTreeSet<PathBuf>) {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            plan.skipped.push((child, "hidden file".to_owned()));
            return;
        }
        let link = fs::symlink_metadata(&child).is_ok_and(|m| m.file_type().is_symlink());
        let meta = match fs::metadata(&child) {
            Ok(meta) => meta,
            Err(e) => {
                plan.unreadable.push((child, format!("cannot read: {e}")));
                return;
            }
        };
        if link {
            match fs::canonicalize(&child) {
                Ok(target) if !target.starts_with(&self.root) => {
                    let what = if meta.is_dir() {
                        "a directory"
                    } else {
                        "a file"
                    };
                    let reason = format!(
                        "symbolic link to {what} outside the walked directory ({}), not followed (hint: name it on the command line to read it)",
                        crate::text::path_text(&target)
                    );
                    plan.skipped.push((child, reason));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    plan.unreadable.push((child, format!("cannot read: {e}")));
                    return;
                }
            }
            if meta.is_dir() {
                plan.skipped.push((
                    child,
                    "symbolic link to a directory, not followed".to_owned(),
                ));
                return;
            }
        }
        if meta.is_dir() {
            self.dir(&child, depth + 1, plan, seen);
            return;
        }
        if !meta.is_file() {
            plan.unreadable.push((child, NOT_REGULAR.to_owned()));
            return;
        }
        if !seen.insert(child.clone()) {
            return;
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
            let named = fs::canonicalize(&child).is_ok_and(|c| self.named.contains(&c));
            if !named {
                plan.skipped.push((child, NOT_A_NAMED_MANIFEST.to_owned()));
            }
        } else {
            plan.logs.push(child);
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
        assert!(plan.manifests.is_empty(), "{:?}", plan.manifests);
        let skipped: Vec<PathBuf> = plan.skipped.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(names(&skipped), [".hidden", "README.md", "manifest.toml"]);
        assert!(
            plan.skipped[2].1.contains("--manifest"),
            "{:?}",
            plan.skipped
        );
    }

    #[test]
    fn a_manifest_named_with_the_flag_is_planned_once_and_not_reported_as_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::write(root.join("manifest.toml"), "").expect("write");
        fs::write(root.join("planted.toml"), "").expect("write");
        let named = root.join(".").join("manifest.toml");
        let plan = plan(&[root.to_path_buf()], std::slice::from_ref(&named));
        assert_eq!(plan.manifests, [named]);
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert!(plan.skipped[0].0.ends_with("planted.toml"));
    }

    #[cfg(unix)]
    #[test]
    fn links_leaving_the_walked_directory_are_not_followed_but_links_inside_are() {
        let outside = tempfile::tempdir().expect("tempdir");
        fs::write(outside.path().join("secret"), "x").expect("write");
        fs::create_dir(outside.path().join("home")).expect("mkdir");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir(root.join("sub")).expect("mkdir");
        fs::write(root.join("real.jsonl"), "").expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("a.jsonl"))
            .expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("home"), root.join("b")).expect("symlink");
        std::os::unix::fs::symlink("../real.jsonl", root.join("sub/inside.jsonl"))
            .expect("symlink");
        std::os::unix::fs::symlink("../../onus-no-such-file", root.join("sub/up.jsonl"))
            .expect("symlink");
        let walked = plan(&[root.to_path_buf()], &[]);
        assert_eq!(
            walked.logs,
            [root.join("real.jsonl"), root.join("sub/inside.jsonl")]
        );
        let skipped: Vec<&PathBuf> = walked
            .skipped
            .iter()
            .filter(|(_, r)| r.contains("outside the walked directory"))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(skipped, [&root.join("a.jsonl"), &root.join("b")]);
        // A dangling link (its target cannot be resolved) is refused with the reason.
        assert_eq!(walked.unreadable.len(), 1, "{:?}", walked.unreadable);
        // Named on the command line, the same link is read as named.
        let named = plan(&[root.join("a.jsonl")], &[]);
        assert_eq!(named.logs, [root.join("a.jsonl")]);
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
