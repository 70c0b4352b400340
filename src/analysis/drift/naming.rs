//! Whether a text (instructions, the declared intent) names a tool: by the object words of its
//! name, stem-wise, not by its verb.

/// Words of a tool name that say what it acts on or does, without filler.
fn tool_words(action: &str) -> Vec<String> {
    const FILLER: &[&str] = &[
        "get", "set", "the", "a", "an", "to", "of", "for", "by", "in", "on", "from", "with", "and",
        "tool", "api", "id", "ids", "all", "my", "info", "data", "details", "v1", "v2",
    ];
    let mut words = crate::model::split_words(action);
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
pub(super) fn names_tool(text_lower: &str, action: &str) -> bool {
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
pub(super) fn names_tool_fully(text_lower: &str, action: &str) -> bool {
    let words = tool_words(action);
    let nouns: Vec<&String> = words
        .iter()
        .filter(|w| crate::model::classify_action(w).is_none())
        .filter(|w| !COMMON_WORDS.contains(&w.as_str()))
        .collect();
    !nouns.is_empty() && nouns.iter().all(|w| names_tool(text_lower, w))
}
