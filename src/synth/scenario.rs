//! Benign work, modelled on the `clean-run` fixture: ticket answers by a support copilot,
//! refunds handed to a payments agent with bounds, approval and a policy check, and payout
//! reports. Every action stays inside its task's declared constraints.

use super::customer::PRODUCTS;
pub(super) use super::customer::{Customer, customer};
use super::json::{Obj, quote};
use super::world::{COPILOT_TOKEN_SCOPE, POLICY_ENGINE, REFUND_POLICY, TOKEN_BROKER, Team};
use super::{MINUTE, Rng, SECOND, TaskDecl, fmt_time};

/// The fields of one native event (docs/schema.md), written in a fixed order. `time`, `task`,
/// `environment` and the producer `id` are added by [`Task::emit`].
#[derive(Default)]
pub(super) struct E<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub actor_kind: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub target: Option<&'a str>,
    pub target_kind: Option<&'a str>,
    pub session: &'a str,
    pub action: Option<&'a str>,
    pub action_class: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub credential: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub args: Option<String>,
    pub content: Option<&'a str>,
    pub trust: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub intent: Option<&'a str>,
    pub constraints: Option<String>,
    pub scope: Option<&'a [&'a str]>,
    pub decision: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub credential_type: Option<&'a str>,
    pub status: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub attributes: Option<String>,
}

/// One task being generated: its events, collected unsorted, then sorted by time.
pub(super) struct Task<'w> {
    pub team: &'w Team,
    pub n: u64,
    pub id: String,
    pub copilot_session: String,
    pub payments_session: String,
    pub events: Vec<(i64, String)>,
    seq: u32,
}

impl<'w> Task<'w> {
    pub fn new(team: &'w Team, n: u64, rng: &mut Rng) -> Self {
        let salt = rng.next_u64() & 0xffff_ffff;
        Self {
            team,
            n,
            id: format!("T-{}", 100_000 + n),
            copilot_session: format!("cs-{salt:08x}{n:x}"),
            payments_session: format!("ps-{:08x}{n:x}", salt ^ 0x5bd1_e995),
            events: Vec::with_capacity(32),
            seq: 0,
        }
    }

    /// A per-task unique suffix for tokens, calls and approvals.
    pub fn tag(&self, what: &str) -> String {
        format!("{what}{:x}-{}", self.n, self.seq)
    }

    pub fn emit(&mut self, t: i64, e: &E<'_>) {
        self.seq += 1;
        let mut o = Obj::new()
            .s("time", &fmt_time(t))
            .s("kind", e.kind)
            .s("actor", e.actor)
            .s("actor_kind", e.actor_kind)
            .opt("on_behalf_of", e.on_behalf_of)
            .opt("target", e.target)
            .opt("target_kind", e.target_kind)
            .s("task", &self.id)
            .s("session", e.session)
            .s("id", &format!("evt-{:x}-{}", self.n, self.seq))
            .opt("action", e.action)
            .opt("action_class", e.action_class)
            .opt("resource", e.resource)
            .opt("destination", e.destination)
            .s("environment", "prod")
            .opt("credential", e.credential)
            .opt("call_id", e.call_id);
        if let Some(args) = &e.args {
            o = o.raw("args", args);
        }
        o = o
            .opt("content", e.content)
            .opt("trust", e.trust)
            .opt("outcome", e.outcome)
            .opt("intent", e.intent);
        if let Some(c) = &e.constraints {
            o = o.raw("constraints", c);
        }
        if let Some(scope) = e.scope {
            o = o.list("scope", scope);
        }
        o = o.opt("decision", e.decision);
        if let Some(at) = e.expires_at {
            o = o.s("expires_at", &fmt_time(at));
        }
        o = o
            .opt("credential_type", e.credential_type)
            .opt("status", e.status)
            .opt("policy", e.policy);
        if let Some(a) = &e.attributes {
            o = o.raw("attributes", a);
        }
        self.events.push((t, o.end()));
    }

    /// A message between two principals.
    pub fn message(&mut self, t: i64, from: (&str, &str), to: (&str, &str), text: &str) {
        let session = self.session_of(from.0);
        self.emit(
            t,
            &E {
                kind: "message",
                actor: from.0,
                actor_kind: from.1,
                target: Some(to.0),
                target_kind: Some(to.1),
                session: &session,
                content: Some(text),
                trust: Some("trusted"),
                ..E::default()
            },
        );
    }

    fn session_of(&self, actor: &str) -> String {
        if actor == self.team.payments {
            self.payments_session.clone()
        } else {
            self.copilot_session.clone()
        }
    }

    pub fn task_start(&mut self, t: i64, agent: &str, on_behalf: &str, decl: &TaskDecl) {
        let session = self.session_of(agent);
        self.emit(
            t,
            &E {
                kind: "task.start",
                actor: agent,
                actor_kind: "agent",
                on_behalf_of: Some(on_behalf),
                session: &session,
                intent: Some(&decl.intent),
                constraints: Some(decl.constraints_json()),
                attributes: Some(r#"{"runtime":"agent-runtime 2.14.1"}"#.to_owned()),
                ..E::default()
            },
        );
    }

    pub fn task_end(&mut self, t: i64, agent: &str, on_behalf: &str) {
        let session = self.session_of(agent);
        self.emit(
            t,
            &E {
                kind: "task.end",
                actor: agent,
                actor_kind: "agent",
                on_behalf_of: Some(on_behalf),
                session: &session,
                status: Some("completed"),
                ..E::default()
            },
        );
    }

    /// The token broker issues a short-lived token to `holder`, which then authenticates with it.
    pub fn token(&mut self, t: i64, holder: &str, cred: &str, scope: &[&str], ttl: i64) {
        let session = self.session_of(holder);
        let ttl_text = format!(
            r#"{{"ttl":"{}m","grant_type":"token-exchange"}}"#,
            ttl / MINUTE
        );
        self.emit(
            t,
            &E {
                kind: "credential.issue",
                actor: TOKEN_BROKER,
                actor_kind: "workload",
                target: Some(holder),
                target_kind: Some("agent"),
                session: &session,
                credential: Some(cred),
                scope: Some(scope),
                expires_at: Some(t + ttl),
                credential_type: Some("short_lived"),
                attributes: Some(ttl_text),
                ..E::default()
            },
        );
        self.emit(
            t + 150_000,
            &E {
                kind: "auth",
                actor: holder,
                actor_kind: "agent",
                session: &session,
                credential: Some(cred),
                outcome: Some("success"),
                attributes: Some(r#"{"method":"bearer_token","audience":"api.internal"}"#.into()),
                ..E::default()
            },
        );
    }

    pub fn revoke(&mut self, t: i64, holder: &str, cred: &str) {
        let session = self.session_of(holder);
        self.emit(
            t,
            &E {
                kind: "credential.revoke",
                actor: TOKEN_BROKER,
                actor_kind: "workload",
                target: Some(holder),
                target_kind: Some("agent"),
                session: &session,
                credential: Some(cred),
                attributes: Some(r#"{"reason":"task_complete"}"#.to_owned()),
                ..E::default()
            },
        );
    }

    /// A tool call and its result, `latency` apart. Returns the call id.
    pub fn call(&mut self, t: i64, c: &Call<'_>, result: &str, trust: &str, latency: i64) {
        let call_id = self.tag("call_");
        let session = self.session_of(c.actor);
        self.emit(
            t,
            &E {
                kind: "tool.call",
                actor: c.actor,
                actor_kind: "agent",
                on_behalf_of: c.on_behalf,
                session: &session,
                action: Some(c.action),
                action_class: c.class,
                resource: c.resource,
                destination: c.destination,
                credential: Some(c.credential),
                call_id: Some(&call_id),
                args: Some(c.args.clone()),
                ..E::default()
            },
        );
        let latency_attr = format!(r#"{{"latency_ms":{}}}"#, latency / 1000);
        self.emit(
            t + latency,
            &E {
                kind: "tool.result",
                actor: c.actor,
                actor_kind: "agent",
                session: &session,
                call_id: Some(&call_id),
                content: Some(result),
                trust: Some(trust),
                outcome: Some("success"),
                attributes: Some(latency_attr),
                ..E::default()
            },
        );
    }
}

/// What a tool call says besides its times.
pub(super) struct Call<'a> {
    pub actor: &'a str,
    pub on_behalf: Option<&'a str>,
    pub action: &'a str,
    pub class: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub credential: &'a str,
    pub args: String,
}

/// Advances `t` by a random delay between `lo` and `hi` milliseconds.
pub(super) fn after(rng: &mut Rng, t: &mut i64, lo: u64, hi: u64) -> i64 {
    *t += (lo + rng.below(hi - lo + 1)) as i64 * 1000 + rng.below(1000) as i64;
    *t
}

/// What the support copilot may do for a plain ticket.
pub(super) fn ticket_decl(task: &Task<'_>, ticket: u64, order: &str, cust: &Customer) -> TaskDecl {
    TaskDecl {
        id: task.id.clone(),
        agent: task.team.copilot.clone(),
        intent: format!(
            "Answer ticket {ticket}: read the ticket and order {order}, reply to the customer and update the ticket."
        ),
        tools: vec![
            "tickets.read".into(),
            "orders.lookup".into(),
            "kb.search".into(),
            "email.reply".into(),
            "tickets.update".into(),
            "agents.delegate".into(),
        ],
        resources: vec![format!("ticket:{ticket}"), "order:*".into(), "kb:*".into()],
        destinations: vec![cust.email.clone()],
        max_class: "communicate".into(),
        approval_required: vec!["transfer".into(), "payments.*".into()],
    }
}

/// The opening of every copilot task: the analyst's request, `task.start`, the token, and the
/// ticket read (whose body is untrusted: it was written by whoever sent the ticket).
#[allow(
    clippy::too_many_arguments,
    reason = "the opening steps share the task's whole context"
)]
pub(super) fn open_ticket(
    task: &mut Task<'_>,
    rng: &mut Rng,
    t: &mut i64,
    decl: &TaskDecl,
    analyst: &str,
    ticket: u64,
    subject: &str,
    body: &str,
) -> String {
    let copilot = task.team.copilot.clone();
    task.message(
        *t,
        (analyst, "human"),
        (&copilot, "agent"),
        &format!("Please handle ticket {ticket} ({subject})."),
    );
    task.task_start(after(rng, t, 600, 1800), &copilot, analyst, decl);
    let token = task.tag("tok-c");
    task.token(
        after(rng, t, 100, 400),
        &copilot,
        &token,
        COPILOT_TOKEN_SCOPE,
        15 * MINUTE,
    );
    let resource = format!("ticket:{ticket}");
    task.call(
        after(rng, t, 2000, 4500),
        &Call {
            actor: &copilot,
            on_behalf: None,
            action: "tickets.read",
            class: Some("read"),
            resource: Some(&resource),
            destination: None,
            credential: &token,
            args: format!(r#"{{"ticket_id":"{ticket}","include_attachments":true}}"#),
        },
        body,
        "untrusted",
        (200 + rng.below(700)) as i64 * 1000,
    );
    *t += SECOND;
    token
}

/// Looks up an order (trusted result from the order system).
pub(super) fn lookup_order(
    task: &mut Task<'_>,
    rng: &mut Rng,
    t: &mut i64,
    token: &str,
    order: &str,
    cust: &Customer,
    product: usize,
) {
    let copilot = task.team.copilot.clone();
    let (sku, name, price) = PRODUCTS[product % PRODUCTS.len()];
    let resource = format!("order:{order}");
    let result = format!(
        r#"{{"order": "{order}", "customer": "{}", "status": "shipped", "currency": "EUR", "total": "{price}", "items": [{{"sku": "{sku}", "name": "{name}", "qty": 1, "price": "{price}"}}]}}"#,
        cust.email
    );
    task.call(
        after(rng, t, 1500, 4000),
        &Call {
            actor: &copilot,
            on_behalf: None,
            action: "orders.lookup",
            class: Some("read"),
            resource: Some(&resource),
            destination: None,
            credential: token,
            args: format!(r#"{{"order_id":"{order}"}}"#),
        },
        &result,
        "trusted",
        (200 + rng.below(500)) as i64 * 1000,
    );
    *t += SECOND;
}

/// The end of every copilot task: reply to the customer, update the ticket, report to the
/// analyst, revoke the token, end the task.
#[allow(
    clippy::too_many_arguments,
    reason = "the closing steps share the task's whole context"
)]
pub(super) fn close_ticket(
    task: &mut Task<'_>,
    rng: &mut Rng,
    t: &mut i64,
    token: &str,
    analyst: &str,
    ticket: u64,
    subject: &str,
    cust: &Customer,
) {
    let copilot = task.team.copilot.clone();
    let resource = format!("ticket:{ticket}");
    let body = format!(
        "Hello {},\n\nthank you for your message about {subject}. We have looked into it and the details are below.\n\nKind regards,\nCustomer Support",
        cust.name
    );
    let args = format!(
        r#"{{"ticket_id":"{ticket}","to":"{}","subject":{},"body":{}}}"#,
        cust.email,
        quote(&format!("Re: {subject}")),
        quote(&body)
    );
    task.call(
        after(rng, t, 6000, 20000),
        &Call {
            actor: &copilot,
            on_behalf: None,
            action: "email.reply",
            class: Some("communicate"),
            resource: Some(&resource),
            destination: Some(&cust.email),
            credential: token,
            args,
        },
        "queued for delivery",
        "trusted",
        (300 + rng.below(600)) as i64 * 1000,
    );
    *t += SECOND;
    task.call(
        after(rng, t, 500, 1500),
        &Call {
            actor: &copilot,
            on_behalf: None,
            action: "tickets.update",
            class: Some("write"),
            resource: Some(&resource),
            destination: None,
            credential: token,
            args: format!(r#"{{"ticket_id":"{ticket}","status":"pending"}}"#),
        },
        &format!("ticket {ticket} updated: status=pending"),
        "trusted",
        (100 + rng.below(300)) as i64 * 1000,
    );
    *t += SECOND;
    task.message(
        after(rng, t, 300, 1500),
        (&copilot, "agent"),
        (analyst, "human"),
        &format!(
            "Replied to {} on ticket {ticket}; ticket set to pending.",
            cust.email
        ),
    );
    task.revoke(after(rng, t, 100, 300), &copilot, token);
    task.task_end(after(rng, t, 100, 300), &copilot, analyst);
}

const SUBJECTS: &[&str] = &[
    "Where is my order {order}?",
    "Invoice with VAT number for order {order}",
    "Change of delivery address for {order}",
    "How do I descale the machine from order {order}?",
    "Wrong item in parcel {order}",
];

/// Picks a ticket subject and a body that a customer might plausibly write.
pub(super) fn ticket_text(
    rng: &mut Rng,
    ticket: u64,
    order: &str,
    cust: &Customer,
) -> (String, String) {
    let subject = rng.pick(SUBJECTS).replace("{order}", order);
    let body = format!(
        "Ticket #{ticket} | status: open | priority: normal | channel: email\nFrom: {} <{}>\nSubject: {subject}\n\nHello,\n\nI ordered some time ago and would like some help with {order}. The confirmation e-mail did not answer my question. Could you please check and get back to me?\n\nThanks,\n{}",
        cust.name, cust.email, cust.name
    );
    (subject, body)
}

/// A plain ticket answered by the copilot alone.
pub(super) fn ticket(task: &mut Task<'_>, rng: &mut Rng, mut t: i64, decls: &mut Vec<TaskDecl>) {
    let ticket = 10_000 + task.n;
    let order = format!("A-{}", 80_000 + rng.below(20_000));
    let cust = customer(rng);
    let (subject, body) = ticket_text(rng, ticket, &order, &cust);
    let decl = ticket_decl(task, ticket, &order, &cust);
    let analyst = rng.pick(&task.team.analysts).clone();
    let token = open_ticket(task, rng, &mut t, &decl, &analyst, ticket, &subject, &body);
    lookup_order(task, rng, &mut t, &token, &order, &cust, ticket as usize);
    if rng.below(3) == 0 {
        let copilot = task.team.copilot.clone();
        task.call(
            after(rng, &mut t, 1000, 3000),
            &Call {
                actor: &copilot,
                on_behalf: None,
                action: "kb.search",
                class: Some("read"),
                resource: Some("kb:articles"),
                destination: None,
                credential: &token,
                args: format!(r#"{{"query":{}}}"#, quote(&subject)),
            },
            r#"{"hits": [{"id": "kb-112", "title": "Delivery times and tracking"}]}"#,
            "trusted",
            (100 + rng.below(400)) as i64 * 1000,
        );
        t += SECOND;
    }
    close_ticket(task, rng, &mut t, &token, &analyst, ticket, &subject, &cust);
    if decls.len() < 8 {
        decls.push(decl);
    }
}

/// A payout report by the payments agent, on behalf of the team's finance lead.
pub(super) fn report(task: &mut Task<'_>, rng: &mut Rng, mut t: i64) {
    let agent = task.team.payments.clone();
    let lead = task.team.finance_lead.clone();
    let float = format!("ledger:{}", task.team.float_account);
    let day = &fmt_time(t)[..10];
    let decl = TaskDecl {
        id: task.id.clone(),
        agent: agent.clone(),
        intent: format!(
            "Prepare the payout and refund report for {day} and send it to finance reporting."
        ),
        tools: vec![
            "ledger.read".into(),
            "payments.list".into(),
            "reports.publish".into(),
        ],
        resources: vec![
            float.clone(),
            "payments:day/*".into(),
            "report:payouts/*".into(),
        ],
        destinations: vec!["finance-reports@example.com".into()],
        max_class: "communicate".into(),
        approval_required: vec!["transfer".into()],
    };
    task.task_start(t, &agent, &lead, &decl);
    let token = task.tag("tok-p");
    task.token(
        after(rng, &mut t, 200, 600),
        &agent,
        &token,
        &["ledger:read", "payments:list", "reports:publish"],
        15 * MINUTE,
    );
    let steps: [(&str, String, Option<&str>, String, String); 3] = [
        (
            "ledger.read",
            float.clone(),
            None,
            format!(
                r#"{{"account":"{}","date":"{day}"}}"#,
                task.team.float_account
            ),
            format!(
                r#"{{"account": "{}", "currency": "EUR", "opening": "{}.00", "closing": "{}.00"}}"#,
                task.team.float_account,
                200_000 + rng.below(20_000),
                200_000 + rng.below(20_000)
            ),
        ),
        (
            "payments.list",
            format!("payments:day/{day}"),
            None,
            format!(r#"{{"date":"{day}","direction":"outbound"}}"#),
            format!(r#"{{"date": "{day}", "count": {}}}"#, rng.below(5)),
        ),
        (
            "reports.publish",
            format!("report:payouts/{day}"),
            Some("finance-reports@example.com"),
            format!(
                r#"{{"report":"payouts-{day}","to":"finance-reports@example.com","format":"pdf"}}"#
            ),
            format!("report payouts-{day} delivered to finance-reports@example.com"),
        ),
    ];
    for (action, resource, destination, args, result) in steps {
        task.call(
            after(rng, &mut t, 800, 5000),
            &Call {
                actor: &agent,
                on_behalf: Some(&lead),
                action,
                class: None,
                resource: Some(&resource),
                destination,
                credential: &token,
                args,
            },
            &result,
            "trusted",
            (500 + rng.below(1200)) as i64 * 1000,
        );
        t += 2 * SECOND;
    }
    task.revoke(after(rng, &mut t, 200, 800), &agent, &token);
    task.task_end(after(rng, &mut t, 100, 400), &agent, &lead);
}

/// A policy decision for a refund, as the request-time policy engine records it.
pub(super) fn policy_allow(
    task: &mut Task<'_>,
    t: i64,
    resource: &str,
    iban: &str,
    approval: &str,
) {
    let payments = task.team.payments.clone();
    let session = task.payments_session.clone();
    let destination = format!("iban:{iban}");
    task.emit(
        t,
        &E {
            kind: "policy.decision",
            actor: POLICY_ENGINE,
            actor_kind: "workload",
            target: Some(&payments),
            target_kind: Some("agent"),
            session: &session,
            action: Some("payments.refund"),
            resource: Some(resource),
            destination: Some(&destination),
            decision: Some("allow"),
            policy: Some(REFUND_POLICY),
            attributes: Some(format!(
                r#"{{"approval":"{approval}","checks":["destination_is_original_payment_account","approval_valid"]}}"#
            )),
            ..E::default()
        },
    );
}
