//! Identity and credential detectors: static or human credentials in an agent's hands, lifetimes
//! over the limit, credentials outliving their task, credentials shared between agents or tasks.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::catalogue;
use crate::analysis::context::{Context, finding};
use crate::model::{CredentialType, EventKind, Finding, PrincipalKind, Timestamp, parse_duration};
use crate::store::AnalysisEvent;

/// Uses of one credential by agents, in time order.
type Uses<'a> = BTreeMap<&'a str, Vec<&'a AnalysisEvent>>;

fn agent_uses<'a>(ctx: &Context<'a>) -> Uses<'a> {
    let mut uses: Uses<'a> = BTreeMap::new();
    for e in ctx.events {
        if (e.kind == EventKind::ToolCall || e.kind == EventKind::Auth)
            && ctx.is_agent(&e.actor)
            && let Some(c) = e.credential.as_deref()
        {
            uses.entry(c).or_default().push(e);
        }
    }
    uses
}

pub fn identity(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let uses = agent_uses(ctx);
    for (credential, used) in &uses {
        let record = ctx.credential(credential);
        let ctype = record.and_then(|r| r.credential_type);
        let holder = record.and_then(|r| r.holder.as_deref());
        let holder_human = holder.is_some_and(|h| ctx.kind(h) == PrincipalKind::Human);
        let mut by_agent: BTreeMap<&str, Vec<&AnalysisEvent>> = BTreeMap::new();
        for e in used {
            by_agent.entry(e.actor.as_str()).or_default().push(e);
        }
        for (agent, events) in &by_agent {
            let first = events[0];
            let evidence: Vec<String> = events
                .iter()
                .map(|e| e.id.clone())
                .chain(record.and_then(|r| r.event_id.clone()))
                .collect();
            let long_lived = ctype == Some(CredentialType::Static)
                || record.is_some_and(|r| {
                    r.expires_at.is_none()
                        && r.issued_at.is_some()
                        && ctype != Some(CredentialType::ShortLived)
                });
            if long_lived {
                out.push(finding(
                    &catalogue::ID_STATIC,
                    first.task.as_deref(),
                    Some(agent),
                    first.time,
                    format!(
                        "agent {agent} used credential {credential}{}, which is {} and never expires, {} time(s)",
                        holder.map(|h| format!(" held by {h}")).unwrap_or_default(),
                        ctype.map_or("long-lived", |t| if t == CredentialType::Static { "static" } else { "long-lived" }),
                        events.len()
                    ),
                    evidence.clone(),
                ));
            }
            if ctype == Some(CredentialType::Human) || holder_human {
                out.push(finding(
                    &catalogue::ID_HUMAN,
                    first.task.as_deref(),
                    Some(agent),
                    first.time,
                    format!(
                        "agent {agent} acted with {credential}, a credential of {}: its actions carry a person's identity",
                        holder.unwrap_or("a human")
                    ),
                    evidence,
                ));
            }
        }
        let agents: BTreeSet<&str> = used.iter().map(|e| e.actor.as_str()).collect();
        let tasks: BTreeSet<&str> = used.iter().filter_map(|e| e.task.as_deref()).collect();
        if agents.len() > 1 || tasks.len() > 1 {
            let first = used[0];
            let mut evidence: Vec<String> = Vec::new();
            let mut seen = BTreeSet::new();
            for e in used {
                if seen.insert((e.actor.as_str(), e.task.as_deref())) {
                    evidence.push(e.id.clone());
                }
            }
            out.push(finding(
                &catalogue::ID_SHARED,
                first.task.as_deref(),
                Some(&first.actor),
                first.time,
                format!(
                    "credential {credential} was used by {} agent(s) ({}) across {} task(s) ({})",
                    agents.len(),
                    agents.iter().copied().collect::<Vec<_>>().join(", "),
                    tasks.len(),
                    tasks.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                evidence,
            ));
        }
    }
    lifetimes(ctx, &uses, out);
}

/// TTL over the policy or task limit, use after task end, no revocation at task end.
fn lifetimes(ctx: &Context<'_>, uses: &Uses<'_>, out: &mut Vec<Finding>) {
    let revoked: BTreeMap<&str, Timestamp> = ctx
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CredentialRevoke)
        .filter_map(|e| e.credential.as_deref().map(|c| (c, e.time)))
        .fold(BTreeMap::new(), |mut m, (c, t)| {
            m.entry(c).or_insert(t);
            m
        });
    for c in &ctx.graph.inputs().credentials {
        let (Some(issued), Some(expires)) = (c.issued_at, c.expires_at) else {
            continue;
        };
        let ttl = (expires - issued).num_seconds().max(0) as u64;
        let task_scope = c.task.as_deref().and_then(|t| ctx.scopes.get(t));
        let task_limit = task_scope
            .and_then(|s| s.constraints.as_ref())
            .and_then(|k| k.credential_ttl.as_deref())
            .and_then(|d| parse_duration(d).ok());
        let over: Vec<String> = [
            ctx.policy
                .max_credential_ttl_secs
                .filter(|max| ttl > *max)
                .map(|max| format!("the policy maximum of {max} s")),
            task_limit
                .filter(|max| ttl > *max)
                .map(|max| format!("the task's limit of {max} s")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let holder = c.holder.as_deref().unwrap_or("an unknown holder");
        if !over.is_empty() && c.holder.as_deref().is_some_and(|h| ctx.is_agent(h)) {
            out.push(finding(
                &catalogue::ID_TTL,
                c.task.as_deref(),
                c.holder.as_deref(),
                issued,
                format!(
                    "credential {} for {holder} lives {ttl} s, over {}",
                    c.credential_id,
                    over.join(" and ")
                ),
                c.event_id.iter().cloned().collect(),
            ));
        }
        let Some((end_id, end_time)) = task_scope.and_then(|s| s.end.clone()) else {
            continue;
        };
        let revoked_at = revoked.get(c.credential_id.as_str()).copied();
        let late: Vec<&AnalysisEvent> = uses
            .get(c.credential_id.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|e| e.time > end_time)
            .collect();
        if let Some(first) = late.first() {
            let mut evidence: Vec<String> = late.iter().map(|e| e.id.clone()).collect();
            evidence.push(end_id.clone());
            evidence.extend(c.event_id.iter().cloned());
            out.push(finding(
                &catalogue::ID_AFTER_END,
                c.task.as_deref(),
                Some(&first.actor),
                first.time,
                format!(
                    "{} used {} {} time(s) after task {} ended; the credential was issued for that task and {}",
                    first.actor,
                    c.credential_id,
                    late.len(),
                    c.task.as_deref().unwrap_or("?"),
                    match revoked_at {
                        Some(_) => "was revoked only later".to_owned(),
                        None => "was never revoked".to_owned(),
                    }
                ),
                evidence,
            ));
        }
        if revoked_at.is_none_or(|r| r > end_time) && expires > end_time {
            let mut evidence = vec![end_id];
            evidence.extend(c.event_id.iter().cloned());
            out.push(finding(
                &catalogue::ID_NOT_REVOKED,
                c.task.as_deref(),
                c.holder.as_deref(),
                end_time,
                format!(
                    "task {} ended but credential {} of {holder} stayed valid until {} ({} s more) and {}",
                    c.task.as_deref().unwrap_or("?"),
                    c.credential_id,
                    crate::model::format_time(&expires),
                    (expires - end_time).num_seconds(),
                    if revoked_at.is_some() { "was revoked late" } else { "was never revoked" }
                ),
                evidence,
            ));
        }
    }
}
