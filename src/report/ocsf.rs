//! Findings as OCSF Detection Finding events (class 2004), one JSON object per line, for SIEM
//! import. docs/report-format.md documents the mapping.

use serde_json::json;

use super::Report;

/// OCSF severity ids: 1 informational … 5 critical.
fn severity_id(severity: &str) -> u8 {
    match severity {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        _ => 1,
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let millis =
            chrono::DateTime::parse_from_rfc3339(&f.time).map_or(0, |t| t.timestamp_millis());
        let record = json!({
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "category_uid": 2,
            "category_name": "Findings",
            "activity_id": 1,
            "activity_name": "Create",
            "type_uid": 200_401,
            "type_name": "Detection Finding: Create",
            "time": millis,
            "severity_id": severity_id(&f.severity),
            "severity": f.severity,
            "status_id": 1,
            "status": "New",
            "message": f.explanation,
            "metadata": {
                "version": "1.1.0",
                "product": {"name": "onus", "vendor_name": "onus", "version": r.tool_version},
                "uid": f.id,
            },
            "finding_info": {
                "uid": f.id,
                "title": f.title,
                "desc": f.explanation,
                "types": [f.detector],
                "analytic": {"name": f.detector, "type_id": 1, "type": "Rule"},
                "related_events": f.evidence.as_array().into_iter().flatten()
                    .map(|id| json!({"uid": id})).collect::<Vec<_>>(),
            },
            "unmapped": {
                "failure_class": f.failure_class,
                "task": f.task,
                "principal": f.principal,
                "mappings": f.mappings,
                "rules_version": r.rules_version,
            },
        });
        out.push_str(&crate::text::json_string(&record, false).unwrap_or_default());
        out.push('\n');
    }
    out
}
