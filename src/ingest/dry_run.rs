//! Parsing evidence in memory without a database: what a file would load as, with the same
//! adapters, limits and record accounting as a real ingest. Used by the fuzz targets and by
//! tests that check an adapter's output without opening a store.

use std::collections::BTreeMap;
use std::io;

use super::detect::{Format, detect_in};
use super::reader::{EvidenceFile, Limits, sha256_hex};
use super::sink::{EvidenceWriter, Sink, Stop, WriteFailed, adapter_for};
use super::{FormatChoice, NoProgress};
use crate::model::{
    CredentialRecord, DelegationRecord, Event, GrantRecord, OwnerAssignment, PrincipalKind,
    QuarantineRecord, SourceCounts, TaskRecord,
};

/// Everything one file produced, kept in memory.
#[derive(Debug, Clone, Default)]
pub struct ParsedEvidence {
    /// The format the file was read as.
    pub format: Option<Format>,
    /// Records read, normalised and quarantined; `events_ingested` is `events.len()`.
    pub counts: SourceCounts,
    pub events: Vec<Event>,
    pub quarantine: Vec<QuarantineRecord>,
    pub delegations: Vec<DelegationRecord>,
    pub credentials: Vec<CredentialRecord>,
    /// Every principal named, with the most specific kind stated.
    pub principals: BTreeMap<String, PrincipalKind>,
    pub tasks: Vec<TaskRecord>,
    pub grants: Vec<GrantRecord>,
    pub owner_assignments: Vec<OwnerAssignment>,
}

impl EvidenceWriter for ParsedEvidence {
    fn event(&mut self, e: &Event) -> Result<(), WriteFailed> {
        self.events.push(e.clone());
        Ok(())
    }
    fn quarantine(&mut self, q: &QuarantineRecord) -> Result<(), WriteFailed> {
        self.quarantine.push(q.clone());
        Ok(())
    }
    fn delegation(&mut self, d: &DelegationRecord) -> Result<(), WriteFailed> {
        self.delegations.push(d.clone());
        Ok(())
    }
    fn credential(&mut self, c: &CredentialRecord) -> Result<(), WriteFailed> {
        self.credentials.push(c.clone());
        Ok(())
    }
    fn principal(&mut self, id: &str, kind: PrincipalKind) {
        let known = self
            .principals
            .entry(id.to_owned())
            .or_insert(PrincipalKind::Unknown);
        if kind != PrincipalKind::Unknown {
            *known = kind;
        }
    }
    fn task(&mut self, t: TaskRecord) {
        self.tasks.push(t);
    }
    fn grant(&mut self, g: GrantRecord) {
        self.grants.push(g);
    }
    fn owner_assignment(&mut self, o: OwnerAssignment) {
        self.owner_assignments.push(o);
    }
}

/// Parses `bytes` (plain or gzip) as one evidence file would be read, storing nothing.
///
/// # Errors
/// The reason the file as a whole would be refused (unrecognised format, a decompression bomb,
/// a document over the size limit), as `onus ingest` would report it.
pub fn parse_evidence(
    bytes: &[u8],
    format: FormatChoice,
    limits: &Limits,
) -> Result<ParsedEvidence, String> {
    let open = || EvidenceFile::from_reader(Box::new(io::Cursor::new(bytes.to_vec())), limits);
    let format = match format {
        FormatChoice::Force(f) => f,
        FormatChoice::Auto => match open().and_then(detect_in) {
            Ok(Ok(f)) => f,
            Ok(Err(reason)) => return Err(reason),
            Err(e) => return Err(format!("cannot read: {e}")),
        },
    };
    let file = open().map_err(|e| format!("cannot read: {e}"))?;
    let sha256 = sha256_hex(bytes);
    let mut parsed = ParsedEvidence {
        format: Some(format),
        ..ParsedEvidence::default()
    };
    let (reader, watch) = file.into_parts();
    let mut adapter = adapter_for(format, limits);
    let mut sink = Sink::new(&mut parsed, &sha256, limits, &[]);
    let result = sink.drive(adapter.as_mut(), reader, &watch, &NoProgress);
    let counts = sink.counts();
    match result {
        Ok(()) => {}
        Err(Stop::Refuse(reason)) => return Err(reason),
        Err(Stop::Fatal(e)) => return Err(e.to_string()),
    }
    parsed.counts = SourceCounts {
        events_ingested: parsed.events.len() as u64,
        ..counts
    };
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_parse_counts_like_an_ingest() {
        let input = b"{\"time\":\"2026-01-01T00:00:00Z\",\"kind\":\"tool.call\",\"actor\":\"agent:a\",\"action\":\"read\"}\nnot json\n\n";
        let parsed = parse_evidence(input, FormatChoice::Auto, &Limits::default()).expect("parsed");
        assert_eq!(parsed.format, Some(Format::Onus));
        assert_eq!(parsed.counts.records_read, 2);
        assert_eq!(parsed.counts.records_ok, 1);
        assert_eq!(parsed.counts.records_quarantined, 1);
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.quarantine[0].locator, "L2");
        assert!(parsed.principals.contains_key("agent:a"));
    }

    #[test]
    fn unrecognised_bytes_are_refused_with_a_reason() {
        let err = parse_evidence(b"a,b,c\n1,2,3\n", FormatChoice::Auto, &Limits::default())
            .expect_err("refused");
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn responses_waiting_for_their_requests_are_held_up_to_a_bound() {
        // More unanswered responses than the adapter holds: the ones past the bound are
        // quarantined at once (saying why), the held ones at the end; none is lost.
        use std::fmt::Write as _;
        let n = 100_003;
        let mut log = String::new();
        for id in 0..n {
            let _ = writeln!(
                log,
                "{{\"timestamp\":\"2026-03-11T09:00:03Z\",\"session\":\"s\",\"message\":{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}}}"
            );
        }
        let parsed = parse_evidence(
            log.as_bytes(),
            FormatChoice::Force(Format::Mcp),
            &Limits::default(),
        )
        .expect("parsed");
        assert_eq!(parsed.counts.records_read, n);
        assert_eq!(parsed.quarantine.len() as u64, n);
        let refused_at_once: Vec<&str> = parsed
            .quarantine
            .iter()
            .filter(|q| q.reason.contains("too many such responses"))
            .map(|q| q.locator.as_str())
            .collect();
        assert_eq!(refused_at_once, ["L100001", "L100002", "L100003"]);
    }

    #[test]
    fn a_gzip_bomb_in_memory_is_refused_at_the_limit() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b'\n'; 1 << 20];
        for _ in 0..8 {
            gz.write_all(&zeros).expect("compress");
        }
        let bomb = gz.finish().expect("compress");
        let limits = Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::default()
        };
        let err =
            parse_evidence(&bomb, FormatChoice::Force(Format::Onus), &limits).expect_err("refused");
        assert!(err.contains("limit of 1048576 bytes"), "{err}");
    }
}
