//! Argument roles: which arguments of a tool call say where data or value goes (destinations)
//! and what is acted on (resources), for formats whose records do not name them (agent
//! transcripts, OpenTelemetry GenAI spans, MCP `tools/call`).
//!
//! The defaults are key names (compared ignoring case, `-` and `_`), looked for at any depth of
//! the arguments; every string item of a list counts, not only the first. A manifest extends them
//! per tool (`[tools."send_email"] destinations = ["recipients", "cc", "bcc"]`, docs/manifest.md).
//! Destinations are compared after [`normalise_destination`], on both sides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `policies` key under which a manifest's argument roles for one tool are kept
/// (`tool_roles:send_email`).
pub const TOOL_ROLES_PREFIX: &str = "tool_roles:";

/// Argument keys that name where data or value goes (egress), in the order the single stored
/// `destination` of an event is chosen from.
pub const DESTINATION_KEYS: &[&str] = &[
    "to",
    "recipient",
    "recipients",
    "email",
    "emails",
    "emailaddress",
    "useremail",
    "destination",
    "url",
    "link",
    "webhook",
    "webhookurl",
    "endpoint",
    "iban",
    "toiban",
    "account",
    "toaccount",
    "accountnumber",
    "channel",
    "cc",
    "bcc",
    "participants",
    "attendees",
    "invitees",
    "guests",
    "members",
    "sharewith",
    "grantee",
    "phone",
    "phonenumber",
];

/// Argument keys that name what is acted on.
pub const RESOURCE_KEYS: &[&str] = &[
    "resource",
    "uri",
    "path",
    "file",
    "filename",
    "filepath",
    "fileid",
    "bucket",
    "table",
    "dataset",
    "database",
    "repository",
    "repo",
    "document",
    "documentid",
    "ticketid",
    "orderid",
    "id",
];

/// The argument keys a manifest names for one tool, beyond the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRoles {
    #[serde(default)]
    pub destinations: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
}

/// The role schema in force: the defaults plus what the manifest added per tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgumentRoles {
    pub tools: BTreeMap<String, ToolRoles>,
}

/// One argument value in a role: the path of the argument (`recipients[1]`) and the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleValue {
    pub argument: String,
    pub value: String,
}

/// Normalises an argument key: lower case, without `-` and `_`.
pub fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

impl ArgumentRoles {
    fn keys(&self, tool: Option<&str>, defaults: &[&str], destinations: bool) -> Vec<String> {
        let mut keys: Vec<String> = defaults.iter().map(|k| (*k).to_owned()).collect();
        if let Some(roles) = tool.and_then(|t| self.tools.get(t)) {
            let extra = if destinations {
                &roles.destinations
            } else {
                &roles.resources
            };
            keys.extend(extra.iter().map(|k| normalise_key(k)));
        }
        keys
    }

    /// Every destination the arguments of a call to `tool` name.
    pub fn destinations(&self, tool: Option<&str>, args: &Value) -> Vec<RoleValue> {
        let keys = self.keys(tool, DESTINATION_KEYS, true);
        let mut out = Vec::new();
        collect(args, "", false, &keys, &mut out);
        out
    }

    /// Every resource the arguments of a call to `tool` name.
    pub fn resources(&self, tool: Option<&str>, args: &Value) -> Vec<RoleValue> {
        let keys = self.keys(tool, RESOURCE_KEYS, false);
        let mut out = Vec::new();
        collect(args, "", false, &keys, &mut out);
        out
    }
}

/// Walks the arguments; `inside` says the current value sits under a role key.
fn collect(v: &Value, path: &str, inside: bool, keys: &[String], out: &mut Vec<RoleValue>) {
    match v {
        Value::String(s) if inside && !s.trim().is_empty() => out.push(RoleValue {
            argument: path.to_owned(),
            value: s.trim().to_owned(),
        }),
        Value::Number(n) if inside => out.push(RoleValue {
            argument: path.to_owned(),
            value: n.to_string(),
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{path}[{i}]"), inside, keys, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let role = inside || keys.iter().any(|wanted| *wanted == normalise_key(k));
                collect(item, &p, role, keys, out);
            }
        }
        _ => {}
    }
}

/// The first value under the first key of `keys` (in list order) that the top level of the
/// arguments has: the single `resource` / `destination` an event stores.
pub fn first_in_role(args: &Value, keys: &[&str]) -> Option<String> {
    let obj = args.as_object()?;
    keys.iter().find_map(|wanted| {
        obj.iter()
            .find(|(k, _)| normalise_key(k) == *wanted)
            .and_then(|(_, v)| first_string(v))
    })
}

fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(first_string),
        _ => None,
    }
}

/// A destination in the form both sides of a comparison use: without a scheme (`https://`,
/// `mailto:`, `iban:`), without a leading `www.`, without a trailing `/`, the host in lower case
/// (an e-mail address wholly in lower case; a bare account is a "host" too, and account numbers
/// compare case-blind). `iban:X`, `X`, `https://www.x.example/` and `x.example` compare equal as
/// they should.
///
/// # Examples
/// ```
/// use onus::model::normalise_destination;
/// assert_eq!(normalise_destination("http://www.Example.com/"), "example.com");
/// assert_eq!(normalise_destination("mailto:Ann@Example.com"), "ann@example.com");
/// assert_eq!(normalise_destination("iban:DE89370400440532013000"), "de89370400440532013000");
/// assert_eq!(normalise_destination("https://x.example/Path"), "x.example/Path");
/// ```
pub fn normalise_destination(d: &str) -> String {
    let d = d.trim();
    let rest = match d.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => rest,
        _ => match d.split_once(':') {
            Some((scheme, rest)) if is_scheme(scheme) && !rest.is_empty() => rest,
            _ => d,
        },
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') && !rest.contains('/') {
        return rest.to_lowercase();
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(split);
    let host = host.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    format!("{host}{tail}")
}

fn is_scheme(s: &str) -> bool {
    !s.is_empty() && s.len() <= 16 && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// Whether a destination matches an allow-list entry, both normalised: exactly, or by prefix
/// when the entry ends in `*` (`https://x.example/*` also allows `x.example` itself), or by
/// suffix when it starts with one (`*@corp.example`).
pub fn destination_matches(pattern: &str, value: &str) -> bool {
    let value = normalise_destination(value);
    if let Some(suffix) = pattern.strip_prefix('*') {
        return !suffix.is_empty() && value.ends_with(&normalise_destination(suffix));
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => {
            let prefix = normalise_prefix(prefix);
            value.starts_with(&prefix) || value == prefix.trim_end_matches(['/', '.', '@'])
        }
        None => normalise_destination(pattern) == value,
    }
}

/// A pattern prefix normalised like a destination, keeping the separator it ends with.
fn normalise_prefix(prefix: &str) -> String {
    let sep: String = prefix
        .chars()
        .rev()
        .take_while(|c| matches!(c, '/' | '.' | '@'))
        .collect();
    let mut p = normalise_destination(prefix);
    if !p.ends_with(['/', '.', '@']) {
        p.push_str(&sep.chars().rev().collect::<String>());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_item_of_every_role_key_counts() {
        let roles = ArgumentRoles::default();
        let args = json!({
            "title": "sync",
            "participants": ["ann@corp.example", "mallory@evil.example"],
            "details": {"cc": "eve@evil.example"},
            "user_email": "fred@evil.example"
        });
        let got: Vec<String> = roles
            .destinations(Some("create_calendar_event"), &args)
            .into_iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(
            got,
            [
                "ann@corp.example",
                "mallory@evil.example",
                "eve@evil.example",
                "fred@evil.example"
            ]
        );
    }

    #[test]
    fn a_manifest_extends_the_keys_of_one_tool() {
        let mut roles = ArgumentRoles::default();
        let args = json!({"whom": "x@evil.example", "file_ref": "13"});
        assert!(roles.destinations(Some("share"), &args).is_empty());
        roles.tools.insert(
            "share".to_owned(),
            ToolRoles {
                destinations: vec!["whom".to_owned()],
                resources: vec!["file_ref".to_owned()],
            },
        );
        assert_eq!(
            roles.destinations(Some("share"), &args)[0].value,
            "x@evil.example"
        );
        assert_eq!(roles.resources(Some("share"), &args)[0].value, "13");
        assert!(roles.destinations(Some("other"), &args).is_empty());
    }

    #[test]
    fn destinations_compare_without_scheme_www_or_trailing_slash() {
        assert!(destination_matches(
            "www.example.com",
            "http://www.example.com"
        ));
        assert!(destination_matches(
            "https://example.com/",
            "www.EXAMPLE.com"
        ));
        assert!(destination_matches("iban:DE89", "DE89"));
        assert!(destination_matches(
            "https://x.example/*",
            "http://www.x.example/a/b"
        ));
        assert!(destination_matches("https://x.example/*", "x.example"));
        assert!(!destination_matches(
            "https://x.example/*",
            "x.example.evil.example"
        ));
        assert!(!destination_matches(
            "*@corp.example",
            "a@corp.example.evil"
        ));
        assert!(destination_matches("*@corp.example", "A@Corp.Example"));
        assert!(!destination_matches(
            "example.com",
            "example.com.evil.example"
        ));
    }
}
