//! Reading the `Records` array of a delivery file one record at a time, so that a file cut in
//! the middle still gives every record before the cut (and says where it broke).

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::ingest::json::{DuplicateKey, ValueSeed};

/// One element of `Records`.
#[derive(Debug)]
pub(super) struct Item {
    pub value: Value,
    /// A key written twice inside it (the record is then quarantined, see `ingest/json.rs`).
    pub duplicate: Option<DuplicateKey>,
    /// The element's text exactly as it stands in the document.
    pub raw: Option<String>,
}

/// What a `{"Records":[...]}` document held.
#[derive(Debug, Default)]
pub(super) struct Records {
    /// Every complete element of `Records`, in order.
    pub items: Vec<Item>,
    /// Why reading stopped early, if it did; the records in `items` are still good.
    pub problem: Option<String>,
    /// Whether the document ended before it was complete.
    pub cut: bool,
    /// Whether a `Records` key was found at all.
    pub found: bool,
    /// Whether the top level has `Records` more than once (only the first is read).
    pub repeated: bool,
}

/// Parses a delivery document, keeping every record read before any error.
pub(super) fn parse_records(bytes: &[u8]) -> Records {
    let mut out = Records::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = DocumentSeed {
        items: &mut out.items,
        found: &mut out.found,
        repeated: &mut out.repeated,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    let spans = element_spans(bytes);
    for (item, span) in out.items.iter_mut().zip(spans) {
        item.raw = std::str::from_utf8(&bytes[span]).ok().map(str::to_owned);
    }
    if out.repeated && result.is_ok() {
        out.problem = Some(
            "the document has a second top-level `Records` array; JSON readers disagree on which one counts, so only the first was read and the document is kept here whole"
                .to_owned(),
        );
    }
    if let Err(e) = result {
        let n = out.items.len();
        out.cut = e.is_eof();
        out.problem = Some(if e.is_eof() {
            format!(
                "the document ends in the middle of record {} (it is cut off after {n} complete records, at line {} column {})",
                n + 1,
                e.line(),
                e.column()
            )
        } else {
            format!("invalid JSON after {n} complete records: {e}")
        });
    }
    if !out.found && out.problem.is_none() {
        out.problem = Some("the document has no `Records` array".to_owned());
    }
    out
}

struct DocumentSeed<'o> {
    items: &'o mut Vec<Item>,
    found: &'o mut bool,
    repeated: &'o mut bool,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `Records` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" && !*self.found {
                *self.found = true;
                map.next_value_seed(RecordsSeed {
                    items: &mut *self.items,
                })?;
            } else {
                *self.repeated |= key == "Records";
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct RecordsSeed<'o> {
    items: &'o mut Vec<Item>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let mut duplicates = Vec::new();
            let Some(value) = seq.next_element_seed(ValueSeed::root(&mut duplicates))? else {
                break;
            };
            self.items.push(Item {
                value,
                duplicate: duplicates.into_iter().next(),
                raw: None,
            });
        }
        Ok(())
    }
}

/// Byte ranges of the complete elements of the first top-level `Records` array, found by
/// following the JSON grammar (strings, escapes and nesting) without building values, so that
/// each record can keep the exact text it had in the document. Scanning stops at the first
/// thing that is not well-formed; the parse above says what it was.
fn element_spans(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut scan = Scan { bytes, at: 0 };
    let mut spans = Vec::new();
    scan.blank();
    if !scan.eat(b'{') {
        return spans;
    }
    loop {
        scan.blank();
        let Some(key) = scan.string() else {
            return spans;
        };
        scan.blank();
        if !scan.eat(b':') {
            return spans;
        }
        scan.blank();
        if is_records_key(&bytes[key]) {
            if !scan.eat(b'[') {
                return spans;
            }
            loop {
                scan.blank();
                if scan.eat(b']') {
                    return spans;
                }
                let start = scan.at;
                if !scan.value() {
                    return spans;
                }
                spans.push(start..scan.at);
                scan.blank();
                if !scan.eat(b',') {
                    return spans;
                }
            }
        }
        if !scan.value() {
            return spans;
        }
        scan.blank();
        if !scan.eat(b',') {
            return spans;
        }
    }
}

/// Whether a quoted key (quotes included) says `Records`, however it is escaped.
fn is_records_key(quoted: &[u8]) -> bool {
    quoted == b"\"Records\""
        || (quoted.contains(&b'\\')
            && serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == "Records"))
}

struct Scan<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Scan<'_> {
    fn blank(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A string with its quotes; the range it covers.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        if !self.eat(b'"') {
            return None;
        }
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            match b {
                b'\\' => self.at += 1,
                b'"' => return Some(start..self.at),
                _ => {}
            }
        }
        None
    }

    /// Any value; false when the input ends inside it.
    fn value(&mut self) -> bool {
        match self.bytes.get(self.at) {
            None => false,
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(&b) = self.bytes.get(self.at) {
                    match b {
                        b'"' => {
                            if self.string().is_none() {
                                return false;
                            }
                            if depth == 0 {
                                return true;
                            }
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return true;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                false
            }
            Some(_) => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                self.at > start && self.at < self.bytes.len()
            }
        }
    }
}

/// Whether the bytes open a JSON object whose first key is `Records` holding an array.
pub(in crate::ingest) fn opens_records(bytes: &[u8]) -> bool {
    let rest = bytes.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return false;
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b"\"Records\"") else {
        return false;
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b":") else {
        return false;
    };
    rest.trim_ascii_start().starts_with(b"[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_document_gives_every_record() {
        let r = parse_records(br#"{"Records":[{"a":1},{"b":2}],"x":true}"#);
        assert_eq!(r.items.len(), 2);
        assert!(r.problem.is_none());
    }

    #[test]
    fn a_cut_document_keeps_the_records_before_the_cut() {
        let r = parse_records(br#"{"Records":[{"a":1},{"b":2},{"c":"#);
        assert_eq!(r.items.len(), 2);
        let why = r.problem.expect("cut");
        assert!(why.contains("middle of record 3"), "{why}");
    }

    #[test]
    fn garbage_after_records_is_reported() {
        let r = parse_records(br#"{"Records":[{"a":1}]} trailing"#);
        assert_eq!(r.items.len(), 1);
        assert!(r.problem.expect("trailing").contains("after 1 complete"));
        let r = parse_records(br#"{"records":[]}"#);
        assert!(r.problem.expect("no array").contains("no `Records`"));
    }

    #[test]
    fn each_record_keeps_its_exact_text() {
        let doc = br#"{"Records": [ {"a" : 1, "s":"x]}\"y"} ,{"b":[2,{"c":[]}]},3,"t", {"d":{"a":1,"a":2}} ], "Z":0}"#;
        let r = parse_records(doc);
        assert!(r.problem.is_none(), "{:?}", r.problem);
        let raws: Vec<&str> = r
            .items
            .iter()
            .map(|i| i.raw.as_deref().expect("raw"))
            .collect();
        assert_eq!(
            raws,
            [
                r#"{"a" : 1, "s":"x]}\"y"}"#,
                r#"{"b":[2,{"c":[]}]}"#,
                "3",
                r#""t""#,
                r#"{"d":{"a":1,"a":2}}"#
            ]
        );
        let dups: Vec<bool> = r.items.iter().map(|i| i.duplicate.is_some()).collect();
        assert_eq!(dups, [false, false, false, false, true]);
    }

    #[test]
    fn a_second_records_array_is_a_problem() {
        let r = parse_records(br#"{"Records":[{"a":1}],"Records":[{"evil":1}]}"#);
        assert!(r.repeated);
        assert_eq!(r.items.len(), 1);
        assert!(
            r.problem
                .expect("repeated")
                .contains("second top-level `Records`")
        );
        let r = parse_records(br#"{"x":{"Records":[1]},"Records":[{"a":1}]}"#);
        assert!(!r.repeated, "a nested Records key is no repeat");
        assert_eq!(r.items[0].raw.as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn a_cut_document_keeps_the_text_of_its_complete_records() {
        let r = parse_records(br#"{"Records":[{"a":1},{"b":"#);
        assert!(r.cut);
        assert_eq!(r.items.len(), 1);
        assert_eq!(r.items[0].raw.as_deref(), Some(r#"{"a":1}"#));
        let r = parse_records(br#"{"Rec\u006frds":[{"a":1}]}"#);
        assert_eq!(r.items[0].raw.as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn the_opening_is_recognised_with_any_spacing() {
        assert!(opens_records(b" {\n \"Records\" :\n ["));
        assert!(!opens_records(b"{\"eventTime\":1}"));
    }
}
