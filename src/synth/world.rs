//! The cast of a generated incident: teams of agents with their owners, approvers, analysts,
//! standing grants and the static key of a service account; and the manifest that declares them.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{DAY, TaskDecl, fmt_time};

/// Scopes the token broker gives a support copilot, and what its grant allows.
pub(super) const COPILOT_TOKEN_SCOPE: &[&str] = &[
    "tickets:read",
    "tickets:update",
    "orders:read",
    "kb:read",
    "email:send",
    "agents:delegate",
];
const COPILOT_GRANT: &[&str] = &[
    "tickets:read",
    "tickets:update",
    "orders:read",
    "kb:read",
    "email:send",
    "agents:delegate",
    "payments:lookup",
    "payments:refund",
    "payments:status",
];
/// What a payments agent is granted (and gets in a token when a hand-off carries no bounds).
pub(super) const PAYMENTS_GRANT: &[&str] = &[
    "payments:lookup",
    "payments:list",
    "payments:status",
    "payments:refund",
    "ledger:read",
    "reports:publish",
];

/// One team: a support copilot that may hand refunds to a payments agent, the people around them,
/// and the service account whose static key sits in the payments runtime.
pub(super) struct Team {
    pub index: usize,
    pub copilot: String,
    pub payments: String,
    pub runner: String,
    pub runner_key: String,
    pub approver: String,
    pub finance_lead: String,
    pub analysts: Vec<String>,
    pub float_account: String,
}

impl Team {
    fn new(index: usize) -> Self {
        Self {
            index,
            copilot: format!("agent:support-copilot-{index:03}"),
            payments: format!("agent:payments-{index:03}"),
            runner: format!("svc:payments-runner-{index:03}"),
            runner_key: format!("key-payments-runner-{index:03}"),
            approver: format!("finance-approver-{index:03}@example.com"),
            finance_lead: format!("finance-lead-{index:03}@example.com"),
            analysts: (0..4)
                .map(|k| format!("analyst-{index:03}-{k}@example.com"))
                .collect(),
            float_account: format!("ops-float-{index:03}"),
        }
    }

    fn access_approver(&self) -> String {
        format!("iam-{}@example.com", self.index % 5)
    }
}

/// Everyone in the generated organisation.
pub(super) struct World {
    pub teams: Vec<Team>,
    /// Time of the first event; owner changes happen a few days after it.
    pub start: i64,
}

pub(super) const TOKEN_BROKER: &str = "svc:token-broker";
pub(super) const POLICY_ENGINE: &str = "svc:policy-engine";
pub(super) const REFUND_POLICY: &str = "refund-to-original-method-v3";

impl World {
    pub fn new(teams: usize, start: i64) -> Self {
        Self {
            teams: (0..teams.max(1)).map(Team::new).collect(),
            start,
        }
    }

    /// Number of agents in the cast.
    pub fn agent_count(&self) -> usize {
        self.teams.len() * 2
    }

    /// Writes the accountability manifest (docs/manifest.md) for this cast and the declared tasks.
    pub fn write_manifest(&self, out: &mut dyn Write, tasks: &[TaskDecl]) -> io::Result<()> {
        let mut m = String::new();
        let handover = fmt_time(self.start + 3 * DAY);
        let runtime_move = fmt_time(self.start + 5 * DAY);
        let since = fmt_time(self.start - 120 * DAY);
        m.push_str(
            "# Accountability manifest of a generated incident (onus-bench gen); see docs/benchmarks.md.\n\n\
             [manifest]\nname = \"generated support and payments workflows\"\nversion = 1\n\n\
             [policy]\nmax_credential_ttl = \"1h\"\n\
             sensitive_classes = [\"transfer\", \"privilege\", \"delete\"]\n\
             max_delegation_depth = 2\npolicy_decision_required = [\"transfer\"]\n\n",
        );
        for (id, kind) in [
            (TOKEN_BROKER, "workload"),
            (POLICY_ENGINE, "workload"),
            ("finance-reports@example.com", "human"),
        ] {
            let _ = writeln!(m, "[[principals]]\nid = {id:?}\nkind = \"{kind}\"\n");
        }
        for team in &self.teams {
            self.write_team(&mut m, team, &handover, &runtime_move, &since);
        }
        for t in tasks {
            write_task(&mut m, t);
        }
        m.push_str(
            "[[action_classes]]\naction = \"payments.transfer\"\nclass = \"transfer\"\n\n\
             [[action_classes]]\naction = \"payments.status\"\nclass = \"read\"\n",
        );
        out.write_all(m.as_bytes())
    }

    #[allow(
        clippy::unused_self,
        reason = "kept a method so the cast's dates stay in one place"
    )]
    fn write_team(
        &self,
        m: &mut String,
        t: &Team,
        handover: &str,
        runtime_move: &str,
        since: &str,
    ) {
        let i = t.index;
        let _ = writeln!(
            m,
            "# --- team {i:03} ---\n[[principals]]\nid = {:?}\nkind = \"service_account\"\n",
            t.runner
        );
        for person in t.analysts.iter().chain([&t.approver, &t.finance_lead]) {
            let _ = writeln!(m, "[[principals]]\nid = {person:?}\nkind = \"human\"\n");
        }
        let approver = t.access_approver();
        let _ = writeln!(
            m,
            "[[agents]]\nid = {:?}\nname = \"Support Copilot {i:03}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"business_owner\"\n  owner = \"support-lead-{i:03}@example.com\"\n\n\
             \x20 [[agents.owners]]\n  role = \"workflow_owner\"\n  owner = \"automation-{i:03}a@example.com\"\n  until = \"{handover}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"workflow_owner\"\n  owner = \"automation-{i:03}b@example.com\"\n  from = \"{handover}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"access_approver\"\n  owner = \"{approver}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"runtime_owner\"\n  owner = \"platform-{p}a@example.com\"\n  until = \"{runtime_move}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"runtime_owner\"\n  owner = \"platform-{p}b@example.com\"\n  from = \"{runtime_move}\"\n",
            t.copilot,
            p = i % 7,
        );
        let _ = writeln!(
            m,
            "[[agents]]\nid = {:?}\nname = \"Payments Agent {i:03}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"business_owner\"\n  owner = {:?}\n\n\
             \x20 [[agents.owners]]\n  role = \"workflow_owner\"\n  owner = \"payments-automation-{i:03}@example.com\"\n\n\
             \x20 [[agents.owners]]\n  role = \"access_approver\"\n  owner = \"{approver}\"\n\n\
             \x20 [[agents.owners]]\n  role = \"runtime_owner\"\n  owner = \"payments-platform-{p}@example.com\"\n",
            t.payments,
            t.finance_lead,
            p = i % 3,
        );
        let _ = writeln!(
            m,
            "[[grants]]\nid = \"G-copilot-{i:03}\"\nprincipal = {:?}\nscope = {}\napproved_by = \"{approver}\"\nfrom = \"{since}\"\n\n\
             [[grants]]\nid = \"G-payments-{i:03}\"\nprincipal = {:?}\nscope = {}\napproved_by = \"{approver}\"\nfrom = \"{since}\"\n\n\
             [[grants]]\nid = \"G-runner-broad-{i:03}\"\nprincipal = {:?}\nscope = [\"payments:*\", \"ledger:*\"]\napproved_by = \"{approver}\"\nfrom = \"{since}\"\n\n\
             [[credentials]]\nid = {:?}\nholder = {:?}\ntype = \"static\"\nissued = \"{since}\"\n",
            t.copilot,
            toml_list(COPILOT_GRANT),
            t.payments,
            toml_list(PAYMENTS_GRANT),
            t.runner,
            t.runner_key,
            t.runner,
        );
    }
}

fn toml_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{:?}", s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

fn write_task(m: &mut String, t: &TaskDecl) {
    let _ = writeln!(
        m,
        "[[tasks]]\nid = {:?}\nagent = {:?}\nintent = {:?}\n\n  [tasks.constraints]\n  tools = {}\n  resources = {}\n  destinations = {}\n  environments = [\"prod\"]\n  max_action_class = {:?}\n  approval_required = {}\n  credential_ttl = \"15m\"\n",
        t.id,
        t.agent,
        t.intent,
        toml_list(&t.tools),
        toml_list(&t.resources),
        toml_list(&t.destinations),
        t.max_class,
        toml_list(&t.approval_required),
    );
}
