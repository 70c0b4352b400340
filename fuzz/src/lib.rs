//! What every fuzz target checks, whatever the input: no panic (libFuzzer reports one as a
//! crash), and the properties an ingest promises: the record counts reconcile, every quarantine
//! row says where and why, and every text field of every event is inert once escaped for a
//! terminal.

use onus::ingest::{Format, FormatChoice, Limits, ParsedEvidence, parse_evidence};

/// Small limits, so that the fuzzer explores the over-the-limit paths too.
const LIMITS: Limits = Limits {
    max_record_bytes: 64 * 1024,
    max_quarantine_raw_bytes: 4 * 1024,
    max_decompressed_bytes: 4 * 1024 * 1024,
    max_manifest_bytes: 1024 * 1024,
};

/// Reads `data` as `format`, then with format detection, and checks both results.
pub fn check_adapter(data: &[u8], format: Format) {
    for choice in [FormatChoice::Force(format), FormatChoice::Auto] {
        match parse_evidence(data, choice, &LIMITS) {
            Ok(parsed) => check_parsed(&parsed),
            Err(reason) => assert!(!reason.is_empty(), "a refusal must give its reason"),
        }
    }
}

fn check_parsed(parsed: &ParsedEvidence) {
    let c = parsed.counts;
    assert!(c.reconciles(), "counts do not reconcile: {c:?}");
    assert_eq!(c.records_quarantined as usize, parsed.quarantine.len());
    assert_eq!(c.events_ingested as usize, parsed.events.len());
    for q in &parsed.quarantine {
        assert!(!q.locator.is_empty(), "quarantine row without a location");
        assert!(!q.reason.is_empty(), "quarantine row without a reason");
        assert!(q.raw.len() <= LIMITS.max_quarantine_raw_bytes * 4 + 64);
    }
    for e in &parsed.events {
        assert!(!e.id.is_empty() && !e.locator.is_empty());
        let fields = [
            Some(&e.actor),
            e.on_behalf_of.as_ref(),
            e.task.as_ref(),
            e.action.as_ref(),
            e.resource.as_ref(),
            e.destination.as_ref(),
            e.content.as_ref(),
            e.intent.as_ref(),
            e.target.as_ref(),
            e.status.as_ref(),
        ];
        for text in fields.into_iter().flatten() {
            assert_inert(&onus::text::for_terminal(text));
            assert_inert(&onus::text::csv_field(text));
        }
        // Every event must serialise (reports and JSON output do this).
        serde_json::to_string(e).expect("an event serialises");
    }
}

/// Nothing that can drive a terminal or reorder text may survive escaping.
fn assert_inert(shown: &str) {
    for ch in shown.chars() {
        let bidi = matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!ch.is_control() && !bidi, "escaped text still holds {ch:?}");
    }
}

/// Parses `data` as a manifest. A valid one counts every declaration as a record (and at most the
/// four policy keys more), and every task's constraints pass their own validation; parsing the
/// same text twice gives the same count.
pub fn check_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match onus::ingest::parse_manifest(text) {
        Ok(m) => {
            let declared = (m.principals.len()
                + m.agents.len()
                + m.tasks.len()
                + m.grants.len()
                + m.credentials.len()
                + m.action_classes.len()
                + m.tools.len()) as u64;
            let count = m.record_count();
            assert!(
                (declared..=declared + 4).contains(&count),
                "record count {count} for {declared} declarations"
            );
            for t in &m.tasks {
                if let Some(c) = &t.constraints {
                    assert!(
                        c.validate().is_ok(),
                        "a validated manifest holds a bad constraint"
                    );
                }
            }
            let again = onus::ingest::parse_manifest(text).expect("the same text parses again");
            assert_eq!(again.record_count(), count);
        }
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal must give its reason"),
    }
}
