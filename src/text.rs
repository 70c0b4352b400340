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

#[cfg(test)]
mod tests {
    use super::*;

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
