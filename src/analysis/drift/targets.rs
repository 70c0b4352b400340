//! What an action did against what its task declared: its destinations and resources (from the
//! record or, for formats that only give arguments, from the argument roles) and the constraints
//! it broke.

use super::super::scope::TaskScope;
use crate::model::{
    ArgumentRoles, Axis, Constraints, Violation, destination_matches, normalise_destination,
    pattern_matches,
};
use crate::store::AnalysisEvent;

/// Checks one action against one set of constraints. Destinations are every destination the
/// arguments name (and the event's own), normalised on both sides.
pub(super) fn violations(
    e: &AnalysisEvent,
    c: &Constraints,
    roles: &ArgumentRoles,
) -> Vec<Violation> {
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

/// Which role of an argument a value plays.
#[derive(Clone, Copy)]
enum Role {
    Destination,
    Resource,
}

/// Every value of one role of an action. Formats that name destinations and resources
/// themselves (native events, CloudTrail, Kubernetes) are taken at their word; for those that only
/// give a tool and its arguments (transcripts, spans, MCP), every value the arguments name in that
/// role counts.
fn role_values(e: &AnalysisEvent, roles: &ArgumentRoles, role: Role) -> Vec<String> {
    let own = match role {
        Role::Destination => e.destination.as_ref(),
        Role::Resource => e.resource.as_ref(),
    };
    if !e.targets_from_args {
        return own.into_iter().cloned().collect();
    }
    let derived: Vec<String> = e.args.as_ref().map_or_else(Vec::new, |args| {
        let found = match role {
            Role::Destination => roles.destinations(e.action.as_deref(), args),
            Role::Resource => roles.resources(e.action.as_deref(), args),
        };
        found.into_iter().map(|r| r.value).collect()
    });
    let values = own_or_derived(own, derived);
    match role {
        Role::Destination => dedup_by_form(values, normalise_destination),
        Role::Resource => dedup_by_form(values, str::to_owned),
    }
}

/// Every destination of an action (see [`role_values`]).
pub(super) fn destinations_of(e: &AnalysisEvent, roles: &ArgumentRoles) -> Vec<String> {
    role_values(e, roles, Role::Destination)
}

/// Every resource of an action (see [`role_values`]).
pub(super) fn resources_of(e: &AnalysisEvent, roles: &ArgumentRoles) -> Vec<String> {
    role_values(e, roles, Role::Resource)
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
pub(super) fn constraint_sets<'s>(scope: &'s TaskScope, actor: &str) -> Vec<&'s Constraints> {
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
