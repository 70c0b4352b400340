//! Span-level argument provenance: where in the task's untrusted content each value of an action
//! appears, and whether it sat inside an instruction-bearing span, against what the user and the
//! system said (trusted text).

use super::super::instructions::{self, InstructionSpan, Scan};
use super::naming::names_tool;
use crate::model::Provenance;
use crate::model::arguments::{DESTINATION_KEYS, RESOURCE_KEYS, normalise_key};
use crate::store::AnalysisEvent;

/// One argument value of an action, in the forms it is searched for.
#[derive(Debug, Clone)]
pub(super) struct Traced {
    argument: String,
    value: String,
    /// Squashed form (lower case, no white space or `-`, URLs without scheme or `www.`).
    squashed: String,
    /// The value lower-cased, for whole-word search of short values.
    lower: String,
    /// Whether the argument is in a destination or resource role.
    role: bool,
}

/// The values of an action worth tracing to content: every string leaf of its arguments (and
/// numbers under role keys), its destination and its resource.
pub(super) fn traced_values(e: &AnalysisEvent) -> Vec<Traced> {
    let mut raw: Vec<(String, String, bool)> = Vec::new();
    if let Some(args) = &e.args {
        collect_values("", args, false, &mut raw);
    }
    for (name, v) in [("destination", &e.destination), ("resource", &e.resource)] {
        if let Some(v) = v {
            raw.push((name.to_owned(), v.clone(), true));
        }
    }
    // Addresses, accounts and links inside free text ("New policy: www.x.example") are traced on
    // their own too: an attacker's link travels inside a message body.
    let mut embedded = Vec::new();
    for (argument, value, _) in &raw {
        if value.chars().count() > 40 || value.contains(char::is_whitespace) {
            for token in value.split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '\'' | '<' | '>')
            }) {
                let token = token.trim_end_matches(['.', ':', '!', '?']);
                if token != value && is_address_like(token) {
                    embedded.push((format!("{argument}~"), token.to_owned(), true));
                }
            }
        }
    }
    raw.extend(embedded);
    let mut out: Vec<Traced> = Vec::new();
    for (argument, value, role) in raw {
        let squashed = squash(value.trim().trim_end_matches('/'));
        if squashed.len() < 2 || matches!(squashed.as_str(), "true" | "false" | "null" | "none") {
            continue;
        }
        if out.iter().any(|t| t.squashed == squashed) {
            continue;
        }
        out.push(Traced {
            argument,
            lower: value.trim().to_lowercase(),
            value,
            squashed,
            role,
        });
    }
    out
}

/// A token that names a place data or value can go: a URL, an e-mail address, a host name, an
/// IBAN-like account.
fn is_address_like(token: &str) -> bool {
    let t = token.trim();
    if t.len() < 6 {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    if let Some((user, host)) = t.split_once('@') {
        return !user.is_empty() && host.contains('.') && !host.ends_with('.');
    }
    let iban = t.len() >= 15
        && t.chars().take(2).all(|c| c.is_ascii_uppercase())
        && t.chars().skip(2).take(2).all(|c| c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_alphanumeric());
    let host = t.split('.').count() >= 2
        && t.rsplit('.').next().is_some_and(|tld| {
            (2..=6).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/' | '_'))
        && t.split('.')
            .next()
            .is_some_and(|first| first.chars().any(|c| c.is_ascii_alphabetic()));
    iban || host
}

fn is_role_key(key: &str) -> bool {
    let k = normalise_key(key);
    DESTINATION_KEYS.contains(&k.as_str())
        || RESOURCE_KEYS.contains(&k.as_str())
        || k.ends_with("id")
}

fn collect_values(
    path: &str,
    v: &serde_json::Value,
    role: bool,
    out: &mut Vec<(String, String, bool)>,
) {
    match v {
        serde_json::Value::String(s) => out.push((path.to_owned(), s.clone(), role)),
        serde_json::Value::Number(n) if role => out.push((path.to_owned(), n.to_string(), role)),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_values(&format!("{path}[{i}]"), item, role, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_values(&p, item, role || is_role_key(k), out);
            }
        }
        _ => {}
    }
}

/// The form values and content are compared in: lower case, without white space and `-`, and
/// without URL schemes and `www.` wherever they are, so `DE89 3704-0044` matches `de8937040044`
/// and `https://www.x.example` matches "visit x.example".
pub(super) fn squash(text: &str) -> String {
    let lower: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase();
    lower
        .replace("https://", "")
        .replace("http://", "")
        .replace("www.", "")
}

/// Whether `needle` occurs in `hay` as a whole word (not inside a longer word or number).
pub(super) fn has_word(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = start + needle.len().max(1);
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// A value long or distinctive enough to trace by substring (an address, an account, a URL, a
/// phrase); shorter ones are traced only as whole words.
pub(super) fn is_long(t: &Traced) -> bool {
    t.squashed.chars().count() >= 6
}

/// A value distinctive enough to count as data provenance anywhere in content (not only in an
/// instruction span): it has a digit, an `@` or a URL shape.
pub(super) fn is_distinctive(t: &Traced) -> bool {
    is_long(t)
        && (t.value.chars().any(|c| c.is_ascii_digit())
            || t.value.contains('@')
            || t.value.contains("://")
            || t.value.contains("www."))
}

/// One untrusted input of the task, scanned.
pub(super) struct Input<'a> {
    pub(super) event: &'a AnalysisEvent,
    squashed: String,
    pub(super) scan: Scan,
    /// For each instruction-bearing span: its index in `scan.spans`, lower-case and squashed text.
    pub(super) instruction_texts: Vec<(usize, String, String)>,
}

impl<'a> Input<'a> {
    pub(super) fn new(event: &'a AnalysisEvent, text: &'a str, declared: &str) -> Self {
        let scan = instructions::scan(text, Some(declared));
        let instruction_texts = scan
            .spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_instruction())
            .map(|(i, s)| {
                let t = &text[s.start..s.end];
                (i, t.to_lowercase(), squash(t))
            })
            .collect();
        Self {
            event,
            squashed: squash(text),
            scan,
            instruction_texts,
        }
    }

    pub(super) fn has_instructions(&self) -> bool {
        !self.instruction_texts.is_empty()
    }

    /// The instruction span holding the value, if one does.
    fn instruction_span(&self, t: &Traced) -> Option<&InstructionSpan> {
        self.instruction_texts
            .iter()
            .find(|(_, lower, squashed)| {
                if is_long(t) {
                    squashed.contains(&t.squashed)
                } else {
                    has_word(lower, &t.lower)
                }
            })
            .map(|(i, _, _)| &self.scan.spans[*i])
    }

    /// Whether an instruction span names the tool (see [`names_tool`]).
    pub(super) fn names_tool(&self, action: Option<&str>) -> bool {
        action.is_some_and(|a| {
            self.instruction_texts
                .iter()
                .any(|(_, lower, _)| names_tool(lower, a))
        })
    }

    /// Whether the value appears in the content at all (as data).
    fn carries(&self, t: &Traced) -> bool {
        is_distinctive(t) && self.squashed.contains(&t.squashed)
    }
}

/// What the user and the system said: declared intent and constraints, and trusted messages.
pub(super) struct Trusted {
    pub(super) lower: String,
    pub(super) squashed: String,
}

impl Trusted {
    fn says(&self, t: &Traced) -> bool {
        if is_long(t) {
            self.squashed.contains(&t.squashed)
        } else {
            has_word(&self.lower, &t.lower)
        }
    }
}

/// Where the values of one action came from.
pub(super) fn provenance(
    action: &AnalysisEvent,
    inputs: &[&Input<'_>],
    trusted: &Trusted,
) -> Vec<Provenance> {
    let mut out = Vec::new();
    for t in traced_values(action) {
        if trusted.says(&t) {
            continue;
        }
        // A short value is traced only when it names what the action acts on or sends to (a
        // file id, an account): a currency or a format word is noise.
        let short_ok = is_long(&t) || t.role;
        let instructed = inputs.iter().find_map(|i| {
            short_ok
                .then(|| i.instruction_span(&t))
                .flatten()
                .map(|s| (i, s))
        });
        if let Some((input, span)) = instructed {
            out.push(Provenance {
                argument: t.argument.clone(),
                value: t.value.clone(),
                event_id: input.event.id.clone(),
                instruction: true,
                span: Some((span.start, span.end)),
                score: Some(span.score),
            });
        } else if let Some(input) = inputs.iter().find(|i| i.carries(&t)) {
            out.push(Provenance {
                argument: t.argument.clone(),
                value: t.value.clone(),
                event_id: input.event.id.clone(),
                instruction: false,
                span: None,
                score: None,
            });
        }
    }
    out
}
