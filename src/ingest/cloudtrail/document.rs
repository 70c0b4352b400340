//! Reading the `Records` array of a delivery file one record at a time, so that a file cut in
//! the middle still gives every record before the cut (and says where it broke).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What a `{"Records":[...]}` document held.
#[derive(Debug, Default)]
pub(super) struct Records {
    /// Every complete element of `Records`, in order.
    pub items: Vec<Value>,
    /// Why reading stopped early, if it did; the records in `items` are still good.
    pub problem: Option<String>,
    /// Whether a `Records` key was found at all.
    pub found: bool,
}

/// Parses a delivery document, keeping every record read before any error.
pub(super) fn parse_records(bytes: &[u8]) -> Records {
    let mut out = Records::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = DocumentSeed {
        items: &mut out.items,
        found: &mut out.found,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    if let Err(e) = result {
        let n = out.items.len();
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
    items: &'o mut Vec<Value>,
    found: &'o mut bool,
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
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct RecordsSeed<'o> {
    items: &'o mut Vec<Value>,
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
        while let Some(item) = seq.next_element::<Value>()? {
            self.items.push(item);
        }
        Ok(())
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
    fn the_opening_is_recognised_with_any_spacing() {
        assert!(opens_records(b" {\n \"Records\" :\n ["));
        assert!(!opens_records(b"{\"eventTime\":1}"));
    }
}
