//! Making untrusted evidence text harmless for display.
//!
//! Logs are written by attackers as often as by systems. Before any evidence text reaches a
//! terminal it goes through [`for_terminal`], which turns control characters, escape sequences
//! and bidirectional overrides into visible, inert notation. The raw bytes stay untouched in the
//! store; only what is shown changes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Returns `text` with every character that could drive a terminal or reorder text replaced by
/// a visible escape:
///
/// - C0 controls (including ESC, BEL, backspace and carriage return), DEL and C1 controls become
///   `\x1b`-style escapes; newline and tab become `\n` and `\t` so one record stays one line;
/// - bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), and the invisible
///   marks U+200B–U+200F, U+2028, U+2029, U+FEFF become `<U+202E>`-style markers.
///
/// # Examples
/// ```
/// assert_eq!(onus::text::for_terminal("ok\x1b[2Jgone"), "ok\\x1b[2Jgone");
/// assert_eq!(onus::text::for_terminal("a\u{202e}b"), "a<U+202E>b");
/// ```
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        push_visible(&mut out, ch);
    }
    Cow::Owned(out)
}

/// Like [`for_terminal`], then cut to at most `max_chars` characters (an ellipsis marks the cut).
pub fn for_terminal_clipped(text: &str, max_chars: usize) -> String {
    let safe = for_terminal(text);
    if safe.chars().count() <= max_chars {
        return safe.into_owned();
    }
    let mut out: String = safe.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn needs_escape(ch: char) -> bool {
    ch.is_control() || is_invisible_format(ch)
}

fn is_invisible_format(ch: char) -> bool {
    matches!(
        ch,
        '\u{200B}'..='\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

fn push_visible(out: &mut String, ch: char) {
    match ch {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if is_invisible_format(c) => {
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Decodes bytes as UTF-8 without losing anything: valid text is kept, each invalid byte
/// becomes `\xNN`, and a literal backslash is doubled so the escaping can be undone.
/// Returns the text and whether any byte was invalid.
pub fn lossless_utf8(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), false);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(ch);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02X}");
        }
    }
    (Cow::Owned(out), true)
}

/// A file path as text, without losing anything: like [`lossless_utf8`] on the path's bytes, so a
/// file name that is not valid UTF-8 keeps its bytes as `\xNN` instead of becoming U+FFFD (two
/// such names stay apart) and can be written to JSON.
pub fn path_text(path: &std::path::Path) -> Cow<'_, str> {
    lossless_utf8(path.as_os_str().as_encoded_bytes()).0
}

/// Writes `value` as JSON (pretty-printed or compact). Strings are escaped as by
/// [`serde_json`], and further: DEL, C1 controls and the invisible and bidirectional
/// characters [`for_terminal`] marks are written as `\uXXXX` escapes. The JSON means the same
/// to any parser, but printed on a terminal it cannot drive it (an 8-bit CSI is U+009B) or
/// reorder the text an investigator reads.
///
/// # Examples
/// ```
/// let mut out = Vec::new();
/// onus::text::write_json(&mut out, &"a\u{202e}b\u{9b}", false).unwrap();
/// assert_eq!(out, br#""a\u202eb\u009b""#);
/// ```
pub fn write_json<W, T>(out: W, value: &T, pretty: bool) -> serde_json::Result<()>
where
    W: std::io::Write,
    T: ?Sized + serde::Serialize,
{
    if pretty {
        let formatter = SafeJson(serde_json::ser::PrettyFormatter::new());
        value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
    } else {
        let formatter = SafeJson(serde_json::ser::CompactFormatter);
        value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
    }
}

/// [`write_json`] into a string.
pub fn json_string<T: ?Sized + serde::Serialize>(
    value: &T,
    pretty: bool,
) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write_json(&mut out, value, pretty)?;
    // The serializer writes UTF-8 only; this cannot fail.
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// A JSON formatter that escapes what [`write_json`] promises, around another formatter.
struct SafeJson<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if needs_escape(ch) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every such character is in the Basic Multilingual Plane: one `\u` escape.
                write!(writer, "\\u{:04x}", u32::from(ch))?;
                start = i + ch.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_escapes_what_could_drive_a_terminal_and_means_the_same() {
        let hostile = serde_json::json!({
            "k\u{202e}": ["\u{1b}[2J \u{9b}31m \u{7f} \u{2066}x\u{2069} \u{feff} é — ok", 1],
        });
        for pretty in [false, true] {
            let text = json_string(&hostile, pretty).expect("json");
            assert!(
                !text.chars().any(|c| c != '\n' && needs_escape(c)),
                "{text}"
            );
            assert!(
                text.contains("\\u009b31m") && text.contains("\\u202e"),
                "{text}"
            );
            assert!(
                text.contains("é — ok"),
                "ordinary text is left alone: {text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(back, hostile);
        }
        assert_eq!(
            json_string(&hostile, true).expect("json"),
            serde_json::to_string_pretty(&hostile)
                .expect("json")
                .replace('\u{202e}', "\\u202e")
                .replace('\u{9b}', "\\u009b")
                .replace('\u{7f}', "\\u007f")
                .replace('\u{2066}', "\\u2066")
                .replace('\u{2069}', "\\u2069")
                .replace('\u{feff}', "\\ufeff"),
            "the layout is serde_json's own"
        );
    }

    #[test]
    fn paths_keep_invalid_bytes_as_escapes() {
        assert_eq!(path_text(std::path::Path::new("a/b.jsonl")), "a/b.jsonl");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt as _;
            let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"bad\xffname"));
            assert_eq!(path_text(p), "bad\\xFFname");
        }
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(for_terminal("hello, world é"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_become_visible() {
        let hostile = "\x1b]0;pwned\x07\x1b[31mred\u{9b}2J\x7f";
        let shown = for_terminal(hostile);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "\\x1b]0;pwned\\x07\\x1b[31mred\\x9b2J\\x7f");
    }

    #[test]
    fn bidi_and_line_breaks_are_neutralised() {
        assert_eq!(for_terminal("x\u{2066}y\u{2069}"), "x<U+2066>y<U+2069>");
        assert_eq!(for_terminal("one\ntwo\r"), "one\\ntwo\\r");
        assert_eq!(for_terminal("a\u{2028}b"), "a<U+2028>b");
    }

    #[test]
    fn zero_width_and_byte_order_marks_are_shown() {
        // Each of these hides text or joins look-alike ids; a mutant that stopped escaping
        // U+200B–U+200F survived the suite before this test.
        for (ch, marker) in [
            ('\u{200B}', "<U+200B>"),
            ('\u{200C}', "<U+200C>"),
            ('\u{200D}', "<U+200D>"),
            ('\u{200E}', "<U+200E>"),
            ('\u{200F}', "<U+200F>"),
            ('\u{FEFF}', "<U+FEFF>"),
            ('\u{2060}', "<U+2060>"),
        ] {
            assert_eq!(for_terminal(&format!("a{ch}b")), format!("a{marker}b"));
        }
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(for_terminal_clipped("abcdef", 4), "abc…");
        assert_eq!(for_terminal_clipped("abc", 4), "abc");
    }

    #[test]
    fn invalid_utf8_is_escaped_losslessly() {
        let (text, bad) = lossless_utf8(b"ok\xff\\x");
        assert!(bad);
        assert_eq!(text, "ok\\xFF\\\\x");
        let (text, bad) = lossless_utf8("fine".as_bytes());
        assert!(!bad);
        assert_eq!(text, "fine");
    }
}

/// One CSV field, safe to open in a spreadsheet and to print: control characters and
/// bidirectional overrides are escaped as by [`for_terminal`], the field is quoted when needed
/// (RFC 4180), and spreadsheet formula injection is neutralised: a value starting with `=`,
/// `+`, `-`, `@`, tab or carriage return gets a leading apostrophe so spreadsheet programs show
/// it as text instead of evaluating it.
///
/// # Examples
/// ```
/// assert_eq!(onus::text::csv_field("plain"), "plain");
/// assert_eq!(onus::text::csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
/// ```
pub fn csv_field(value: &str) -> Cow<'_, str> {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let safe = for_terminal(value);
    let quote = formula || safe.contains([',', '"']);
    if !quote {
        return safe;
    }
    let mut out = String::with_capacity(safe.len() + 4);
    out.push('"');
    if formula {
        out.push('\'');
    }
    for ch in safe.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod csv_tests {
    use super::csv_field;

    #[test]
    fn formulas_and_separators_are_neutralised() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("+1"), "\"'+1\"");
        assert_eq!(csv_field("-2"), "\"'-2\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("\tx"), "\"'\\tx\"");
        assert_eq!(csv_field("line\nbreak"), "line\\nbreak");
        assert_eq!(csv_field("\u{1b}[2J"), "\\x1b[2J");
    }
}
