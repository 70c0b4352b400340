//! Instruction detection: which parts of untrusted content (a tool result, a fetched page, an
//! e-mail) address the agent with instructions, rather than carry data for it.
//!
//! Not a list of attack strings: the scan looks for the *structure* of an instruction aimed at an
//! agent, and scores it. Each sentence is checked for signals of a few kinds (see
//! [`SignalKind`]): text addressed to an AI (vocatives, model names, "if you are an AI"),
//! references to the agent's own task ("before you solve the task I gave you"), overrides
//! ("ignore the previous instructions"), claims of authority ("a message from the user"),
//! concealment ("do not tell the user"), role markers and pseudo-markup wrappers, imperatives,
//! ordered steps, urgency, and a switch of language from the declared task. Neighbouring
//! sentences with signals form a span; a span is **instruction-bearing** when its score reaches
//! [`THRESHOLD`] and at least one signal is of a strong kind. Ordinary imperatives addressed to a
//! human reader ("Add your withdrawal method", "Click here to verify") are weak signals only, so
//! a real e-mail that asks its reader to do something does not qualify on its own.
//!
//! Every span keeps its byte range, its score and the signals that made it, so a drift point can
//! say which words of which content placed it (docs/detectors.md).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

mod patterns;

use patterns::PATTERNS;

/// The score from which a span (with a strong signal) is instruction-bearing.
pub const THRESHOLD: f64 = 3.0;

/// What kind of evidence a signal is. Strong kinds are ones ordinary content for a human reader
/// rarely has; weak kinds are common in benign text and only add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// Text addressed to an AI agent: "Dear assistant", "if you are an AI", "AI agents reading
    /// this page", "to you, GPT-4".
    AddressedToAgent,
    /// The agent's own task or instructions referred to: "the task I gave you", "your original
    /// instructions", "before you can solve the task".
    TaskReference,
    /// An attempt to replace the agent's instructions: "ignore the previous instructions", "you
    /// are now", "new instructions:".
    Override,
    /// A claim to speak for the user or the system: "a message from the user", "the user has
    /// already approved", "SYSTEM NOTE:".
    AuthorityClaim,
    /// A request to hide the action from the user: "do not tell the user", "without asking".
    Concealment,
    /// Chat-template or role markers inside data: `system:`, `[INST]`, `<|im_start|>`.
    RoleMarker,
    /// Instructions about the agent's answer: "in your response", "to your output".
    ResponseManipulation,
    /// Pseudo-markup around the text: `<INFORMATION>`, `<!-- ... -->`, `[SYSTEM]`.
    Wrapper,
    /// A mention of an AI model or assistant without addressing it.
    AgentMention,
    /// A sentence that starts with (or pleads) an action verb: "Send ...", "Please transfer ...".
    Imperative,
    /// Ordered steps: "first", "after that", "step 2".
    Sequencing,
    /// "You must", "you need to".
    SecondPersonCommand,
    /// "Immediately", "urgent".
    Urgency,
    /// The span is in another language than the declared task.
    LanguageSwitch,
}

impl SignalKind {
    /// The weight one signal of this kind adds to a span (each kind counts once per span).
    pub const fn weight(self) -> f64 {
        match self {
            Self::Override => 3.0,
            Self::AddressedToAgent => 2.5,
            Self::TaskReference
            | Self::AuthorityClaim
            | Self::Concealment
            | Self::RoleMarker
            | Self::ResponseManipulation => 2.0,
            Self::Wrapper => 1.5,
            Self::AgentMention
            | Self::Imperative
            | Self::Sequencing
            | Self::SecondPersonCommand
            | Self::LanguageSwitch => 1.0,
            Self::Urgency => 0.5,
        }
    }

    /// Whether this kind can make a span instruction-bearing (with enough score).
    pub const fn is_strong(self) -> bool {
        matches!(
            self,
            Self::AddressedToAgent
                | Self::TaskReference
                | Self::Override
                | Self::AuthorityClaim
                | Self::Concealment
                | Self::RoleMarker
                | Self::ResponseManipulation
        )
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AddressedToAgent => "addressed_to_agent",
            Self::TaskReference => "task_reference",
            Self::Override => "override",
            Self::AuthorityClaim => "authority_claim",
            Self::Concealment => "concealment",
            Self::RoleMarker => "role_marker",
            Self::ResponseManipulation => "response_manipulation",
            Self::Wrapper => "wrapper",
            Self::AgentMention => "agent_mention",
            Self::Imperative => "imperative",
            Self::Sequencing => "sequencing",
            Self::SecondPersonCommand => "second_person_command",
            Self::Urgency => "urgency",
            Self::LanguageSwitch => "language_switch",
        }
    }
}

/// One signal: its kind and the bytes of the content that showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub start: usize,
    pub end: usize,
}

/// A run of neighbouring sentences with signals, scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstructionSpan {
    /// Byte offsets into the scanned content.
    pub start: usize,
    pub end: usize,
    pub score: f64,
    pub signals: Vec<Signal>,
}

impl InstructionSpan {
    /// Whether the span counts as instructions addressed to the agent.
    pub fn is_instruction(&self) -> bool {
        self.score >= THRESHOLD
            && (self.signals.iter().any(|s| s.kind.is_strong()) || self.strong_wrapper())
    }

    /// An upper-case pseudo tag (`<INFORMATION>`) around an imperative is as telling as a
    /// strong signal: data does not shout its own markup at the reader.
    fn strong_wrapper(&self) -> bool {
        let shouted = self
            .signals
            .iter()
            .filter(|s| s.kind == SignalKind::Wrapper)
            .count()
            >= 2;
        shouted
            && self.signals.iter().any(|s| {
                matches!(
                    s.kind,
                    SignalKind::Imperative | SignalKind::SecondPersonCommand
                )
            })
    }

    /// The distinct kinds of signal in the span, strongest first.
    pub fn kinds(&self) -> Vec<SignalKind> {
        let mut kinds: Vec<SignalKind> = self.signals.iter().map(|s| s.kind).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// The result of scanning one content: every span with signals, instruction-bearing or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scan {
    pub spans: Vec<InstructionSpan>,
}

impl Scan {
    /// The instruction-bearing spans.
    pub fn instructions(&self) -> impl Iterator<Item = &InstructionSpan> {
        self.spans.iter().filter(|s| s.is_instruction())
    }

    /// Whether any span is instruction-bearing.
    pub fn has_instructions(&self) -> bool {
        self.instructions().next().is_some()
    }

    /// The highest span score (0 when nothing scored).
    pub fn score(&self) -> f64 {
        self.spans.iter().map(|s| s.score).fold(0.0, f64::max)
    }

    /// The instruction-bearing span holding the byte range, if any.
    pub fn instruction_at(&self, start: usize, end: usize) -> Option<&InstructionSpan> {
        self.instructions()
            .find(|s| s.start <= start && end <= s.end)
    }
}

pub(super) static COMPILED: LazyLock<Vec<(SignalKind, Regex)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .filter_map(|(kind, p)| {
            // The patterns are constants checked by the tests; a bad one is skipped, not fatal.
            Regex::new(&format!("(?i){p}")).ok().map(|r| (*kind, r))
        })
        .collect()
});

/// How many signal patterns there are (the tests check every one compiled).
#[cfg(test)]
pub(super) fn pattern_count() -> usize {
    PATTERNS.len()
}

/// Common HTML element names: markup around content that is just formatting.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "code",
    "col",
    "div",
    "dl",
    "dd",
    "dt",
    "em",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "img",
    "input",
    "label",
    "li",
    "link",
    "main",
    "meta",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "s",
    "script",
    "section",
    "select",
    "small",
    "span",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "u",
    "ul",
];

static TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<\s*([A-Za-z][A-Za-z0-9_:-]{0,40})(\s[^<>]{0,200})?>").ok());
static BRACKET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\[\s*(system|admin|important|instructions?|assistant|note|hidden|inst)\s*\]")
        .ok()
});

/// Byte ranges of pseudo-markup wrappers: a non-HTML tag with its closing tag, an HTML comment,
/// a bracket header to the end of its paragraph. `bool` says the tag was in upper case.
fn wrappers(text: &str) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("<!--") {
        let start = from + i;
        let end = text[start..]
            .find("-->")
            .map_or(text.len(), |j| start + j + 3);
        out.push((start, end, false));
        from = end;
    }
    if let Some(tag) = TAG.as_ref() {
        for m in tag.captures_iter(text) {
            let (Some(whole), Some(name)) = (m.get(0), m.get(1)) else {
                continue;
            };
            let lower = name.as_str().to_ascii_lowercase();
            if HTML_TAGS.contains(&lower.as_str()) {
                continue;
            }
            let close = format!("</{}", name.as_str());
            let end = text[whole.end()..]
                .to_ascii_lowercase()
                .find(&close.to_ascii_lowercase())
                .map_or_else(
                    || paragraph_end(text, whole.end()),
                    |j| whole.end() + j + close.len() + 1,
                );
            let upper = name.as_str().len() > 1
                && name
                    .as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || !c.is_ascii_alphabetic());
            out.push((whole.start(), end.min(text.len()), upper));
        }
    }
    if let Some(bracket) = BRACKET.as_ref() {
        for m in bracket.find_iter(text) {
            out.push((m.start(), paragraph_end(text, m.end()), true));
        }
    }
    out
}

fn paragraph_end(text: &str, from: usize) -> usize {
    text[from..].find("\n\n").map_or(text.len(), |j| from + j)
}

/// Sentence byte ranges: cut at line breaks and after `.`, `!` or `?` followed by a space.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let cut = match bytes[i] {
            b'\n' => Some(i + 1),
            b'.' | b'!' | b'?' if bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace) => {
                Some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = cut {
            if text[start..end].trim().len() > 1 {
                out.push((start, end));
            }
            start = end;
        }
        i += 1;
    }
    if text[start..].trim().len() > 1 {
        out.push((start, text.len()));
    }
    out
}

/// A rough language guess from function words; `None` when too little text says.
fn language(text: &str) -> Option<&'static str> {
    const WORDS: &[(&str, &[&str])] = &[
        (
            "en",
            &[
                "the", "and", "to", "of", "you", "is", "that", "for", "with", "this", "please",
                "your",
            ],
        ),
        (
            "fr",
            &[
                "le", "la", "les", "et", "vous", "est", "que", "pour", "avec", "une", "des",
                "votre",
            ],
        ),
        (
            "de",
            &[
                "der", "die", "das", "und", "sie", "ist", "nicht", "mit", "für", "ein", "eine",
                "bitte",
            ],
        ),
        (
            "es",
            &[
                "el", "los", "las", "y", "que", "es", "para", "con", "una", "por", "del", "usted",
            ],
        ),
        (
            "it",
            &[
                "il", "gli", "che", "è", "per", "con", "una", "del", "della", "non", "sono",
                "questo",
            ],
        ),
        (
            "pt",
            &[
                "os", "as", "que", "para", "com", "uma", "não", "você", "do", "da", "dos", "em",
            ],
        ),
    ];
    let tokens: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut best: Option<(&str, usize)> = None;
    let mut second = 0;
    for (lang, words) in WORDS {
        let hits = tokens
            .iter()
            .filter(|t| words.contains(&t.as_str()))
            .count();
        match best {
            Some((_, b)) if hits <= b => second = second.max(hits),
            _ => {
                second = best.map_or(0, |(_, b)| b).max(second);
                best = Some((lang, hits));
            }
        }
    }
    best.filter(|(_, hits)| *hits >= 3 && *hits > second + 1)
        .map(|(lang, _)| lang)
}

/// Sentences after the last strong one that a span takes in, signals or not.
const FOLLOWING: usize = 3;

static DATA_FIELD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"^\s*[-*]?\s*"?[a-z_][a-z0-9_]*"?\s*[:=]\s"#).ok());

/// A line that is a field of structured data (`- amount: 50`, `recipient: CH93…`): the end of
/// free text that instructions could continue in.
fn is_data_field(sentence: &str) -> bool {
    DATA_FIELD.as_ref().is_some_and(|r| r.is_match(sentence))
}

/// Blocks the spans never cross: each wrapper region, and the text between wrappers cut at blank
/// lines (paragraphs). `Some(upper)` marks a wrapper.
fn blocks(text: &str, wrapped: &[(usize, usize, bool)]) -> Vec<(usize, usize, Option<bool>)> {
    let mut regions: Vec<(usize, usize, bool)> = wrapped.to_vec();
    regions.sort_by_key(|r| (r.0, std::cmp::Reverse(r.1)));
    // Nested or overlapping wrappers become one.
    let mut merged: Vec<(usize, usize, bool)> = Vec::new();
    for r in regions {
        match merged.last_mut() {
            Some(last) if r.0 < last.1 => {
                last.1 = last.1.max(r.1);
                last.2 |= r.2;
            }
            _ => merged.push(r),
        }
    }
    let mut out = Vec::new();
    let paragraphs = |from: usize, to: usize, out: &mut Vec<(usize, usize, Option<bool>)>| {
        let mut start = from;
        while start < to {
            let end = text[start..to].find("\n\n").map_or(to, |j| start + j + 2);
            out.push((start, end, None));
            start = end;
        }
    };
    let mut at = 0;
    for (s, e, upper) in merged {
        paragraphs(at, s, &mut out);
        out.push((s, e, Some(upper)));
        at = e;
    }
    paragraphs(at, text.len(), &mut out);
    out
}

/// Scans untrusted content for instructions addressed to the agent. `declared` is the declared
/// task (its language is compared with each span's).
///
/// Spans form inside blocks (a wrapper, or a paragraph): a wrapper with signals is one span; in a
/// paragraph, runs of sentences with signals (bridging one quiet sentence) are spans, and a run
/// with a strong signal starts at its first strong sentence (one sentence earlier when that
/// sentence only trails, as "Do not tell the user." does), so an ordinary request earlier in the
/// same paragraph ("Please pay to IBAN …") stays data.
#[allow(
    clippy::too_many_lines,
    reason = "signals, blocks, runs and scores in one pass read best together"
)]
pub fn scan(text: &str, declared: Option<&str>) -> Scan {
    let mut signals: Vec<Signal> = Vec::new();
    for (kind, re) in COMPILED.iter() {
        for m in re.find_iter(text) {
            signals.push(Signal {
                kind: *kind,
                start: m.start(),
                end: m.end(),
            });
        }
    }
    // A signal belongs to the sentence its first letter is in (patterns may start at the
    // separator before a sentence).
    for s in &mut signals {
        let lead = text[s.start..s.end]
            .find(|c: char| c.is_alphanumeric() || c == '<' || c == '[' || c == '#')
            .unwrap_or(0);
        s.start += lead;
    }
    let wrapped = wrappers(text);
    // The language spans are compared with: the declared task's, else the content's own.
    let reference_language = declared.and_then(language).or_else(|| language(text));
    let mut ranges: Vec<(usize, usize, Option<bool>)> = Vec::new();
    for (b_start, b_end, wrapper) in blocks(text, &wrapped) {
        if wrapper.is_some() {
            if signals
                .iter()
                .any(|s| s.start >= b_start && s.start < b_end)
            {
                ranges.push((b_start, b_end, wrapper));
            }
            continue;
        }
        let sentences: Vec<(usize, usize)> = sentences(&text[b_start..b_end])
            .into_iter()
            .map(|(s, e)| (s + b_start, e + b_start))
            .collect();
        let kinds: Vec<Vec<SignalKind>> = sentences
            .iter()
            .map(|&(a, b)| {
                signals
                    .iter()
                    .filter(|s| s.start >= a && s.start < b)
                    .map(|s| s.kind)
                    .collect()
            })
            .collect();
        let active: Vec<bool> = kinds.iter().map(|k| !k.is_empty()).collect();
        let strong = |k: usize| kinds[k].iter().filter(|x| x.is_strong());
        let mut i = 0;
        while i < sentences.len() {
            if !active[i] {
                i += 1;
                continue;
            }
            let first = i;
            let mut last = i;
            let mut j = i + 1;
            while j < sentences.len() {
                if active[j] {
                    last = j;
                    j += 1;
                } else if j + 1 < sentences.len() && active[j + 1] {
                    j += 1;
                } else {
                    break;
                }
            }
            // Where the instructions begin: the first strong sentence (one earlier if it only
            // trails).
            let strong_at = (first..=last).find(|&k| strong(k).next().is_some());
            if let Some(k) = strong_at {
                let trailing = strong(k).all(|s| {
                    matches!(
                        s,
                        SignalKind::Concealment | SignalKind::ResponseManipulation
                    )
                });
                let begin = if trailing && k > first && active[k - 1] {
                    k - 1
                } else {
                    k
                };
                if begin > first {
                    ranges.push((sentences[first].0, sentences[begin - 1].1, None));
                }
                // What follows a lead-in ("Ignore the previous instructions.") is what it asks
                // for, signals or not: up to three more sentences of the paragraph.
                let last_strong = (k..=last)
                    .rev()
                    .find(|&x| strong(x).next().is_some())
                    .unwrap_or(k);
                let mut end = last;
                while end + 1 < sentences.len()
                    && end < last_strong + FOLLOWING
                    && !is_data_field(&text[sentences[end + 1].0..sentences[end + 1].1])
                {
                    end += 1;
                }
                ranges.push((sentences[begin].0, sentences[end].1, None));
                i = end + 1;
                continue;
            }
            ranges.push((sentences[first].0, sentences[last].1, None));
            i = last + 1;
        }
    }
    let mut spans = Vec::new();
    for (start, end, wrapper) in ranges {
        let mut own: Vec<Signal> = signals
            .iter()
            .filter(|s| s.start >= start && s.start < end)
            .cloned()
            .collect();
        if let Some(upper) = wrapper {
            let mark = Signal {
                kind: SignalKind::Wrapper,
                start,
                end: (start + 1).min(end),
            };
            if upper {
                // A shouted wrapper counts half again (see span_score).
                own.push(mark.clone());
            }
            own.push(mark);
        }
        if own.is_empty() {
            continue;
        }
        if let (Some(reference), Some(here)) = (reference_language, language(&text[start..end]))
            && reference != here
        {
            own.push(Signal {
                kind: SignalKind::LanguageSwitch,
                start,
                end,
            });
        }
        own.sort_by_key(|s| (s.start, s.kind));
        let score = span_score(&own);
        spans.push(InstructionSpan {
            start,
            end,
            score,
            signals: own,
        });
    }
    Scan { spans }
}

/// Each kind counts once, but a second imperative (ordered steps) and a shouted wrapper count
/// half again.
fn span_score(signals: &[Signal]) -> f64 {
    let mut kinds: Vec<SignalKind> = signals.iter().map(|s| s.kind).collect();
    kinds.sort();
    let imperatives = kinds
        .iter()
        .filter(|k| **k == SignalKind::Imperative)
        .count();
    let wrappers = kinds.iter().filter(|k| **k == SignalKind::Wrapper).count();
    kinds.dedup();
    let mut score: f64 = kinds.iter().map(|k| k.weight()).sum();
    if imperatives >= 2 {
        score += 0.5;
    }
    if wrappers >= 2 {
        score += 0.5;
    }
    score
}

/// Whether untrusted text carries instructions for the agent anywhere.
pub fn has_instructions(text: &str) -> bool {
    scan(text, None).has_instructions()
}
