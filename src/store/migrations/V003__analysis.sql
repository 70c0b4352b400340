-- Analysis results: findings, drift points and accountability records. They are derived from
-- the evidence and recomputed as a whole (deleted and rewritten in one transaction) whenever the
-- evidence changes, so they are always consistent with it.

CREATE TABLE findings (
    id             VARCHAR NOT NULL,   -- stable: detector, task and first evidence
    detector       VARCHAR NOT NULL,   -- e.g. drift.destination (docs/detectors.md)
    title          VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,   -- critical | high | medium | low | info
    severity_rank  INTEGER NOT NULL,   -- 4 = critical ... 0 = info, for sorting
    failure_class  VARCHAR NOT NULL,   -- entitlement | workflow_design | behavioural_control
    task           VARCHAR,
    principal      VARCHAR,
    time           TIMESTAMP NOT NULL, -- time of the first evidence
    explanation    VARCHAR NOT NULL,
    evidence       JSON NOT NULL,      -- event ids, most telling first
    mappings       JSON NOT NULL       -- {"owasp_asi": [...], "owasp_t": [...], "maestro": [...], "nist_ai_rmf": [...]}
);

CREATE TABLE drift_points (
    task            VARCHAR NOT NULL,
    event_id        VARCHAR NOT NULL,  -- the drift point
    time            TIMESTAMP NOT NULL,
    kind            VARCHAR NOT NULL,  -- out_of_scope | intent_change | tainted_action
    reasons         JSON NOT NULL,     -- the constraints broken, each {"axis", "value", "allowed"}
    cause_event_id  VARCHAR,           -- latest untrusted input before the drift point
    provenance      JSON NOT NULL,     -- [{"argument", "value", "event_id"}]: values first seen in untrusted content
    actions_after   BIGINT NOT NULL,   -- actions after the drift point in the task
    after_event_ids JSON NOT NULL,     -- those actions, in time order
    seconds_after   DOUBLE NOT NULL,   -- time from the drift point to the task's last action
    stopped_by      VARCHAR,           -- event id of the control that stopped it, if any
    stop_kind       VARCHAR            -- denial | approval_refused | revocation | task_end
);

CREATE TABLE accountability (
    task             VARCHAR NOT NULL,
    primary_class    VARCHAR NOT NULL,
    primary_role     VARCHAR NOT NULL,
    primary_owner    VARCHAR,           -- NULL is a governance gap, never guessed
    secondary_role   VARCHAR,
    secondary_owner  VARCHAR,
    contributing     JSON NOT NULL,     -- [{"class", "role", "owner", "why"}]
    rule             VARCHAR NOT NULL,  -- decision-table row that fired (docs/accountability.md)
    rationale        VARCHAR NOT NULL,
    shift_event_id   VARCHAR,           -- liability shift point
    shift_time       TIMESTAMP,
    gaps             JSON NOT NULL,     -- missing owner data and other governance gaps
    evidence         JSON NOT NULL
);

CREATE TABLE analysis_runs (
    analysed_at   TIMESTAMP NOT NULL,
    tool_version  VARCHAR NOT NULL,
    events        BIGINT NOT NULL,
    findings      BIGINT NOT NULL
);
