-- Instruction detection (docs/detectors.md "Instruction detection"): the scored spans of
-- untrusted content, so an investigator can see which words made content count as instructions
-- addressed to the agent. Derived data, rewritten with the other analysis results. Only spans
-- that are instruction-bearing or have a strong signal are kept (near misses are worth seeing).
-- The drift model's kinds grew too: drift_points.kind is one of out_of_scope,
-- out_of_scope_after_instruction, tainted_action, instructed_action, intent_change, and each
-- provenance entry says whether its value sat inside an instruction span.

CREATE TABLE instruction_spans (
    event_id     VARCHAR NOT NULL,   -- the untrusted event (tool.result or message)
    task         VARCHAR,
    span_start   BIGINT NOT NULL,    -- byte offsets into the event's content
    span_end     BIGINT NOT NULL,
    score        DOUBLE NOT NULL,
    instruction  BOOLEAN NOT NULL,   -- score reached the threshold with a strong signal
    signals      JSON NOT NULL,      -- [{"kind", "start", "end"}], byte offsets into the content
    excerpt      VARCHAR NOT NULL    -- the span's text, cut to 400 characters
);
