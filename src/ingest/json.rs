//! Reading one JSON record the way onus needs it read: strictly about keys.
//!
//! JSON does not say what a key written twice in one object means, and readers disagree: the
//! parser behind the adapters keeps the last one, DuckDB's `->>` and many SIEMs the first. A
//! record saying `"actor":"agent:good", ..., "actor":"agent:evil"` would name one actor in
//! `events.actor` and another to anyone querying `raw`, so such a record is quarantined with
//! both values named, never resolved silently. [`ValueSeed`] builds the same
//! [`serde_json::Value`] `serde_json` would, and notes every repeated key on the way (at any depth)
//! without stopping, so a caller reading many records from one document can set aside just the
//! one that has it.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A key written twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DuplicateKey {
    /// Where the object is, as `$` for the record itself, `$.a.b[2]` below it.
    pub object: String,
    pub key: String,
    /// The two values, as compact JSON cut to a readable length.
    pub first: String,
    pub second: String,
}

impl DuplicateKey {
    /// The quarantine reason.
    pub fn reason(&self) -> String {
        format!(
            "the key `{}` appears twice in the object at {} (first {}, then {}); JSON readers disagree on which one counts, so the record is set aside rather than read one way",
            self.key, self.object, self.first, self.second
        )
    }
}

/// Parses one record. A syntax error or a repeated key is the quarantine reason.
pub(super) fn parse_record(text: &str) -> Result<Value, String> {
    parse_text(text).map_err(|bad| bad.reason)
}

/// Why a record could not be read, and whether the text just stopped too early (a record
/// that may go on in the next line).
#[derive(Debug)]
pub(super) struct BadRecord {
    pub reason: String,
    /// The text ends inside the value.
    pub cut: bool,
    /// Not JSON at all (invalid UTF-8 or a syntax error), rather than JSON onus will not read.
    pub syntax: bool,
}

/// Parses one record from bytes (checking UTF-8 first, to say where a bad byte is), saying
/// whether the record was cut short or is not JSON.
pub(super) fn parse_record_cut(bytes: &[u8]) -> Result<Value, BadRecord> {
    let text = std::str::from_utf8(bytes).map_err(|e| BadRecord {
        reason: format!("invalid UTF-8 at byte {} of the record", e.valid_up_to()),
        cut: false,
        syntax: true,
    })?;
    parse_text(text)
}

fn parse_text(text: &str) -> Result<Value, BadRecord> {
    let mut duplicates = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = ValueSeed::root(&mut duplicates)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| BadRecord {
            reason: describe_json_error(&e),
            cut: e.is_eof(),
            syntax: true,
        })?;
    match duplicates.first() {
        Some(d) => Err(BadRecord {
            reason: d.reason(),
            cut: false,
            syntax: false,
        }),
        None => Ok(value),
    }
}

/// Describes a JSON syntax error for a quarantine reason: the column alone for a record on one
/// line, the line too for one spread over several.
pub(super) fn describe_json_error(e: &serde_json::Error) -> String {
    let at = if e.line() <= 1 {
        format!("column {}", e.column())
    } else {
        format!("line {}, column {}", e.line(), e.column())
    };
    if e.is_eof() {
        format!("truncated JSON: the record ends before it is complete ({at})")
    } else {
        format!("invalid JSON at {at}: {e}")
    }
}

/// Names a JSON value's type for messages ("a string", "an array").
pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Where a value sits inside the record, as a chain of borrowed steps (built only when a
/// duplicate has to be described).
#[derive(Clone, Copy)]
enum Place<'a> {
    Root,
    Key(&'a Self, &'a str),
    Index(&'a Self, usize),
}

impl Place<'_> {
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = self;
        loop {
            match at {
                Place::Root => break,
                Place::Key(parent, key) => {
                    steps.push(Step::Key(key));
                    at = parent;
                }
                Place::Index(parent, n) => {
                    steps.push(Step::Index(*n));
                    at = parent;
                }
            }
        }
        let mut out = String::from("$");
        for step in steps.iter().rev() {
            match step {
                Step::Key(key) if is_plain_key(key) => {
                    out.push('.');
                    out.push_str(key);
                }
                Step::Key(key) => {
                    let _ = write!(out, "[{}]", Value::String((*key).to_owned()));
                }
                Step::Index(n) => {
                    let _ = write!(out, "[{n}]");
                }
            }
        }
        out
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '@')
}

/// The longest a value is quoted in a duplicate-key reason.
const QUOTE_CHARS: usize = 80;

fn quote(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= QUOTE_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(QUOTE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Deserialises a [`Value`] exactly as `serde_json` does, noting repeated keys in `duplicates`.
/// The first value of a repeated key is kept.
pub(super) struct ValueSeed<'p, 'd> {
    place: Place<'p>,
    duplicates: &'d mut Vec<DuplicateKey>,
}

impl<'d> ValueSeed<'static, 'd> {
    pub(super) fn root(duplicates: &'d mut Vec<DuplicateKey>) -> Self {
        Self {
            place: Place::Root,
            duplicates,
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let place = Place::Index(&self.place, items.len());
            let seed = ValueSeed {
                place,
                duplicates: &mut *self.duplicates,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed {
                place: Place::Key(&self.place, &key),
                duplicates: &mut *self.duplicates,
            })?;
            match object.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    self.duplicates.push(DuplicateKey {
                        object: self.place.render(),
                        key: slot.key().clone(),
                        first: quote(slot.get()),
                        second: quote(&value),
                    });
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_the_reason_with_both_values() {
        let err = parse_record(r#"{"actor":"agent:good","x":1,"actor":"agent:evil"}"#)
            .expect_err("duplicate");
        assert!(err.contains("`actor`"), "{err}");
        assert!(
            err.contains(r#"first "agent:good", then "agent:evil""#),
            "{err}"
        );
        assert!(err.contains("at $ "), "{err}");
    }

    #[test]
    fn a_repeated_key_deep_inside_is_found_with_its_place() {
        let err = parse_record(r#"{"args":{"to":[{"iban":"A"},{"iban":"B","iban":"C"}]}}"#)
            .expect_err("duplicate");
        assert!(err.contains("at $.args.to[1] "), "{err}");
        let err = parse_record(r#"{"a b":{"k":1,"k":2}}"#).expect_err("duplicate");
        assert!(err.contains(r#"at $["a b"] "#), "{err}");
    }

    #[test]
    fn without_repeats_the_value_is_what_serde_json_gives() {
        for text in [
            r#"{"a":1,"b":[1,2.5,-3,"x",null,true,{"c":{}}],"d":18446744073709551615,"e":1e300}"#,
            r#"[1,{"a":"\u00e9\n"}]"#,
            "\"just a string\"",
            "null",
            r#"{"a":{"a":{"a":1}},"b":{"a":2}}"#,
        ] {
            let ours = parse_record(text).expect("parses");
            let theirs: Value = serde_json::from_str(text).expect("parses");
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_is_no_repeat() {
        assert!(parse_record(r#"{"a":{"id":1},"b":{"id":2},"id":3}"#).is_ok());
    }

    #[test]
    fn syntax_errors_keep_their_reasons() {
        let err = parse_record(r#"{"a":1"#).expect_err("cut");
        assert!(err.starts_with("truncated JSON"), "{err}");
        let err = parse_record(r#"{"a":1} x"#).expect_err("trailing");
        assert!(err.starts_with("invalid JSON at column"), "{err}");
        let err = parse_record("{\n\"a\":\n}").expect_err("bad");
        assert!(err.starts_with("invalid JSON at line 3, column 1"), "{err}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        let err = parse_record(&deep).expect_err("deep");
        assert!(err.contains("recursion limit exceeded"), "{err}");
        let err = parse_record_cut(b"{\"a\":\"\xff\"}").expect_err("utf-8");
        assert_eq!(err.reason, "invalid UTF-8 at byte 6 of the record");
        assert!(err.syntax && !err.cut);
        assert!(parse_record_cut(br#"{"a":"#).expect_err("cut").cut);
        let dup = parse_record_cut(br#"{"a":1,"a":1}"#).expect_err("dup");
        assert!(!dup.syntax && !dup.cut);
    }

    #[test]
    fn long_values_are_cut_in_the_reason() {
        let long = "x".repeat(500);
        let err = parse_record(&format!(r#"{{"a":"{long}","a":"y"}}"#)).expect_err("dup");
        assert!(err.contains('…'), "{err}");
        assert!(err.len() < 400, "{err}");
    }
}
