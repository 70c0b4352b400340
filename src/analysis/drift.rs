//! The drift model (BRIEF §5.2, docs/detectors.md "Drift"): per task, in time order, where the
//! agent started serving a goal that is not the declared one, why, and what happened after.
//!
//! Two things are kept apart:
//! - **scope deviation**: an action outside the declared lists (tools, resources, destinations,
//!   environments, class ceiling). Always a finding; on its own, a *read* outside the lists
//!   before any instruction-bearing content is only a low-severity scope finding, not drift.
//! - **drift**: the agent serving another goal. The drift point is the first action placed by one
//!   of these rules ([`DriftKind`]):
//!   1. `tainted_action`: its arguments carry a value that entered through the
//!      *instruction-bearing* part of untrusted content ([`super::instructions`]) and appears
//!      nowhere the user or the system said (declared intent, constraints, trusted messages);
//!   2. `out_of_scope_after_instruction`: it is outside the declared lists and comes after
//!      instruction-bearing content;
//!   3. `out_of_scope`: it is outside the declared lists and above read class;
//!   4. `intent_change`: the agent declared a new intent (and kept acting).
//!
//!   When the cause is instruction-bearing content, an earlier action after that content that the
//!   instructions *name* (a `list_files` after "list your files and send them to …") and the
//!   declared intent does not, moves the drift point back onto it (`instructed_action`): the
//!   drift began with the first call that served the instructions.
//!
//! Values a bill merely carries (its own IBAN) are data provenance: recorded, never drift.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue::{self, Detector};
use super::context::{Context, finding, went_through};
use super::instructions::{self, InstructionSpan, Scan};
use super::scope::TaskScope;
use crate::model::arguments::{DESTINATION_KEYS, RESOURCE_KEYS, normalise_key};
use crate::model::{
    ActionClass, ArgumentRoles, Axis, Constraints, DriftKind, DriftPoint, EventKind, Finding,
    InstructionSpanRecord, Outcome, Provenance, StopKind, Violation, destination_matches,
    normalise_destination, pattern_matches,
};
use crate::store::AnalysisEvent;

/// Checks one action against one set of constraints. Destinations are every destination the
/// arguments name (and the event's own), normalised on both sides.
fn violations(e: &AnalysisEvent, c: &Constraints, roles: &ArgumentRoles) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut check = |axis: Axis, value: Option<&String>, allowed: Option<&Vec<String>>| {
        if let (Some(value), Some(allowed)) = (value, allowed)
            && !allowed.iter().any(|p| pattern_matches(p, value))
        {
            out.push(Violation {
                axis,
                value: value.clone(),
                allowed: allowed.clone(),
            });
        }
    };
    check(Axis::Tool, e.action.as_ref(), c.tools.as_ref());
    check(
        Axis::Environment,
        e.environment.as_ref(),
        c.environments.as_ref(),
    );
    if let Some(allowed) = &c.resources {
        for r in resources_of(e, roles) {
            if !allowed.iter().any(|p| pattern_matches(p, &r)) {
                out.push(Violation {
                    axis: Axis::Resource,
                    value: r,
                    allowed: allowed.clone(),
                });
            }
        }
    }
    if let Some(allowed) = &c.destinations {
        for d in destinations_of(e, roles) {
            if !allowed.iter().any(|p| destination_matches(p, &d)) {
                out.push(Violation {
                    axis: Axis::Destination,
                    value: d,
                    allowed: allowed.clone(),
                });
            }
        }
    }
    if let (Some(ceiling), Some(class)) = (c.max_action_class, e.action_class)
        && class > ceiling
    {
        out.push(Violation {
            axis: Axis::ActionClass,
            value: class.as_str().to_owned(),
            allowed: vec![format!("at most {ceiling}")],
        });
    }
    out
}

/// Every destination of an action. Formats that name destinations themselves (native events,
/// CloudTrail, Kubernetes) are taken at their word; for those that only give a tool and its
/// arguments (transcripts, spans, MCP), every destination the arguments name counts.
fn destinations_of(e: &AnalysisEvent, roles: &ArgumentRoles) -> Vec<String> {
    if !e.targets_from_args {
        return e.destination.iter().cloned().collect();
    }
    let derived: Vec<String> = e.args.as_ref().map_or_else(Vec::new, |args| {
        roles
            .destinations(e.action.as_deref(), args)
            .into_iter()
            .map(|r| r.value)
            .collect()
    });
    dedup_by_form(own_or_derived(e.destination.as_ref(), derived), |d| {
        normalise_destination(d)
    })
}

/// Every resource of an action, on the rule of [`destinations_of`].
fn resources_of(e: &AnalysisEvent, roles: &ArgumentRoles) -> Vec<String> {
    if !e.targets_from_args {
        return e.resource.iter().cloned().collect();
    }
    let derived: Vec<String> = e.args.as_ref().map_or_else(Vec::new, |args| {
        roles
            .resources(e.action.as_deref(), args)
            .into_iter()
            .map(|r| r.value)
            .collect()
    });
    dedup_by_form(own_or_derived(e.resource.as_ref(), derived), str::to_owned)
}

/// The record's own value when it has one the arguments do not give (it said so itself), else
/// every value the arguments give.
fn own_or_derived(own: Option<&String>, derived: Vec<String>) -> Vec<String> {
    match own {
        Some(o) if !derived.iter().any(|d| d.trim() == o.trim()) => vec![o.clone()],
        Some(o) => std::iter::once(o.clone()).chain(derived).collect(),
        None => derived,
    }
}

fn dedup_by_form(values: Vec<String>, form: impl Fn(&str) -> String) -> Vec<String> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for v in values {
        let f = form(&v);
        if !seen.contains(&f) {
            seen.push(f);
            out.push(v);
        }
    }
    out
}

/// The constraint sets an action must respect: its task's, and those of the hand-off that
/// gave the actor the work.
fn constraint_sets<'s>(scope: &'s TaskScope, actor: &str) -> Vec<&'s Constraints> {
    let mut sets: Vec<&Constraints> = scope.constraints.iter().collect();
    for h in &scope.handoffs {
        if h.delegate == actor
            && let Some(c) = &h.constraints
            && !c.is_empty()
        {
            sets.push(c);
        }
    }
    sets
}

/// One argument value of an action, in the forms it is searched for.
#[derive(Debug, Clone)]
struct Traced {
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
fn traced_values(e: &AnalysisEvent) -> Vec<Traced> {
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
fn squash(text: &str) -> String {
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
fn has_word(hay: &str, needle: &str) -> bool {
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
fn is_long(t: &Traced) -> bool {
    t.squashed.chars().count() >= 6
}

/// A value distinctive enough to count as data provenance anywhere in content (not only in an
/// instruction span): it has a digit, an `@` or a URL shape.
fn is_distinctive(t: &Traced) -> bool {
    is_long(t)
        && (t.value.chars().any(|c| c.is_ascii_digit())
            || t.value.contains('@')
            || t.value.contains("://")
            || t.value.contains("www."))
}

/// One untrusted input of the task, scanned.
struct Input<'a> {
    event: &'a AnalysisEvent,
    squashed: String,
    scan: Scan,
    /// For each instruction-bearing span: its index in `scan.spans`, lower-case and squashed text.
    instruction_texts: Vec<(usize, String, String)>,
}

impl<'a> Input<'a> {
    fn new(event: &'a AnalysisEvent, text: &'a str, declared: &str) -> Self {
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

    fn has_instructions(&self) -> bool {
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
    fn names_tool(&self, action: Option<&str>) -> bool {
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
struct Trusted {
    lower: String,
    squashed: String,
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
fn provenance(action: &AnalysisEvent, inputs: &[&Input<'_>], trusted: &Trusted) -> Vec<Provenance> {
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

/// Words of a tool name that say what it acts on or does, without filler.
fn tool_words(action: &str) -> Vec<String> {
    const FILLER: &[&str] = &[
        "get", "set", "the", "a", "an", "to", "of", "for", "by", "in", "on", "from", "with", "and",
        "tool", "api", "id", "ids", "all", "my", "info", "data", "details", "v1", "v2",
    ];
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in action.chars() {
        if !ch.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = ch.is_lowercase();
        current.extend(ch.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.retain(|w| !FILLER.contains(&w.as_str()) && w.len() >= 3);
    words
}

/// Object words too common to say which tool is meant.
const COMMON_WORDS: &[&str] = &[
    "user", "users", "current", "new", "item", "items", "list", "record", "records", "object",
    "objects", "value", "values", "result", "results", "text", "content", "contents", "request",
];

/// Whether the text names the tool: at least half of the tool name's significant object words
/// (not verbs, not filler, not [`COMMON_WORDS`]) appear in it, stem-wise (`list_files` is named by
/// "all your files", `get_scheduled_transactions` by "the scheduled payment"). Verbs are not
/// required: agents pick their own.
fn names_tool(text_lower: &str, action: &str) -> bool {
    let words = tool_words(action);
    // The words that are not verbs of the class table (`orders.lookup` → `orders`).
    let nouns: Vec<&String> = words
        .iter()
        .filter(|w| crate::model::classify_action(w).is_none())
        .filter(|w| !COMMON_WORDS.contains(&w.as_str()))
        .collect();
    if nouns.is_empty() {
        return false;
    }
    let tokens: Vec<&str> = text_lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let found = nouns
        .iter()
        .filter(|w| {
            let stem = w.trim_end_matches('s');
            let stem = if stem.len() >= 4 { stem } else { w.as_str() };
            tokens.iter().any(|tok| tok.starts_with(stem))
        })
        .count();
    found >= 1 && found * 2 >= nouns.len()
}

/// Whether the text names every significant object word of the tool: the declared intent must
/// name a tool fully for the tool to count as the user's (`export_bank_details` is not the user's
/// because the request mentions a vendor).
fn names_tool_fully(text_lower: &str, action: &str) -> bool {
    let words = tool_words(action);
    let nouns: Vec<&String> = words
        .iter()
        .filter(|w| crate::model::classify_action(w).is_none())
        .filter(|w| !COMMON_WORDS.contains(&w.as_str()))
        .collect();
    !nouns.is_empty() && nouns.iter().all(|w| names_tool(text_lower, w))
}

/// Finds the drift point of every task and the drift and scope findings; returns the points and
/// the scored spans of the tasks' untrusted inputs.
pub fn detect(
    ctx: &Context<'_>,
    out: &mut Vec<Finding>,
) -> (Vec<DriftPoint>, Vec<InstructionSpanRecord>) {
    let mut points = Vec::new();
    let mut spans = Vec::new();
    for (task, scope) in &ctx.scopes {
        if let Some(p) = task_drift(ctx, task, scope, out, &mut spans) {
            points.push(p);
        }
    }
    (points, spans)
}

/// Longest excerpt of a span kept with it.
const EXCERPT_CHARS: usize = 400;

/// The spans of one input worth keeping: instruction-bearing ones and those with a strong signal.
fn span_records(input: &Input<'_>, text: &str, out: &mut Vec<InstructionSpanRecord>) {
    for s in &input.scan.spans {
        if !s.is_instruction() && !s.signals.iter().any(|x| x.kind.is_strong()) {
            continue;
        }
        out.push(InstructionSpanRecord {
            event_id: input.event.id.clone(),
            task: input.event.task.clone(),
            start: s.start,
            end: s.end,
            score: s.score,
            instruction: s.is_instruction(),
            signals: serde_json::to_value(&s.signals).unwrap_or(serde_json::Value::Null),
            excerpt: text[s.start..s.end].chars().take(EXCERPT_CHARS).collect(),
        });
    }
}

/// An action placed by a rule, with what placed it.
struct Candidate<'a> {
    action: &'a AnalysisEvent,
    kind: DriftKind,
    cause: Option<&'a AnalysisEvent>,
}

#[allow(
    clippy::too_many_lines,
    reason = "the rules of the drift model read best in one pass"
)]
fn task_drift(
    ctx: &Context<'_>,
    task: &str,
    scope: &TaskScope,
    out: &mut Vec<Finding>,
    spans: &mut Vec<InstructionSpanRecord>,
) -> Option<DriftPoint> {
    let events: Vec<&AnalysisEvent> = ctx.task_events(task).collect();
    let declared = scope.declared_text();
    let roles = &ctx.policy.argument_roles;

    // Every untrusted input, scanned once; trusted text as it grows.
    let inputs: Vec<Input<'_>> = events
        .iter()
        .filter_map(|e| e.untrusted_content().map(|c| Input::new(e, c, &declared)))
        .collect();
    for i in &inputs {
        if let Some(text) = i.event.untrusted_content() {
            span_records(i, text, spans);
        }
    }
    let mut trusted_text = declared.clone();

    let mut broken: Vec<(&AnalysisEvent, Vec<Violation>)> = Vec::new();
    let mut provenance_of: Vec<(&AnalysisEvent, Vec<Provenance>)> = Vec::new();
    let mut first: Option<Candidate<'_>> = None;
    let mut scope_reads: Vec<(&AnalysisEvent, Vec<Violation>)> = Vec::new();
    for e in &events {
        if let Some(text) = e.trusted_content() {
            trusted_text.push('\n');
            trusted_text.push_str(text);
            continue;
        }
        if e.kind == EventKind::IntentChange && first.is_none() {
            first = Some(Candidate {
                action: e,
                kind: DriftKind::IntentChange,
                cause: latest(&inputs, e, false),
            });
            continue;
        }
        if e.kind != EventKind::ToolCall {
            continue;
        }
        let before: Vec<&Input<'_>> = inputs
            .iter()
            .filter(|i| i.event.time <= e.time && i.event.id != e.id)
            .collect();
        let trusted = Trusted {
            lower: trusted_text.to_lowercase(),
            squashed: squash(&trusted_text),
        };
        let prov = provenance(e, &before, &trusted);
        let violations: Vec<Violation> = dedup_violations(
            constraint_sets(scope, &e.actor)
                .into_iter()
                .flat_map(|c| violations(e, c, roles))
                .collect(),
        );
        let tainted_from = prov
            .iter()
            .find(|p| p.instruction)
            .and_then(|p| inputs.iter().find(|i| i.event.id == p.event_id))
            .map(|i| i.event);
        let instructed_before = latest(&inputs, e, true);
        let above_read = e.action_class.is_none_or(|c| c > ActionClass::Read);
        // A step outside the lists that followed instructions: above read anywhere after them;
        // a read only when the instructions name its tool (an incidental read by an agent that
        // resisted is not drift).
        let followed = instructed_before.is_some_and(|cause| {
            above_read
                || inputs
                    .iter()
                    .find(|i| i.event.id == cause.id)
                    .is_some_and(|i| i.names_tool(e.action.as_deref()))
        });
        let candidate = if let Some(cause) = tainted_from {
            Some((DriftKind::TaintedAction, Some(cause)))
        } else if !violations.is_empty() && followed {
            Some((DriftKind::InstructedOutOfScope, instructed_before))
        } else if !violations.is_empty() && above_read {
            Some((DriftKind::OutOfScope, latest(&inputs, e, false)))
        } else {
            None
        };
        if !violations.is_empty() {
            if candidate.is_none() && first.is_none() {
                scope_reads.push((e, violations.clone()));
            } else {
                broken.push((e, violations));
            }
        }
        if !prov.is_empty() {
            provenance_of.push((e, prov));
        }
        if first.is_none()
            && let Some((kind, cause)) = candidate
        {
            first = Some(Candidate {
                action: e,
                kind,
                cause,
            });
        }
    }
    let Some(mut point) = first else {
        scope_findings(task, scope, &scope_reads, out);
        return None;
    };

    // The first call that served the instructions: an action after the instruction-bearing
    // cause that the instructions name and the declared intent does not; or, under declared
    // lists, the very next action after that content when it left the lists (a read the
    // attacker's goal needed, "get the scheduled transactions"). Either way it must not be aimed
    // where the user or the data said, and a later action must already have confirmed drift.
    if point.kind != DriftKind::IntentChange
        && let Some(cause) = point.cause
        && let Some(input) = inputs.iter().find(|i| i.event.id == cause.id)
        && input.has_instructions()
    {
        let intent_lower = scope.intent.as_deref().unwrap_or_default().to_lowercase();
        let spans_lower: Vec<&str> = input
            .instruction_texts
            .iter()
            .map(|(_, l, _)| l.as_str())
            .collect();
        let next_after_cause = events
            .iter()
            .skip_while(|e| e.id != cause.id)
            .find(|e| e.kind == EventKind::ToolCall)
            .map(|e| e.id.as_str());
        if let Some(earlier) = events.iter().copied().find(|a| {
            a.kind == EventKind::ToolCall
                && a.time >= cause.time
                && a.time <= point.action.time
                && a.id != point.action.id
                && (a.action.as_deref().is_some_and(|name| {
                    spans_lower.iter().any(|s| names_tool(s, name))
                        && !names_tool_fully(&intent_lower, name)
                }) || (Some(a.id.as_str()) == next_after_cause
                    && scope_reads.iter().any(|(r, _)| r.id == a.id)))
                && only_instructed_roles(a, roles, &provenance_of)
        }) {
            if let Some(i) = scope_reads.iter().position(|(r, _)| r.id == earlier.id) {
                let (r, v) = scope_reads.remove(i);
                broken.insert(0, (r, v));
            }
            point = Candidate {
                action: earlier,
                kind: DriftKind::InstructedAction,
                cause: Some(cause),
            };
        }
    }
    scope_findings(task, scope, &scope_reads, out);
    let p = point.action;

    // The drift point's values first (tainted before data), then those of later broken actions.
    let mut prov: Vec<Provenance> = Vec::new();
    let mut add = |items: &[Provenance]| {
        for q in items {
            if !prov.iter().any(|x| x.value == q.value) {
                prov.push(q.clone());
            }
        }
    };
    for (a, items) in &provenance_of {
        if a.id == p.id {
            let (tainted, data): (Vec<Provenance>, Vec<Provenance>) =
                items.iter().cloned().partition(|q| q.instruction);
            add(&tainted);
            add(&data);
        }
    }
    for (a, items) in &provenance_of {
        if a.time >= p.time
            && (broken.iter().any(|(b, _)| b.id == a.id) || items.iter().any(|q| q.instruction))
        {
            add(items);
        }
    }
    let cause = point
        .cause
        .map(|c| c.id.clone())
        .or_else(|| latest(&inputs, p, false).map(|c| c.id.clone()));

    let actions: Vec<&AnalysisEvent> = events
        .iter()
        .copied()
        .filter(|e| e.kind == EventKind::ToolCall)
        .collect();
    let after: Vec<&AnalysisEvent> = actions
        .iter()
        .copied()
        .filter(|a| a.time >= p.time && a.id != p.id)
        .collect();
    let last_time = after.last().map_or(p.time, |a| a.time);
    let (stopped_by, stop_kind) = containment(&events, p, &broken);

    drift_findings(task, scope, p, &broken, &actions, &prov, &inputs, out);

    Some(DriftPoint {
        task: task.to_owned(),
        event_id: p.id.clone(),
        time: p.time,
        kind: point.kind,
        reasons: broken
            .iter()
            .find(|(a, _)| a.id == p.id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        cause_event_id: cause,
        provenance: prov,
        actions_after: after.len() as u64,
        after_event_ids: after.iter().map(|a| a.id.clone()).collect(),
        seconds_after: (last_time - p.time).num_microseconds().unwrap_or(0) as f64 / 1e6,
        stopped_by,
        stop_kind,
    })
}

/// Whether every destination and resource of the action (if it has any) came from instructions:
/// an action aimed where the user or the data said serves the user, whatever its tool.
fn only_instructed_roles(
    a: &AnalysisEvent,
    roles: &ArgumentRoles,
    provenance_of: &[(&AnalysisEvent, Vec<Provenance>)],
) -> bool {
    let tainted: Vec<&str> = provenance_of
        .iter()
        .filter(|(x, _)| x.id == a.id)
        .flat_map(|(_, items)| {
            items
                .iter()
                .filter(|p| p.instruction)
                .map(|p| p.value.as_str())
        })
        .collect();
    destinations_of(a, roles)
        .iter()
        .chain(resources_of(a, roles).iter())
        .all(|v| tainted.contains(&v.as_str()))
}

/// The latest untrusted input before `e` (only instruction-bearing ones when `instructed`).
fn latest<'a>(
    inputs: &[Input<'a>],
    e: &AnalysisEvent,
    instructed: bool,
) -> Option<&'a AnalysisEvent> {
    inputs
        .iter()
        .filter(|i| i.event.time <= e.time && i.event.id != e.id)
        .filter(|i| !instructed || i.has_instructions())
        .max_by_key(|i| (i.has_instructions(), i.event.time))
        .map(|i| i.event)
}

fn dedup_violations(mut v: Vec<Violation>) -> Vec<Violation> {
    v.sort_by(|a, b| (a.axis, &a.value).cmp(&(b.axis, &b.value)));
    v.dedup_by(|a, b| a.axis == b.axis && a.value == b.value);
    v
}

/// The first control after the drift point that no task action outlived.
fn containment(
    events: &[&AnalysisEvent],
    point: &AnalysisEvent,
    broken: &[(&AnalysisEvent, Vec<Violation>)],
) -> (Option<String>, Option<StopKind>) {
    let drift_credentials: Vec<&str> = broken
        .iter()
        .filter_map(|(a, _)| a.credential.as_deref())
        .chain(point.credential.as_deref())
        .collect();
    let last_action = events
        .iter()
        .filter(|e| e.kind == EventKind::ToolCall && went_through(e))
        .map(|e| e.time)
        .max();
    for e in events
        .iter()
        .filter(|e| e.time >= point.time && e.id != point.id)
    {
        let kind = match e.kind {
            EventKind::ToolCall if e.outcome == Outcome::Denied => Some(StopKind::Denial),
            EventKind::ApprovalDecision if e.decision == Some(crate::model::Decision::Deny) => {
                Some(StopKind::ApprovalRefused)
            }
            EventKind::CredentialRevoke
                if e.credential
                    .as_deref()
                    .is_some_and(|c| drift_credentials.contains(&c)) =>
            {
                Some(StopKind::Revocation)
            }
            EventKind::TaskEnd => Some(StopKind::TaskEnd),
            _ => None,
        };
        if let Some(kind) = kind
            && last_action.is_none_or(|t| t <= e.time)
        {
            return (Some(e.id.clone()), Some(kind));
        }
    }
    (None, None)
}

/// Reads outside the declared lists that no drift explains: scope findings of low severity.
fn scope_findings(
    task: &str,
    scope: &TaskScope,
    reads: &[(&AnalysisEvent, Vec<Violation>)],
    out: &mut Vec<Finding>,
) {
    let Some((first, v)) = reads.first() else {
        return;
    };
    let mut values: Vec<String> = reads
        .iter()
        .flat_map(|(_, vs)| vs.iter().map(|v| format!("{} `{}`", v.axis, v.value)))
        .collect();
    values.dedup();
    out.push(finding(
        &catalogue::SCOPE_READ_OUTSIDE,
        Some(task),
        Some(&first.actor),
        first.time,
        format!(
            "{} read outside the declared lists of task {task} ({} constraints) before any instruction-bearing input: {}; allowed {} [{}]. A scope deviation, not drift: nothing suggests another goal",
            first.actor,
            scope.origin,
            values.join(", "),
            v[0].axis,
            v[0].allowed.join(", "),
        ),
        reads.iter().map(|(a, _)| a.id.clone()).collect(),
    ));
}

#[allow(
    clippy::too_many_arguments,
    clippy::too_many_lines,
    reason = "one finding per axis, then intent and taint, from the same task state"
)]
fn drift_findings(
    task: &str,
    scope: &TaskScope,
    point: &AnalysisEvent,
    broken: &[(&AnalysisEvent, Vec<Violation>)],
    actions: &[&AnalysisEvent],
    prov: &[Provenance],
    inputs: &[Input<'_>],
    out: &mut Vec<Finding>,
) {
    let mut per_axis: BTreeMap<Axis, Vec<(&AnalysisEvent, &Violation)>> = BTreeMap::new();
    for (a, vs) in broken {
        for v in vs {
            per_axis.entry(v.axis).or_default().push((a, v));
        }
    }
    for (axis, hits) in per_axis {
        let detector: &Detector = match axis {
            Axis::Tool => &catalogue::DRIFT_TOOL,
            Axis::Resource => &catalogue::DRIFT_RESOURCE,
            Axis::Destination => &catalogue::DRIFT_DESTINATION,
            Axis::Environment => &catalogue::DRIFT_ENVIRONMENT,
            Axis::ActionClass => &catalogue::DRIFT_CEILING,
        };
        let what = match axis {
            Axis::ActionClass => "action class",
            other => other.as_str(),
        };
        let (first, v) = hits[0];
        let mut values: Vec<&str> = hits.iter().map(|(_, v)| v.value.as_str()).collect();
        values.dedup();
        let mut text = format!(
            "{} used {what} `{}` in task {task}, which allows only [{}] ({} constraints); {} action(s) broke this rule{}",
            first.actor,
            v.value,
            v.allowed.join(", "),
            scope.origin,
            hits.len(),
            if values.len() > 1 {
                format!(" with values {}", values.join(", "))
            } else {
                String::new()
            }
        );
        if axis == Axis::Destination {
            let class = first.action_class;
            let _ = write!(
                text,
                "; the action class is {}, so {}",
                class.map_or("unclassified", ActionClass::as_str),
                match class {
                    Some(ActionClass::Transfer) => "value left to an outside account",
                    Some(ActionClass::Read) => {
                        "the agent read from a source outside the allowed set (no data was sent)"
                    }
                    _ => "data left the allowed set (exfiltration)",
                }
            );
        }
        out.push(finding(
            detector,
            Some(task),
            Some(&first.actor),
            first.time,
            text,
            hits.iter().map(|(a, _)| a.id.clone()).collect(),
        ));
    }
    if point.kind == EventKind::IntentChange {
        let after: Vec<String> = actions
            .iter()
            .filter(|a| a.time > point.time)
            .map(|a| a.id.clone())
            .collect();
        if !after.is_empty() {
            let mut evidence = vec![point.id.clone()];
            evidence.extend(after.iter().cloned());
            out.push(finding(
                &catalogue::DRIFT_INTENT,
                Some(task),
                Some(&point.actor),
                point.time,
                format!(
                    "{} declared a new intent for task {task} (\"{}\") and then took {} more action(s)",
                    point.actor,
                    point.intent.as_deref().unwrap_or(""),
                    after.len()
                ),
                evidence,
            ));
        }
    }
    let tainted: Vec<&Provenance> = prov.iter().filter(|p| p.instruction).collect();
    if !tainted.is_empty() {
        let mut evidence = vec![point.id.clone()];
        for p in &tainted {
            if !evidence.contains(&p.event_id) {
                evidence.push(p.event_id.clone());
            }
        }
        let values: Vec<String> = tainted
            .iter()
            .map(|p| format!("{}={}", p.argument, p.value))
            .collect();
        let source = inputs.iter().find(|i| i.event.id == tainted[0].event_id);
        let why = source
            .and_then(|i| {
                let (s, e) = tainted[0].span?;
                let span = i.scan.spans.iter().find(|x| x.start == s && x.end == e)?;
                Some(format!(
                    " (instruction span at bytes {s}..{e} of {}, score {:.1}: {})",
                    i.event.id,
                    span.score,
                    span.kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
            .unwrap_or_default();
        out.push(finding(
            &catalogue::DRIFT_TAINTED,
            Some(task),
            Some(&point.actor),
            point.time,
            format!(
                "argument values of action(s) in task {task} came from the instruction-bearing part of untrusted content and nowhere the user or the system said: {}{why}",
                values.join(", ")
            ),
            evidence,
        ));
    }
}
