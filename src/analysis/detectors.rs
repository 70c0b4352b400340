//! The detectors beyond drift: governance of the declarations, identity and credentials, runtime
//! controls, and the delegation
//! findings the graph shows, turned into findings with ids, severities and mappings.

mod governance;
mod identity;
mod runtime;

pub use governance::governance;
pub use identity::identity;
pub use runtime::runtime;

use super::catalogue;
use super::context::{Context, finding};
use crate::graph::GraphFindingKind;
use crate::model::Finding;

/// Findings from the delegation graph.
pub fn delegation(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for g in ctx.graph.findings() {
        let detector = match g.kind {
            GraphFindingKind::ScopeAmplification => &catalogue::DELEG_AMPLIFICATION,
            GraphFindingKind::UnboundedHandoff => &catalogue::DELEG_UNBOUNDED,
            GraphFindingKind::DepthOverPolicy => &catalogue::DELEG_DEPTH,
            GraphFindingKind::Cycle => &catalogue::DELEG_CYCLE,
            GraphFindingKind::NoOwnedRoot => &catalogue::DELEG_NO_ROOT,
        };
        out.push(finding(
            detector,
            g.task.as_deref(),
            Some(&g.principal),
            g.at,
            g.explanation,
            g.evidence,
        ));
    }
}
