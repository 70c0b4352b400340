//! Writing rows to stdout as an aligned table, CSV or JSON. Every cell of evidence text goes
//! through [`crate::text`] first: tables are escaped for the terminal, CSV against formula
//! injection; JSON by serde, plus C1 controls and bidirectional marks ([`crate::text::write_json`]).

use std::io::{self, Write};

use crate::text::{csv_field, for_terminal_clipped};

/// Widest a table cell may be, in characters; longer text is cut with an ellipsis.
const MAX_CELL: usize = 64;

/// A byte count as a person reads it: `512 B`, `4.0 KiB`, `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Shows a JSON value as table or CSV text (`null` shows as empty).
pub fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes an aligned, terminal-safe table.
pub fn write_table(
    out: &mut impl Write,
    headers: &[String],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let safe_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| for_terminal_clipped(c, MAX_CELL))
                .collect()
        })
        .collect();
    let safe_headers: Vec<String> = headers
        .iter()
        .map(|h| for_terminal_clipped(h, MAX_CELL))
        .collect();
    let mut widths: Vec<usize> = safe_headers.iter().map(|h| h.chars().count()).collect();
    for row in &safe_rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    write_row(out, &safe_headers, &widths)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    write_row(out, &rule, &widths)?;
    for row in &safe_rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if i + 1 < cells.len() {
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// Writes one CSV record.
pub fn write_csv_row<S: AsRef<str>>(out: &mut impl Write, cells: &[S]) -> io::Result<()> {
    let line: Vec<String> = cells
        .iter()
        .map(|c| csv_field(c.as_ref()).into_owned())
        .collect();
    writeln!(out, "{}", line.join(","))
}

/// Streams JSON values as one JSON array, one element per line.
pub struct JsonArrayWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonArrayWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Self { out, first: true })
    }

    pub fn push(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        crate::text::write_json(&mut self.out, value, false).map_err(io::Error::other)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out
            .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_escape_hostile_cells() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["a".to_owned(), "bb".to_owned()],
            &[vec!["\x1b[2Jx".to_owned(), "1".to_owned()]],
        )
        .expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(!text.contains('\x1b'), "{text:?}");
        assert_eq!(text, "a         bb\n--------  --\n\\x1b[2Jx  1\n");
    }

    #[test]
    fn json_arrays_are_valid_when_empty_and_full() {
        let w = JsonArrayWriter::new(Vec::new()).expect("w");
        let empty = w.finish().expect("finish");
        assert_eq!(
            serde_json::from_slice::<Vec<u8>>(&empty).expect("json"),
            Vec::<u8>::new()
        );
        let mut w = JsonArrayWriter::new(Vec::new()).expect("w");
        w.push(&1).expect("push");
        w.push(&2).expect("push");
        let full = w.finish().expect("finish");
        assert_eq!(
            serde_json::from_slice::<Vec<u8>>(&full).expect("json"),
            vec![1, 2]
        );
    }

    #[test]
    fn byte_counts_read_as_a_person_reads_them() {
        assert_eq!(super::human_bytes(0), "0 B");
        assert_eq!(super::human_bytes(1023), "1023 B");
        assert_eq!(super::human_bytes(1024), "1.0 KiB");
        assert_eq!(super::human_bytes(4 * 1024 * 1024 + 512 * 1024), "4.5 MiB");
        assert_eq!(super::human_bytes(4 * 1024 * 1024 * 1024), "4.0 GiB");
        assert_eq!(super::human_bytes(u64::MAX), "16384.0 PiB");
    }
}
