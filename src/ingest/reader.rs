//! Reading evidence files safely: hashing, transparent gzip, and line splitting with a bound on
//! record size, so that a hostile file cannot exhaust memory.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

/// Size limits for reading untrusted files. The defaults suit real audit logs; the CLI can
/// change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest single record (line) read; longer ones are quarantined with their start kept.
    pub max_record_bytes: usize,
    /// How much of a quarantined record is kept in the store.
    pub max_quarantine_raw_bytes: usize,
    /// Most bytes a compressed file may inflate to; beyond that the file is refused
    /// (a decompression bomb).
    pub max_decompressed_bytes: u64,
    /// Largest accountability manifest read; a bigger one is refused whole. A manifest is
    /// parsed in memory, and an organisation of 100,000 principals with their owners writes
    /// about 30 MB of TOML.
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 16 * 1024 * 1024,
            max_quarantine_raw_bytes: 64 * 1024,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
        }
    }
}

const CHUNK: usize = 1 << 20;

/// Hashes a whole file: SHA-256 as lowercase hex, and its size in bytes.
pub(super) fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// The default for `--max-decompressed-bytes`: 4 GiB of inflated text per gzip file, which a
/// laptop's disk and the store's growth (a few times the text for small records) can take.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The default for `--max-manifest-bytes`. A manifest is written by hand or generated from an
/// inventory; 4 MiB is tens of thousands of entries. Parsing TOML takes several times the
/// text in memory, so the cap also bounds the memory a planted or runaway manifest can take.
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Why a FIFO, socket or device is not read.
pub(super) const NOT_REGULAR: &str = "not a regular file (a FIFO, socket or device could block or never end, and cannot be read twice)";

/// Opens `path` for reading only if it is a regular file, without ever blocking: the open does
/// not wait for a FIFO's writer (non-blocking mode), and the check is made on the opened file
/// (`fstat`), so a path swapped for a FIFO or a device after an earlier look is still refused.
/// A kernel file that looks regular but has nothing to give yet (`/proc/kmsg`) fails its first
/// read with "would block" instead of hanging.
pub(super) fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, NOT_REGULAR));
    }
    Ok(file)
}

/// SHA-256 of bytes in memory, as lowercase hex.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The raw file as it is read: counts and hashes every byte so that a file changed between
/// the hash pass and the load pass is noticed.
struct Tap {
    file: Box<dyn Read>,
    hasher: Sha256,
    read: u64,
}

#[derive(Clone)]
struct TapReader(Rc<RefCell<Tap>>);

impl Read for TapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut tap = self.0.borrow_mut();
        let n = tap.file.read(buf)?;
        tap.hasher.update(&buf[..n]);
        tap.read += n as u64;
        Ok(n)
    }
}

/// Stops a decompressed stream that grows past the limit, and counts what it gave.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    inflated: Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflated.set(self.inflated.get() + n as u64);
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "decompressed data exceeds the limit of {} bytes (a decompression bomb?)",
                    self.limit
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An evidence file open for reading, decompressed if it was gzip.
pub(super) struct EvidenceFile {
    tap: Rc<RefCell<Tap>>,
    /// Bytes decompressed so far, for a gzip file.
    inflated: Option<Rc<std::cell::Cell<u64>>>,
    pub reader: Box<dyn BufRead>,
}

impl EvidenceFile {
    /// Opens `path` read-only. Gzip is recognised by its magic bytes, not by the file name.
    pub fn open(path: &Path, limits: &Limits) -> io::Result<Self> {
        Self::from_reader(Box::new(open_regular(path)?), limits)
    }

    /// Reads evidence from any byte stream (a file, or bytes in memory for a dry parse).
    pub fn from_reader(mut file: Box<dyn Read>, limits: &Limits) -> io::Result<Self> {
        let mut magic = [0u8; 2];
        let got = read_up_to(&mut file, &mut magic)?;
        let compressed = got == 2 && magic == [0x1f, 0x8b];
        let mut hasher = Sha256::new();
        hasher.update(&magic[..got]);
        let tap = Rc::new(RefCell::new(Tap {
            file,
            hasher,
            read: got as u64,
        }));
        let head = io::Cursor::new(magic[..got].to_vec());
        let raw = head.chain(TapReader(Rc::clone(&tap)));
        let inflated = compressed.then(|| Rc::new(std::cell::Cell::new(0)));
        let reader: Box<dyn BufRead> = if let Some(counter) = &inflated {
            Box::new(BufReader::with_capacity(
                CHUNK,
                Bounded {
                    inner: MultiGzDecoder::new(BufReader::with_capacity(CHUNK, raw)),
                    left: limits.max_decompressed_bytes,
                    limit: limits.max_decompressed_bytes,
                    inflated: Rc::clone(counter),
                },
            ))
        } else {
            Box::new(BufReader::with_capacity(CHUNK, raw))
        };
        Ok(Self {
            tap,
            inflated,
            reader: Box::new(SkipByteOrderMark {
                inner: reader,
                head: None,
                at: 0,
            }),
        })
    }

    /// Separates the decoded stream from the handle that watches the file on disk.
    pub fn into_parts(self) -> (Box<dyn BufRead>, FileWatch) {
        (
            self.reader,
            FileWatch {
                tap: self.tap,
                inflated: self.inflated,
            },
        )
    }
}

/// Watches the bytes read from disk while the decoded stream is consumed.
pub(super) struct FileWatch {
    tap: Rc<RefCell<Tap>>,
    inflated: Option<Rc<std::cell::Cell<u64>>>,
}

impl FileWatch {
    /// For a gzip file, the bytes it has inflated to so far.
    pub fn decompressed_bytes(&self) -> Option<u64> {
        self.inflated.as_ref().map(|c| c.get())
    }

    /// Bytes of the file on disk read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.tap.borrow().read
    }

    /// Reads whatever is left of the file on disk and returns its SHA-256 (hex). The decoded
    /// stream must have been dropped first.
    pub fn finish_hash(self) -> io::Result<String> {
        let tap = Rc::try_unwrap(self.tap)
            .map_err(|_| io::Error::other("evidence file still in use"))?
            .into_inner();
        let Tap {
            mut file,
            mut hasher,
            ..
        } = tap;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex(&hasher.finalize()))
    }
}

/// A UTF-8 byte-order mark, as Windows tools write at the start of a text file.
const BYTE_ORDER_MARK: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Drops a byte-order mark at the start of the decoded stream (JSON allows a reader to ignore
/// it; left in, it made every format refuse the file). The file's hash still covers it; byte
/// offsets in quarantine records count from after it. The first bytes are looked at on the
/// first read, so a read error surfaces where reads are expected to fail, not at open.
struct SkipByteOrderMark {
    inner: Box<dyn BufRead>,
    /// The first bytes, once read (without the mark); `None` before the first read.
    head: Option<Vec<u8>>,
    /// How much of `head` has been consumed.
    at: usize,
}

impl SkipByteOrderMark {
    fn head(&mut self) -> io::Result<&[u8]> {
        if self.head.is_none() {
            let mut first = [0u8; 3];
            let got = read_up_to(&mut self.inner, &mut first)?;
            let kept = if got == 3 && first == BYTE_ORDER_MARK {
                Vec::new()
            } else {
                first[..got].to_vec()
            };
            self.head = Some(kept);
        }
        Ok(self.head.as_deref().map_or(&[][..], |h| &h[self.at..]))
    }
}

impl Read for SkipByteOrderMark {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for SkipByteOrderMark {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if !self.head()?.is_empty() {
            return self.head();
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        let left = self.head.as_ref().map_or(0, |h| h.len() - self.at);
        if left > 0 {
            self.at += amount.min(left);
        } else {
            self.inner.consume(amount);
        }
    }
}

fn read_up_to(file: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = file.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Where a line was and whether it was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineInfo {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's start in the (decompressed) stream.
    pub offset: u64,
    /// Length of the whole line, without its line ending.
    pub total_len: u64,
    /// True when the line was longer than the limit and only its start was kept.
    pub truncated: bool,
}

/// Splits a stream into lines, keeping at most `max` bytes of each.
pub(super) struct LineReader<R> {
    inner: R,
    max: usize,
    number: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            number: 0,
            offset: 0,
        }
    }

    /// Reads the next line into `out` (without `\n` or `\r\n`). `None` at end of input.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        out.clear();
        let start = self.offset;
        let mut total = 0u64;
        let mut saw_any = false;
        let mut newline = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (take, used) = match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    newline = true;
                    (i, i + 1)
                }
                None => (buf.len(), buf.len()),
            };
            let room = self.max.saturating_sub(out.len());
            out.extend_from_slice(&buf[..take.min(room)]);
            total += take as u64;
            self.inner.consume(used);
            if newline {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        self.offset += total + u64::from(newline);
        let truncated = total > out.len() as u64;
        if !truncated && out.last() == Some(&b'\r') {
            out.pop();
            total -= 1;
        }
        Ok(Some(LineInfo {
            number: self.number,
            offset: start,
            total_len: total,
            truncated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(Vec<u8>, LineInfo)> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(info) = reader.next_line(&mut buf).expect("in-memory read") {
            out.push((buf.clone(), info));
        }
        out
    }

    fn decoded(bytes: &[u8]) -> Vec<u8> {
        let mut file = EvidenceFile::from_reader(
            Box::new(io::Cursor::new(bytes.to_vec())),
            &Limits::default(),
        )
        .expect("open");
        let mut out = Vec::new();
        file.reader.read_to_end(&mut out).expect("read");
        out
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped_and_only_there() {
        assert_eq!(decoded(b"\xEF\xBB\xBF{\"a\":1}\n"), b"{\"a\":1}\n");
        // Anywhere else, and a partial mark, the bytes stay.
        assert_eq!(decoded(b"{}\xEF\xBB\xBF"), b"{}\xEF\xBB\xBF");
        assert_eq!(decoded(b"\xEF\xBB"), b"\xEF\xBB");
        assert_eq!(decoded(b"\xEF\xBB\xBF"), b"");
        assert_eq!(decoded(b"ab"), b"ab");
        assert_eq!(decoded(b""), b"");
        // Inside gzip too: the mark is a property of the text, not of the file.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"\xEF\xBB\xBF[1]").expect("compress");
        assert_eq!(decoded(&gz.finish().expect("compress")), b"[1]");
    }

    #[test]
    fn splits_lines_and_tracks_offsets() {
        let got = lines(b"ab\r\ncd\n\nlast", 100);
        let texts: Vec<&[u8]> = got.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(texts, [&b"ab"[..], b"cd", b"", b"last"]);
        assert_eq!(got[1].1.offset, 4);
        assert_eq!(got[3].1.number, 4);
        assert_eq!(got[3].1.offset, 8);
    }

    #[test]
    fn long_lines_are_cut_but_measured() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input, 10);
        assert_eq!(got[0].0.len(), 10);
        assert!(got[0].1.truncated);
        assert_eq!(got[0].1.total_len, 1000);
        assert_eq!(got[1].0, b"next");
        assert_eq!(got[1].1.offset, 1001);
    }

    #[test]
    fn gzip_is_detected_by_content_and_hash_covers_the_file() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.json");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"hello\nworld\n").expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        let (sha, _) = hash_file(&path).expect("hash");
        let file = EvidenceFile::open(&path, &Limits::default()).expect("open");
        let mut text = String::new();
        let mut file = file;
        file.reader.read_to_string(&mut text).expect("inflate");
        assert_eq!(text, "hello\nworld\n");
        let (reader, watch) = file.into_parts();
        drop(reader);
        assert_eq!(watch.finish_hash().expect("hash"), sha);
    }

    #[test]
    fn decompression_bombs_are_stopped() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bomb.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; 1 << 20]).expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        let limits = Limits {
            max_decompressed_bytes: 1000,
            ..Limits::default()
        };
        let mut file = EvidenceFile::open(&path, &limits).expect("open");
        let mut sink = Vec::new();
        let err = file.reader.read_to_end(&mut sink).expect_err("bomb");
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }
}
