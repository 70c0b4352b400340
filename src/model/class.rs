//! Action classes and the documented verb heuristic that assigns them (docs/schema.md).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of thing an action does, ordered by blast radius (the order a task's
/// `max_action_class` ceiling uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionClass {
    Read,
    Write,
    Communicate,
    Execute,
    Delete,
    Transfer,
    Privilege,
}

impl ActionClass {
    /// Every class, lowest blast radius first.
    pub const ALL: [Self; 7] = [
        Self::Read,
        Self::Write,
        Self::Communicate,
        Self::Execute,
        Self::Delete,
        Self::Transfer,
        Self::Privilege,
    ];

    /// The name used in files, the store and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Communicate => "communicate",
            Self::Execute => "execute",
            Self::Delete => "delete",
            Self::Transfer => "transfer",
            Self::Privilege => "privilege",
        }
    }
}

impl fmt::Display for ActionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses an action class name (case-insensitive).
pub fn parse_action_class(text: &str) -> Option<ActionClass> {
    ActionClass::ALL
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
}

/// Where an event's action class came from, so an investigator can challenge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassSource {
    /// The record itself said so.
    Event,
    /// A manifest `[[action_classes]]` entry matched.
    Manifest,
    /// The verb heuristic matched.
    Heuristic,
    /// Nothing matched.
    None,
}

impl ClassSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Manifest => "manifest",
            Self::Heuristic => "heuristic",
            Self::None => "none",
        }
    }
}

/// The verb table of docs/schema.md. Keep the two in step.
const VERBS: &[(&str, ActionClass)] = &[
    ("get", ActionClass::Read),
    ("list", ActionClass::Read),
    ("describe", ActionClass::Read),
    ("read", ActionClass::Read),
    ("search", ActionClass::Read),
    ("lookup", ActionClass::Read),
    ("query", ActionClass::Read),
    ("fetch", ActionClass::Read),
    ("view", ActionClass::Read),
    ("head", ActionClass::Read),
    ("watch", ActionClass::Read),
    ("select", ActionClass::Read),
    ("find", ActionClass::Read),
    ("download", ActionClass::Read),
    ("put", ActionClass::Write),
    ("create", ActionClass::Write),
    ("update", ActionClass::Write),
    ("write", ActionClass::Write),
    ("patch", ActionClass::Write),
    ("modify", ActionClass::Write),
    ("set", ActionClass::Write),
    ("upload", ActionClass::Write),
    ("insert", ActionClass::Write),
    ("edit", ActionClass::Write),
    ("tag", ActionClass::Write),
    ("attach", ActionClass::Write),
    ("start", ActionClass::Write),
    ("stop", ActionClass::Write),
    ("add", ActionClass::Write),
    ("append", ActionClass::Write),
    ("schedule", ActionClass::Write),
    ("book", ActionClass::Write),
    ("reserve", ActionClass::Write),
    ("rename", ActionClass::Write),
    ("move", ActionClass::Write),
    ("cancel", ActionClass::Write),
    ("delete", ActionClass::Delete),
    ("remove", ActionClass::Delete),
    ("destroy", ActionClass::Delete),
    ("drop", ActionClass::Delete),
    ("purge", ActionClass::Delete),
    ("terminate", ActionClass::Delete),
    ("detach", ActionClass::Delete),
    ("truncate", ActionClass::Delete),
    ("run", ActionClass::Execute),
    ("exec", ActionClass::Execute),
    ("execute", ActionClass::Execute),
    ("invoke", ActionClass::Execute),
    ("call", ActionClass::Execute),
    ("eval", ActionClass::Execute),
    ("launch", ActionClass::Execute),
    ("deploy", ActionClass::Execute),
    ("apply", ActionClass::Execute),
    ("send", ActionClass::Communicate),
    ("post", ActionClass::Communicate),
    ("email", ActionClass::Communicate),
    ("mail", ActionClass::Communicate),
    ("notify", ActionClass::Communicate),
    ("message", ActionClass::Communicate),
    ("reply", ActionClass::Communicate),
    ("publish", ActionClass::Communicate),
    ("share", ActionClass::Communicate),
    ("forward", ActionClass::Communicate),
    ("export", ActionClass::Communicate),
    ("chat", ActionClass::Communicate),
    ("transfer", ActionClass::Transfer),
    ("pay", ActionClass::Transfer),
    ("payout", ActionClass::Transfer),
    ("refund", ActionClass::Transfer),
    ("withdraw", ActionClass::Transfer),
    ("wire", ActionClass::Transfer),
    ("charge", ActionClass::Transfer),
    ("disburse", ActionClass::Transfer),
    ("grant", ActionClass::Privilege),
    ("assume", ActionClass::Privilege),
    ("impersonate", ActionClass::Privilege),
    ("escalate", ActionClass::Privilege),
    ("attachpolicy", ActionClass::Privilege),
    ("passrole", ActionClass::Privilege),
    ("token", ActionClass::Privilege),
    ("credential", ActionClass::Privilege),
    ("role", ActionClass::Privilege),
    ("bind", ActionClass::Privilege),
    ("elevate", ActionClass::Privilege),
    ("invite", ActionClass::Privilege),
];

/// Classifies an action name by its verbs: the name is split into words on punctuation and
/// case changes, and the words are scanned from the last to the first; the first word found in
/// the verb table decides. Returns `None` when no word is a known verb.
///
/// # Examples
/// ```
/// use onus::model::{classify_action, ActionClass};
/// assert_eq!(classify_action("payments.transfer"), Some(ActionClass::Transfer));
/// assert_eq!(classify_action("s3:GetObject"), Some(ActionClass::Read));
/// assert_eq!(classify_action("frobnicate"), None);
/// ```
pub fn classify_action(action: &str) -> Option<ActionClass> {
    let words = split_words(action);
    // Whole compound names first ("AttachRolePolicy" should be privilege, not write).
    let joined: String = words.concat();
    if let Some(class) = compound_class(&joined) {
        return Some(class);
    }
    words.iter().rev().find_map(|w| lookup_verb(w))
}

fn lookup_verb(word: &str) -> Option<ActionClass> {
    VERBS.iter().find(|(v, _)| *v == word).map(|(_, c)| *c)
}

/// A few multi-word API names whose meaning is not the meaning of their last verb.
fn compound_class(joined: &str) -> Option<ActionClass> {
    const PRIVILEGED_FRAGMENTS: &[&str] = &[
        "attachrolepolicy",
        "attachuserpolicy",
        "attachgrouppolicy",
        "putrolepolicy",
        "putuserpolicy",
        "createaccesskey",
        "createloginprofile",
        "assumerole",
        "passrole",
        "getsessiontoken",
        "getfederationtoken",
        "createrolebinding",
        "createclusterrolebinding",
        "updateassumerolepolicy",
    ];
    // Moving money, whatever the verb says ("send_money", "sendPayment").
    const TRANSFER_FRAGMENTS: &[&str] = &["sendmoney", "sendpayment", "sendfunds", "makepayment"];
    if PRIVILEGED_FRAGMENTS.iter().any(|f| joined.contains(f)) {
        return Some(ActionClass::Privilege);
    }
    TRANSFER_FRAGMENTS
        .iter()
        .any(|f| joined.contains(f))
        .then_some(ActionClass::Transfer)
}

/// Splits `s3:GetObject`, `payments.transfer`, `send_email` into lowercase words.
pub(crate) fn split_words(action: &str) -> Vec<String> {
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
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        current.extend(ch.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(action: &str, expected: Option<ActionClass>) {
        assert_eq!(classify_action(action), expected, "action {action}");
    }

    #[test]
    fn classifies_by_the_last_known_verb() {
        check("payments.transfer", Some(ActionClass::Transfer));
        check("tickets.read", Some(ActionClass::Read));
        check("email.reply", Some(ActionClass::Communicate));
        check("s3:GetObject", Some(ActionClass::Read));
        check("s3:PutObject", Some(ActionClass::Write));
        check("ec2:TerminateInstances", Some(ActionClass::Delete));
        check("orders.lookup", Some(ActionClass::Read));
        check("send_email", Some(ActionClass::Communicate));
        check("shell.exec", Some(ActionClass::Execute));
    }

    #[test]
    fn privileged_api_names_win_over_their_verb() {
        check("iam:AttachRolePolicy", Some(ActionClass::Privilege));
        check("sts:AssumeRole", Some(ActionClass::Privilege));
        check("iam:CreateAccessKey", Some(ActionClass::Privilege));
    }

    #[test]
    fn unknown_names_are_not_guessed() {
        check("frobnicate", None);
        check("", None);
        check("payments.status", None);
    }

    #[test]
    fn ceiling_order_follows_blast_radius() {
        assert!(ActionClass::Read < ActionClass::Communicate);
        assert!(ActionClass::Communicate < ActionClass::Transfer);
        assert!(ActionClass::Transfer < ActionClass::Privilege);
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!(parse_action_class("Transfer"), Some(ActionClass::Transfer));
        assert_eq!(parse_action_class("nope"), None);
    }
}
