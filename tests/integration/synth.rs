//! The scale generator (docs/benchmarks.md): its output loads without loss and the drifting
//! tasks it hides are found.

use std::path::PathBuf;

use onus::ingest::{IngestOptions, NoProgress, ingest_paths};
use onus::store::Store;
use onus::synth::{SynthOptions, generate_dir};

#[test]
fn generated_incident_ingests_cleanly_and_its_drift_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SynthOptions {
        events: 2_000,
        seed: 42,
        ..SynthOptions::default()
    };
    let summary = generate_dir(dir.path(), &options).expect("generate");
    assert!(summary.drifting.len() >= 3, "{summary:?}");

    // The same seed writes the same bytes.
    let again = tempfile::tempdir().expect("tempdir");
    let summary_again = generate_dir(again.path(), &options).expect("generate");
    assert_eq!(summary, summary_again);
    for file in ["events.jsonl", "manifest.toml"] {
        let a = std::fs::read(dir.path().join(file)).expect("read");
        let b = std::fs::read(again.path().join(file)).expect("read");
        assert!(a == b, "{file} differs between two runs with the same seed");
    }

    let mut store = Store::open_in_memory().expect("store");
    let paths: Vec<PathBuf> = vec![dir.path().to_path_buf()];
    // The generated manifest is named, as `onus ingest --manifest` does: a walk never reads one.
    let options = IngestOptions {
        manifests: vec![dir.path().join("manifest.toml")],
        ..IngestOptions::default()
    };
    let report = ingest_paths(&mut store, &paths, &options, &NoProgress).expect("ingest");
    assert!(!report.had_bad_input(), "{report:#?}");
    let totals = report.totals();
    assert_eq!(totals.records_quarantined, 0);
    assert_eq!(totals.events_ingested, summary.events);

    let analysis = onus::analysis::analyse(&store).expect("analyse");
    for hidden in &summary.drifting {
        assert!(
            analysis.drift_points.iter().any(|d| d.task == hidden.task),
            "no drift point for hidden task {} ({:?})",
            hidden.task,
            hidden.kind
        );
        assert!(
            analysis.records.iter().any(|r| r.task == hidden.task),
            "no accountability record for {}",
            hidden.task
        );
    }
    // Benign traffic stays quiet: drift only where it was hidden.
    let hidden: Vec<&str> = summary.drifting.iter().map(|d| d.task.as_str()).collect();
    let stray: Vec<&str> = analysis
        .drift_points
        .iter()
        .map(|d| d.task.as_str())
        .filter(|t| !hidden.contains(t))
        .collect();
    assert!(stray.is_empty(), "drift in benign tasks: {stray:?}");
}

/// The OTLP and CloudTrail renderings of a generated incident load through their adapters with
/// the event count the generator announces, nothing quarantined, and the same bytes every time.
#[test]
fn generated_otlp_and_cloudtrail_load_without_quarantine() {
    use onus::synth::SynthFormat;
    for format in [SynthFormat::Otlp, SynthFormat::Cloudtrail] {
        let options = SynthOptions {
            events: 12_000,
            seed: 9,
            format,
            ..SynthOptions::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let summary = generate_dir(dir.path(), &options).expect("generate");
        let again = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            summary,
            generate_dir(again.path(), &options).expect("generate")
        );
        assert_eq!(files(dir.path()), files(again.path()), "{format:?} differs");
        assert!(summary.events >= 12_000, "{summary:?}");
        if format == SynthFormat::Cloudtrail {
            // Several delivery files of at most 5,000 records.
            assert_eq!(
                files(&format.evidence_path(dir.path())).len() as u64,
                summary.records.div_ceil(5_000)
            );
        }

        let mut store = Store::open_in_memory().expect("store");
        let paths = vec![format.evidence_path(dir.path())];
        let report = ingest_paths(&mut store, &paths, &IngestOptions::default(), &NoProgress)
            .expect("ingest");
        let totals = report.totals();
        assert_eq!(totals.records_quarantined, 0, "{format:?}: {report:#?}");
        assert!(!report.had_bad_input(), "{format:?}: {report:#?}");
        assert_eq!(totals.events_ingested, summary.events, "{format:?}");
    }
}

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.push((path.strip_prefix(dir).expect("prefix").to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}
