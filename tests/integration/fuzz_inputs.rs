//! The fuzz targets' checks, run by the ordinary test suite on the committed seeds and on every
//! input that once crashed a target (`fuzz/regressions/<target>/`), so a fixed crash stays fixed
//! without nightly Rust or cargo-fuzz. The checks are the fuzz crate's own code, included here.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::fs;

use onus::ingest::Format;

use crate::util::{root, shared_data};

fn format_of(target: &str) -> Option<Format> {
    Some(match target {
        "ingest_onus" => Format::Onus,
        "ingest_cloudtrail" => Format::CloudTrail,
        "ingest_k8s_audit" => Format::K8sAudit,
        "ingest_otlp" => Format::Otlp,
        "ingest_mcp" => Format::Mcp,
        "ingest_chat" => Format::Chat,
        _ => return None,
    })
}

#[test]
fn seeds_and_past_crashes_pass_every_fuzz_check() {
    let mut checked = 0;
    for folder in ["seeds", "regressions"] {
        let Ok(targets) = fs::read_dir(root().join("fuzz").join(folder)) else {
            continue;
        };
        for target in targets {
            let target = target.expect("dir entry").path();
            let name = target
                .file_name()
                .and_then(|n| n.to_str())
                .expect("target folder name")
                .to_owned();
            for input in fs::read_dir(&target).expect("target folder") {
                let input = input.expect("dir entry").path();
                let data = fs::read(&input).expect("read input");
                match (name.as_str(), format_of(&name)) {
                    ("manifest", _) => checks::check_manifest(&data),
                    (_, Some(format)) => checks::check_adapter(&data, format),
                    _ => panic!("{} is not a fuzz target's folder", target.display()),
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 10,
        "the seeds are there: {checked} inputs checked"
    );
}

/// The real CloudTrail deliveries and Kubernetes audit traces seed the fuzz checks too, read in
/// place from `../shared/data` (third-party data is never copied into `fuzz/seeds`).
#[test]
fn real_third_party_files_pass_the_fuzz_checks() {
    for (folder, format) in [
        ("cloudtrail-invictus/CloudTrail", Format::CloudTrail),
        ("k8s-audit-falco/trace_files", Format::K8sAudit),
    ] {
        let Some(dir) = shared_data(folder) else {
            continue;
        };
        let mut checked = 0;
        for input in fs::read_dir(&dir).expect("data folder") {
            let input = input.expect("dir entry").path();
            if input.extension().is_some_and(|e| e == "json") {
                checks::check_adapter(&fs::read(&input).expect("read input"), format);
                checked += 1;
            }
        }
        assert!(
            checked >= 40,
            "{}: only {checked} files checked",
            dir.display()
        );
    }
}
