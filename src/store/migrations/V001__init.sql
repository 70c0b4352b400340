-- onus evidence store, schema version 1. Times are UTC (TIMESTAMP, microseconds).

CREATE SEQUENCE source_ids START 1;

-- One row per input file (evidence log or manifest).
CREATE TABLE sources (
    id                  INTEGER PRIMARY KEY,
    path                VARCHAR NOT NULL,
    format              VARCHAR NOT NULL,
    sha256              VARCHAR NOT NULL UNIQUE,
    size_bytes          BIGINT NOT NULL,
    records_read        BIGINT NOT NULL,
    records_ok          BIGINT NOT NULL,
    records_quarantined BIGINT NOT NULL,
    events_ingested     BIGINT NOT NULL,
    ingested_at         TIMESTAMP NOT NULL,
    tool_version        VARCHAR NOT NULL
);

CREATE TABLE events (
    id               VARCHAR NOT NULL,
    source_id        INTEGER NOT NULL,
    locator          VARCHAR NOT NULL,
    seq              BIGINT NOT NULL,
    time             TIMESTAMP NOT NULL,
    time_inferred    BOOLEAN NOT NULL,
    kind             VARCHAR NOT NULL,
    actor            VARCHAR NOT NULL,
    actor_kind       VARCHAR,
    on_behalf_of     VARCHAR,
    task             VARCHAR,
    session          VARCHAR,
    source_event_id  VARCHAR,
    action           VARCHAR,
    action_class     VARCHAR,
    class_source     VARCHAR NOT NULL,
    resource         VARCHAR,
    destination      VARCHAR,
    environment      VARCHAR,
    credential       VARCHAR,
    outcome          VARCHAR NOT NULL,
    target           VARCHAR,
    target_kind      VARCHAR,
    call_id          VARCHAR,
    args             JSON,
    content          VARCHAR,
    trust            VARCHAR,
    intent           VARCHAR,
    constraints      JSON,
    scope            JSON,
    decision         VARCHAR,
    expires_at       TIMESTAMP,
    credential_type  VARCHAR,
    role             VARCHAR,
    owner            VARCHAR,
    "grant"          VARCHAR,
    status           VARCHAR,
    policy           VARCHAR,
    attributes       JSON,
    raw              VARCHAR NOT NULL
);

-- Records that could not be normalised, kept with the reason and where they were.
CREATE TABLE quarantine (
    id         VARCHAR NOT NULL,
    source_id  INTEGER NOT NULL,
    locator    VARCHAR NOT NULL,
    byte_offset BIGINT,
    reason     VARCHAR NOT NULL,
    raw        VARCHAR NOT NULL,
    raw_bytes  BIGINT NOT NULL,
    raw_truncated BOOLEAN NOT NULL
);

CREATE TABLE principals (
    id      VARCHAR PRIMARY KEY,
    kind    VARCHAR NOT NULL,
    name    VARCHAR,
    origin  VARCHAR NOT NULL
);

CREATE TABLE tasks (
    task_id      VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL,
    agent        VARCHAR,
    intent       VARCHAR,
    constraints  JSON,
    declared_at  TIMESTAMP,
    source_id    INTEGER NOT NULL,
    event_id     VARCHAR
);

CREATE TABLE grants (
    grant_id     VARCHAR NOT NULL,
    principal    VARCHAR NOT NULL,
    scope        JSON,
    approved_by  VARCHAR,
    valid_from   TIMESTAMP,
    valid_until  TIMESTAMP,
    origin       VARCHAR NOT NULL,
    source_id    INTEGER NOT NULL,
    event_id     VARCHAR
);

CREATE TABLE credentials (
    credential_id    VARCHAR NOT NULL,
    holder           VARCHAR,
    issuer           VARCHAR,
    credential_type  VARCHAR,
    issued_at        TIMESTAMP,
    expires_at       TIMESTAMP,
    scope            JSON,
    task             VARCHAR,
    origin           VARCHAR NOT NULL,
    source_id        INTEGER NOT NULL,
    event_id         VARCHAR
);

CREATE TABLE delegations (
    delegator    VARCHAR NOT NULL,
    delegate     VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    task         VARCHAR,
    scope        JSON,
    constraints  JSON,
    delegated_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    source_id    INTEGER NOT NULL,
    event_id     VARCHAR NOT NULL
);

CREATE TABLE owner_assignments (
    subject      VARCHAR NOT NULL,
    role         VARCHAR NOT NULL,
    owner        VARCHAR NOT NULL,
    valid_from   TIMESTAMP,
    valid_until  TIMESTAMP,
    origin       VARCHAR NOT NULL,
    source_id    INTEGER NOT NULL,
    event_id     VARCHAR
);

CREATE TABLE policies (
    key        VARCHAR NOT NULL,
    value      JSON NOT NULL,
    source_id  INTEGER NOT NULL
);

CREATE TABLE action_classes (
    pattern    VARCHAR NOT NULL,
    class      VARCHAR NOT NULL,
    source_id  INTEGER NOT NULL
);
