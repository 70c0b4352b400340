//! A small JSON object writer for generated events: fields are written in the order given,
//! strings are escaped, and nothing is parsed or allocated per field beyond the output buffer.

use std::fmt::Write as _;

/// One JSON object being written.
pub(crate) struct Obj(String);

impl Obj {
    pub fn new() -> Self {
        let mut s = String::with_capacity(384);
        s.push('{');
        Self(s)
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    /// A string field.
    pub fn s(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        quote_into(&mut self.0, value);
        self
    }

    /// A string field, left out when `None`.
    pub fn opt(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.s(key, v),
            None => self,
        }
    }

    /// A field whose value is already JSON (a number, a nested object).
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.0.push_str(json);
        self
    }

    /// An array of strings.
    pub fn list<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> Self {
        self.key(key);
        self.0.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            quote_into(&mut self.0, v.as_ref());
        }
        self.0.push(']');
        self
    }

    /// The finished object.
    pub fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes()
        .any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    } else {
        out.push_str(s);
    }
    out.push('"');
}

/// `s` as a JSON string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_valid_json_whatever_the_text() {
        let line = Obj::new()
            .s("a", "plain")
            .s("b", "quote \" back \\ line\nnul\u{0}")
            .raw("n", "3")
            .list("l", &["x", "y\"z"])
            .opt("skip", None)
            .end();
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["b"], "quote \" back \\ line\nnul\u{0}");
        assert_eq!(v["l"][1], "y\"z");
        assert!(v.get("skip").is_none());
    }
}
