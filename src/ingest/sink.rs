//! What every format adapter writes through: the [`Sink`] that counts records, classifies actions
//! and derives entities, over an [`EvidenceWriter`] (the store, or memory). Nothing here needs the
//! database, so the adapters build and run without it (the fuzz targets do).

use std::io;

use super::detect::Format;
use super::reader::{Limits, LineReader};
use super::{IngestError, Progress, cloudtrail, k8s_audit, native};
use crate::model::{
    ActionClass, Constraints, CredentialRecord, Decision, DelegationKind, DelegationRecord, Event,
    EventKind, GrantRecord, Origin, Outcome, OwnerAssignment, PrincipalKind, QuarantineRecord,
    SourceCounts, TaskRecord, classify_action, event_id,
};
use crate::text::lossless_utf8;

/// Lines between progress updates.
const PROGRESS_EVERY: u64 = 8192;

/// Why an [`EvidenceWriter`] could not write: the store's error; nothing, in memory.
#[cfg(feature = "store")]
pub(super) type WriteFailed = crate::store::StoreError;
/// Why an [`EvidenceWriter`] could not write: without the store the only writer is memory,
/// which cannot fail.
#[cfg(not(feature = "store"))]
#[derive(Debug)]
pub(super) enum WriteFailed {}

/// Why reading a file stopped early.
pub(super) enum Stop {
    /// The file as a whole cannot be loaded; the transaction is rolled back.
    Refuse(String),
    /// The run cannot go on (the database failed).
    Fatal(IngestError),
}

impl From<WriteFailed> for Stop {
    fn from(e: WriteFailed) -> Self {
        #[cfg(feature = "store")]
        {
            Self::Fatal(e.into())
        }
        #[cfg(not(feature = "store"))]
        match e {}
    }
}

/// One unit of input handed to an adapter: a line, or the whole file in document mode.
pub(super) struct Unit<'b> {
    /// 1-based line where the unit starts.
    pub line: u64,
    /// Byte offset of the unit in the (decompressed) stream.
    pub offset: u64,
    pub bytes: &'b [u8],
}

/// A format-specific parser. It counts its own records through the [`Sink`]: every record it
/// sees must end as [`Sink::record_ok`] or [`Sink::quarantine`].
pub(super) trait Adapter {
    /// Parses one unit.
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop>;
    /// Called once at the end of the file, for adapters that pair or merge records.
    fn finish(&mut self, _sink: &mut Sink<'_>) -> Result<(), Stop> {
        Ok(())
    }
}

/// Where the rows an adapter produces end up: the store's `SourceWriter` in a real ingest
/// (`ingest/loader.rs`), or memory in a dry parse ([`super::dry_run`]).
pub(super) trait EvidenceWriter {
    fn event(&mut self, e: &Event) -> Result<(), WriteFailed>;
    fn quarantine(&mut self, q: &QuarantineRecord) -> Result<(), WriteFailed>;
    fn delegation(&mut self, d: &DelegationRecord) -> Result<(), WriteFailed>;
    fn credential(&mut self, c: &CredentialRecord) -> Result<(), WriteFailed>;
    fn principal(&mut self, id: &str, kind: PrincipalKind);
    fn task(&mut self, t: TaskRecord);
    fn grant(&mut self, g: GrantRecord);
    fn owner_assignment(&mut self, o: OwnerAssignment);
}

/// Where adapters put what they read: events, quarantine rows and derived entities, with the
/// bookkeeping that makes the counts reconcile.
pub(super) struct Sink<'w> {
    writer: &'w mut dyn EvidenceWriter,
    sha256: &'w str,
    limits: &'w Limits,
    overrides: &'w [(String, ActionClass)],
    counts: SourceCounts,
}

#[allow(
    dead_code,
    reason = "entity helpers are for the foreign-format adapters"
)]
impl<'w> Sink<'w> {
    /// A sink writing into `writer` for the file whose SHA-256 is `sha256`.
    pub fn new(
        writer: &'w mut dyn EvidenceWriter,
        sha256: &'w str,
        limits: &'w Limits,
        overrides: &'w [(String, ActionClass)],
    ) -> Self {
        Self {
            writer,
            sha256,
            limits,
            overrides,
            counts: SourceCounts::default(),
        }
    }

    /// The records counted so far.
    pub fn counts(&self) -> SourceCounts {
        self.counts
    }

    /// The stable id of the record at `locator` in this file.
    pub fn event_id(&self, locator: &str) -> String {
        event_id(self.sha256, locator)
    }

    /// The longest record (or document) the run accepts, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.limits.max_record_bytes
    }

    /// The first 16 hex digits of the file's SHA-256, as used in event ids.
    pub fn file_tag(&self) -> &str {
        self.sha256
            .get(..crate::model::ID_HASH_DIGITS)
            .unwrap_or(self.sha256)
    }

    /// Counts one record that ended up as one or more events (or merged into one).
    pub fn record_ok(&mut self) {
        self.counts.records_read += 1;
        self.counts.records_ok += 1;
    }

    /// Stores an event: classifies its action, derives the entities it states, writes it.
    pub fn event(&mut self, e: Event) -> Result<(), Stop> {
        self.event_with_details(e, None)
    }

    /// Like [`Sink::event`], for a `delegate` event whose delegation carries `details`
    /// (`DelegationRecord::details`: facts the format states about the hop).
    pub fn event_with_details(
        &mut self,
        mut e: Event,
        details: Option<serde_json::Value>,
    ) -> Result<(), Stop> {
        native::classify(&mut e, self.overrides, classify_action);
        derive_entities(&e, details, self.writer)?;
        self.writer.event(&e)?;
        Ok(())
    }

    /// Counts one record as read and keeps it in quarantine with the reason.
    pub fn quarantine(
        &mut self,
        locator: &str,
        offset: Option<u64>,
        reason: &str,
        raw: &[u8],
        total_len: u64,
        truncated: bool,
    ) -> Result<(), Stop> {
        let keep = raw.len().min(self.limits.max_quarantine_raw_bytes);
        let (text, _) = lossless_utf8(&raw[..keep]);
        self.writer.quarantine(&QuarantineRecord {
            id: event_id(self.sha256, locator),
            locator: locator.to_owned(),
            byte_offset: offset,
            reason: reason.to_owned(),
            raw: text.into_owned(),
            raw_bytes: total_len.max(raw.len() as u64),
            raw_truncated: truncated || keep < raw.len(),
        })?;
        self.counts.records_read += 1;
        self.counts.records_quarantined += 1;
        Ok(())
    }

    /// Records a delegation an adapter found beyond what events state themselves.
    pub fn delegation(&mut self, d: &DelegationRecord) -> Result<(), Stop> {
        Ok(self.writer.delegation(d)?)
    }

    /// Records a credential an adapter found beyond what events state themselves.
    pub fn credential(&mut self, c: &CredentialRecord) -> Result<(), Stop> {
        Ok(self.writer.credential(c)?)
    }

    /// Notes a principal with a kind the format makes clear.
    pub fn principal(&mut self, id: &str, kind: PrincipalKind) {
        self.writer.principal(id, kind);
    }

    /// Notes a task declaration an adapter found.
    pub fn task(&mut self, t: TaskRecord) {
        self.writer.task(t);
    }

    /// Reads the whole input through `adapter`.
    pub(super) fn drive(
        &mut self,
        adapter: &mut dyn Adapter,
        reader: Box<dyn io::BufRead>,
        watch: &super::reader::FileWatch,
        progress: &dyn Progress,
    ) -> Result<(), Stop> {
        self.drive_lines(adapter, reader, watch, progress)?;
        adapter.finish(self)?;
        progress.advanced(watch.bytes_read());
        Ok(())
    }

    fn drive_lines(
        &mut self,
        adapter: &mut dyn Adapter,
        reader: Box<dyn io::BufRead>,
        watch: &super::reader::FileWatch,
        progress: &dyn Progress,
    ) -> Result<(), Stop> {
        let mut lines = LineReader::new(reader, self.limits.max_record_bytes);
        let mut buf = Vec::new();
        let mut last_line = 0;
        loop {
            let info = match lines.next_line(&mut buf) {
                Ok(Some(info)) => info,
                Ok(None) => return Ok(()),
                Err(e) => return self.stream_failed(&e, last_line + 1),
            };
            last_line = info.number;
            if info.number % PROGRESS_EVERY == 0 {
                progress.advanced(watch.bytes_read());
            }
            if !info.truncated && buf.trim_ascii().is_empty() {
                continue; // blank lines are not records
            }
            if info.truncated {
                let reason = format!(
                    "record is {} bytes, over the limit of {} bytes (raise --max-record-bytes to load it)",
                    info.total_len, self.limits.max_record_bytes
                );
                let locator = format!("L{}", info.number);
                self.quarantine(
                    &locator,
                    Some(info.offset),
                    &reason,
                    &buf,
                    info.total_len,
                    true,
                )?;
                continue;
            }
            adapter.unit(
                &Unit {
                    line: info.number,
                    offset: info.offset,
                    bytes: &buf,
                },
                self,
            )?;
        }
    }

    /// A read error in the middle of a file: a decompression bomb refuses the file; anything
    /// else (a truncated gzip stream, say) keeps what was read and quarantines the rest.
    fn stream_failed(&mut self, e: &io::Error, next_line: u64) -> Result<(), Stop> {
        if e.kind() == io::ErrorKind::FileTooLarge {
            return Err(Stop::Refuse(e.to_string()));
        }
        let locator = format!("L{next_line}");
        let reason = format!("the rest of the file could not be read: {e}");
        self.quarantine(&locator, None, &reason, b"", 0, false)
    }
}

/// The native format as an [`Adapter`].
struct NativeAdapter;

impl Adapter for NativeAdapter {
    fn unit(&mut self, unit: &Unit<'_>, sink: &mut Sink<'_>) -> Result<(), Stop> {
        let locator = format!("L{}", unit.line);
        let id = sink.event_id(&locator);
        match native::parse_line(unit.bytes, id, locator.clone(), unit.line) {
            Ok(event) => {
                sink.event(event)?;
                sink.record_ok();
                Ok(())
            }
            Err(reason) => sink.quarantine(
                &locator,
                Some(unit.offset),
                &reason,
                unit.bytes,
                unit.bytes.len() as u64,
                false,
            ),
        }
    }
}

pub(super) fn adapter_for(format: Format, limits: &Limits) -> Box<dyn Adapter> {
    match format {
        Format::Onus => Box::new(NativeAdapter),
        Format::Otlp => Box::<super::otlp::OtlpAdapter>::default(),
        Format::Mcp => Box::<super::mcp::McpAdapter>::default(),
        Format::Chat => Box::<super::chat::ChatAdapter>::default(),
        Format::CloudTrail => Box::new(cloudtrail::CloudTrailAdapter::new(limits)),
        Format::K8sAudit => Box::new(k8s_audit::K8sAuditAdapter::default()),
    }
}

/// Records the principals, tasks, delegations, credentials, grants and owner assignments an
/// event states. Shared by every format.
///
/// A hand-off or a credential issue that was denied or failed did not happen: the event is kept
/// (the attempt is evidence) but no delegation or credential is derived from it.
fn derive_entities(
    e: &Event,
    details: Option<serde_json::Value>,
    w: &mut dyn EvidenceWriter,
) -> Result<(), WriteFailed> {
    let unknown = PrincipalKind::Unknown;
    w.principal(&e.actor, e.actor_kind.unwrap_or(unknown));
    if let Some(target) = &e.target {
        w.principal(target, e.target_kind.unwrap_or(unknown));
    }
    for other in [&e.on_behalf_of, &e.owner].into_iter().flatten() {
        w.principal(other, unknown);
    }
    let took_effect = !matches!(e.outcome, Outcome::Denied | Outcome::Error);
    match e.kind {
        EventKind::TaskStart => w.task(task_from(e)),
        EventKind::Delegate if took_effect => {
            if let Some(d) = delegation_from(e, details) {
                w.delegation(&d)?;
            }
        }
        EventKind::CredentialIssue if took_effect => {
            if let Some(c) = credential_from(e) {
                w.credential(&c)?;
            }
        }
        EventKind::GrantChange => {
            if let Some(g) = grant_from(e) {
                w.grant(g);
            }
        }
        EventKind::OwnerChange => {
            if let Some(o) = owner_from(e) {
                w.owner_assignment(o);
            }
        }
        _ => {}
    }
    Ok(())
}

fn task_from(e: &Event) -> TaskRecord {
    TaskRecord {
        task_id: e.task.clone().unwrap_or_default(),
        origin: Origin::Event,
        agent: Some(e.actor.clone()),
        intent: e.intent.clone(),
        constraints: e
            .constraints
            .clone()
            .and_then(|c| serde_json::from_value::<Constraints>(c).ok()),
        declared_at: Some(e.time),
        event_id: Some(e.id.clone()),
    }
}

fn delegation_from(e: &Event, details: Option<serde_json::Value>) -> Option<DelegationRecord> {
    let target = e.target.as_ref()?;
    let kind = match e.action.as_deref() {
        Some("assume_role") => DelegationKind::AssumeRole,
        // CloudTrail names the call itself: sts:AssumeRole, sts:AssumeRoleWithSAML, ...
        Some(a) if a.starts_with("sts:AssumeRole") => DelegationKind::AssumeRole,
        Some("impersonate" | "impersonation") => DelegationKind::Impersonation,
        _ => DelegationKind::Handoff,
    };
    Some(DelegationRecord {
        delegator: e.actor.clone(),
        delegate: target.clone(),
        kind,
        task: e.task.clone(),
        scope: e.scope.clone(),
        constraints: e.constraints.clone(),
        at: e.time,
        expires_at: e.expires_at,
        event_id: e.id.clone(),
        details,
    })
}

fn credential_from(e: &Event) -> Option<CredentialRecord> {
    Some(CredentialRecord {
        credential_id: e.credential.clone()?,
        holder: e.target.clone(),
        issuer: Some(e.actor.clone()),
        credential_type: e.credential_type,
        issued_at: Some(e.time),
        expires_at: e.expires_at,
        scope: e.scope.clone(),
        task: e.task.clone(),
        origin: Origin::Event,
        event_id: Some(e.id.clone()),
    })
}

/// A grant given; removals (`decision: deny`) stay in the events only.
fn grant_from(e: &Event) -> Option<GrantRecord> {
    if e.decision == Some(Decision::Deny) {
        return None;
    }
    Some(GrantRecord {
        grant_id: e.grant.clone()?,
        principal: e.target.clone()?,
        scope: e.scope.clone(),
        approved_by: Some(e.actor.clone()),
        valid_from: Some(e.time),
        valid_until: e.expires_at,
        origin: Origin::Event,
        event_id: Some(e.id.clone()),
    })
}

fn owner_from(e: &Event) -> Option<OwnerAssignment> {
    Some(OwnerAssignment {
        subject: e.target.clone()?,
        role: e.role?,
        owner: e.owner.clone()?,
        valid_from: Some(e.time),
        valid_until: None,
        origin: Origin::Event,
        event_id: Some(e.id.clone()),
    })
}
