//! Reports and replay through the binary: golden files, determinism, expectation checks and
//! output safety against hostile evidence.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{fixture, onus_bin, root};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn replay(args: &[&str]) -> Out {
    let out = Command::new(onus_bin())
        .arg("replay")
        .args(args)
        .env_remove("ONUS_DB")
        .output()
        .expect("onus runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn every_fixture_with_expectations_replays_green() {
    let mut checked = 0;
    for entry in fs::read_dir(root().join("fixtures")).expect("fixtures") {
        let dir = entry.expect("entry").path();
        if dir.join("expected.toml").exists() {
            let out = replay(&["--quiet", path(&dir)]);
            assert_eq!(out.code, 0, "{}: {}", dir.display(), out.stderr);
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "payments-copilot and clean-run carry expectations"
    );
}

#[test]
fn a_changed_expected_owner_fails_with_a_diff_that_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected =
        fs::read_to_string(fixture("payments-copilot").join("expected.toml")).expect("read");
    let edited = expected.replace(
        "primary_owner = \"raj@example.com\"",
        "primary_owner = \"mei@example.com\"",
    );
    assert_ne!(edited, expected);
    let file = dir.path().join("edited.toml");
    fs::write(&file, edited).expect("write");
    let out = replay(&[path(&fixture("payments-copilot")), "--expect", path(&file)]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("primary_owner: expected mei@example.com, found raj@example.com"),
        "{}",
        out.stderr
    );
}

#[test]
fn fail_on_gates_on_severity() {
    let out = replay(&[
        "--quiet",
        path(&fixture("payments-copilot")),
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.code, 1);
    let clean = replay(&["--quiet", path(&fixture("clean-run")), "--fail-on", "low"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
}

/// Golden files: the reviewed Markdown and JSON reports of payments-copilot. After an intended
/// change, regenerate with `ONUS_BLESS=1 cargo test --release` and review the diff.
#[test]
fn markdown_and_json_reports_match_their_golden_files() {
    for (format, golden) in [
        ("md", "payments-copilot.md"),
        ("json", "payments-copilot.json"),
    ] {
        let out = replay(&[
            "--quiet",
            path(&fixture("payments-copilot")),
            "--format",
            format,
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        // Source paths depend on where the repository is checked out.
        let text = out.stdout.replace(&root().display().to_string(), "<root>");
        let golden_path = root().join("tests/golden").join(golden);
        if std::env::var_os("ONUS_BLESS").is_some() {
            fs::write(&golden_path, &text).expect("bless");
        }
        let want = fs::read_to_string(&golden_path).expect("golden file exists");
        if text != want {
            // Show where: the first lines that differ, numbered, both sides.
            let diff: Vec<String> = want
                .lines()
                .zip(text.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(8)
                .map(|(i, (a, b))| format!("line {}:\n  - {a}\n  + {b}", i + 1))
                .collect();
            panic!(
                "{format} report differs from {} ({} golden lines, {} now); review and bless with \
                 ONUS_BLESS=1 if intended:\n{}",
                golden_path.display(),
                want.lines().count(),
                text.lines().count(),
                diff.join("\n")
            );
        }
    }
}

#[test]
fn the_json_report_has_its_documented_shape() {
    let out = replay(&[
        "--quiet",
        path(&fixture("payments-copilot")),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(v["schema_version"], 1);
    for key in [
        "title",
        "tool",
        "tool_version",
        "rules_version",
        "summary",
        "sources",
        "accountability",
        "findings",
        "chains",
        "timeline",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for s in v["sources"].as_array().expect("sources") {
        assert_eq!(s["sha256"].as_str().map(str::len), Some(64));
    }
    let doc = fs::read_to_string(root().join("docs/report-format.md")).expect("doc");
    for key in v.as_object().expect("object").keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md does not document `{key}`"
        );
    }
}

#[test]
fn reports_are_byte_identical_across_runs() {
    for format in ["md", "html", "json", "csv", "ocsf", "dot", "mermaid"] {
        let a = replay(&[
            "--quiet",
            path(&fixture("payments-copilot")),
            "--format",
            format,
        ]);
        let b = replay(&[
            "--quiet",
            path(&fixture("payments-copilot")),
            "--format",
            format,
        ]);
        assert_eq!(a.code, 0);
        assert!(a.stdout == b.stdout, "{format} differs between runs");
    }
}

#[test]
fn hostile_evidence_is_inert_in_every_format() {
    let dir = fixture("hostile-report");
    let get = |format: &str| {
        let out = replay(&["--quiet", path(&dir), "--format", format]);
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        out.stdout
    };
    for format in ["md", "html", "json", "csv", "ocsf", "dot", "mermaid"] {
        let text = get(format);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{format} carries raw control characters"
        );
    }
    let html = get("html");
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "no live markup from evidence"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external requests"
    );
    let md = get("md");
    let unescaped_angle = md
        .char_indices()
        .any(|(i, c)| c == '<' && !md[..i].ends_with('\\'));
    assert!(!unescaped_angle, "no raw HTML in Markdown");
    assert!(
        !md.contains("](http"),
        "no live links or images from evidence"
    );
    for line in md.lines().filter(|l| l.starts_with('|')) {
        // Every row of a table has as many unescaped separators as its header.
        let cells = line.replace("\\|", "").matches('|').count();
        assert!(cells >= 2, "{line}");
    }
    let severities = [
        "| critical |",
        "| high |",
        "| medium |",
        "| low |",
        "| info |",
    ];
    let findings_rows: Vec<&str> = md
        .lines()
        .filter(|l| severities.iter().any(|s| l.starts_with(s)))
        .collect();
    assert!(!findings_rows.is_empty());
    let header = md
        .lines()
        .find(|l| l.starts_with("| severity"))
        .expect("findings header");
    for row in findings_rows {
        assert_eq!(
            row.replace("\\|", "").matches('|').count(),
            header.matches('|').count(),
            "{row}"
        );
    }
    let csv = get("csv");
    for line in csv.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with('=') && !cell.starts_with('+') && !cell.starts_with('@'),
                "formula cell: {cell}"
            );
        }
    }
    assert!(
        csv.contains("'=HYPERLINK"),
        "the formula is kept, neutralised"
    );
}

#[test]
fn strict_expectations_catch_an_unexpected_finding() {
    // One-sided expectations let a new finding pass; strict ones name it.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = fs::read_to_string(fixture("payments-copilot").join("expected.toml")).expect("read");
    assert!(text.contains("strict = true"), "the fixture is strict");
    let trimmed = text.replace(
        "[[finding]]\ndetector = \"runtime.no_policy_decision\"\ntask = \"T-1042\"\n",
        "",
    );
    assert_ne!(trimmed, text, "the expectation to drop is there");
    let file = dir.path().join("trimmed.toml");
    fs::write(&file, &trimmed).expect("write");
    let out = replay(&[path(&fixture("payments-copilot")), "--expect", path(&file)]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "finding runtime.no_policy_decision (task T-1042): found, not expected (strict)"
        ),
        "{}",
        out.stderr
    );
    let lenient = dir.path().join("lenient.toml");
    fs::write(&lenient, trimmed.replace("strict = true", "strict = false")).expect("write");
    let out = replay(&[
        path(&fixture("payments-copilot")),
        "--expect",
        path(&lenient),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
