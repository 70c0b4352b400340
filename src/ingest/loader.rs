//! Loading one file as one source in the store: the steps every format shares (hash,
//! de-duplicate, detect, transaction, quarantine, reconcile) around the format-specific record
//! parser, which writes through the [`Sink`].

use std::path::Path;

use super::detect::detect;
use super::reader::{EvidenceFile, Limits, hash_file};
use super::sink::{EvidenceWriter, Sink, Stop, adapter_for};
use super::{FileOutcome, FormatChoice, Inflation, IngestError, IngestOptions, Progress, manifest};
use crate::model::{
    CredentialRecord, DelegationRecord, Event, GrantRecord, Origin, OwnerAssignment, PrincipalKind,
    QuarantineRecord, SourceCounts, TaskRecord,
};
use crate::store::{NewSource, SourceWriter, Store, StoreError};

/// How many quarantine reasons an ingest summary shows per file.
const QUARANTINE_SAMPLE: usize = 5;

enum Prepared {
    Ready { sha256: String, size: u64 },
    Done(FileOutcome),
}

fn prepare(store: &Store, path: &Path) -> Result<Prepared, IngestError> {
    let (sha256, size) = match hash_file(path) {
        Ok(x) => x,
        Err(e) => {
            return Ok(Prepared::Done(FileOutcome::Refused {
                reason: format!("cannot read: {e}"),
            }));
        }
    };
    if let Some(existing) = store.source_by_sha256(&sha256)? {
        return Ok(Prepared::Done(FileOutcome::Duplicate {
            sha256,
            existing_source_id: existing.id,
            existing_path: existing.path,
        }));
    }
    Ok(Prepared::Ready { sha256, size })
}

/// Reads a regular file whole, but never more than `cap` bytes plus one (a file that grew past
/// the limit after its size was checked is then refused by the parser or the hash check).
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    super::reader::open_regular(path)?
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Loads a manifest: validated as a whole, refused as a whole.
pub(super) fn load_manifest(
    store: &mut Store,
    path: &Path,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<FileOutcome, IngestError> {
    let (sha256, size) = match prepare(store, path)? {
        Prepared::Ready { sha256, size } => (sha256, size),
        Prepared::Done(outcome) => return Ok(outcome),
    };
    if size > limits.max_manifest_bytes {
        return Ok(FileOutcome::Refused {
            reason: format!(
                "the manifest is {size} bytes, over the limit of {} bytes (raise --max-manifest-bytes to load it)",
                limits.max_manifest_bytes
            ),
        });
    }
    let bytes = match read_capped(path, limits.max_manifest_bytes) {
        Ok(b) => b,
        Err(e) => {
            return Ok(FileOutcome::Refused {
                reason: format!("cannot read: {e}"),
            });
        }
    };
    if bytes.len() as u64 != size || super::reader::sha256_hex(&bytes) != sha256 {
        return Ok(FileOutcome::Refused {
            reason: "the file changed while it was read".to_owned(),
        });
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(FileOutcome::Refused {
            reason: "manifest is not valid UTF-8".to_owned(),
        });
    };
    let manifest = match manifest::parse_manifest(text) {
        Ok(m) => m,
        Err(e) => {
            return Ok(FileOutcome::Refused {
                reason: format!("invalid manifest: {e}"),
            });
        }
    };
    progress.file_started(path, size);
    let mut writer = store.begin_source(NewSource {
        path: crate::text::path_text(path).into_owned(),
        format: "manifest".to_owned(),
        sha256: sha256.clone(),
        size_bytes: size,
    })?;
    manifest.write(&mut writer)?;
    let records = manifest.record_count();
    let (source_id, counts) = writer.commit(SourceCounts {
        records_read: records,
        records_ok: records,
        ..SourceCounts::default()
    })?;
    progress.file_finished();
    Ok(FileOutcome::Loaded {
        source_id,
        format: "manifest".to_owned(),
        sha256,
        counts,
        quarantine_sample: Vec::new(),
        inflation: None,
    })
}

/// Loads one evidence log.
pub(super) fn load_log(
    store: &mut Store,
    path: &Path,
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<FileOutcome, IngestError> {
    let limits = &options.limits;
    let (sha256, size) = match prepare(store, path)? {
        Prepared::Ready { sha256, size } => (sha256, size),
        Prepared::Done(outcome) => return Ok(outcome),
    };
    let format = match options.format {
        FormatChoice::Force(f) => f,
        FormatChoice::Auto => match detect(path, limits) {
            Ok(Ok(f)) => f,
            Ok(Err(reason)) => return Ok(FileOutcome::Refused { reason }),
            Err(e) => {
                return Ok(FileOutcome::Refused {
                    reason: format!("cannot read: {e}"),
                });
            }
        },
    };
    let file = match EvidenceFile::open(path, limits) {
        Ok(f) => f,
        Err(e) => {
            return Ok(FileOutcome::Refused {
                reason: format!("cannot read: {e}"),
            });
        }
    };
    let overrides = store.action_class_overrides()?;
    progress.file_started(path, size);
    let mut writer = store.begin_source(NewSource {
        path: crate::text::path_text(path).into_owned(),
        format: format.as_str().to_owned(),
        sha256: sha256.clone(),
        size_bytes: size,
    })?;
    let mut sink = Sink::new(&mut writer, &sha256, limits, &overrides);
    let (reader, watch) = file.into_parts();
    let mut adapter = adapter_for(format, limits);
    let read_result = sink.drive(adapter.as_mut(), reader, &watch, progress);
    let counts = sink.counts();
    match read_result {
        Ok(()) => {}
        Err(Stop::Refuse(reason)) => return Ok(FileOutcome::Refused { reason }),
        Err(Stop::Fatal(e)) => return Err(e),
    }
    let inflation = watch.decompressed_bytes().map(|decompressed| Inflation {
        compressed: size,
        decompressed,
        limit: limits.max_decompressed_bytes,
    });
    match watch.finish_hash() {
        Ok(after) if after == sha256 => {}
        Ok(_) => {
            return Ok(FileOutcome::Refused {
                reason: "the file changed while it was being read; nothing was stored (ingest it again once it is stable)".to_owned(),
            });
        }
        Err(e) => {
            return Ok(FileOutcome::Refused {
                reason: format!("cannot read: {e}"),
            });
        }
    }
    let (source_id, counts) = writer.commit(counts)?;
    progress.file_finished();
    let mut quarantine_sample = Vec::new();
    if counts.records_quarantined > 0 {
        quarantine_sample = store.quarantine_reasons(source_id, QUARANTINE_SAMPLE)?;
    }
    Ok(FileOutcome::Loaded {
        source_id,
        format: format.as_str().to_owned(),
        sha256,
        counts,
        quarantine_sample,
        inflation,
    })
}

impl EvidenceWriter for SourceWriter<'_> {
    fn event(&mut self, e: &Event) -> Result<(), StoreError> {
        SourceWriter::event(self, e)
    }
    fn quarantine(&mut self, q: &QuarantineRecord) -> Result<(), StoreError> {
        SourceWriter::quarantine(self, q)
    }
    fn delegation(&mut self, d: &DelegationRecord) -> Result<(), StoreError> {
        SourceWriter::delegation(self, d)
    }
    fn credential(&mut self, c: &CredentialRecord) -> Result<(), StoreError> {
        SourceWriter::credential(self, c)
    }
    fn principal(&mut self, id: &str, kind: PrincipalKind) {
        SourceWriter::principal(self, id, kind, None, Origin::Event);
    }
    fn task(&mut self, t: TaskRecord) {
        SourceWriter::task(self, t);
    }
    fn grant(&mut self, g: GrantRecord) {
        SourceWriter::grant(self, g);
    }
    fn owner_assignment(&mut self, o: OwnerAssignment) {
        SourceWriter::owner_assignment(self, o);
    }
}
