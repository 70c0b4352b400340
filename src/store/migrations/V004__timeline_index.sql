-- The timeline index: the events in investigation order (time, source_id, seq), each with its
-- 0-based position, stored in that order. Browsing reads a range of positions, which DuckDB
-- answers from one or two row groups (zone maps on `pos`) instead of sorting every event for
-- every screen. It holds only the columns a timeline row shows, the two a task's chain of
-- authority is rebuilt from (`on_behalf_of`, `credential`), and the lower-cased text that
-- free-text search and filters look in. Derived from `events`; rebuilt after every ingest
-- (Store::rebuild_timeline_index), so it is never edited by hand.
CREATE TABLE timeline (
    pos           BIGINT NOT NULL,
    id            VARCHAR NOT NULL,
    time          TIMESTAMP NOT NULL,
    source_id     INTEGER NOT NULL,
    seq           BIGINT NOT NULL,
    kind          VARCHAR NOT NULL,
    actor         VARCHAR NOT NULL,
    task          VARCHAR,
    action        VARCHAR,
    action_class  VARCHAR,
    resource      VARCHAR,
    destination   VARCHAR,
    outcome       VARCHAR NOT NULL,
    on_behalf_of  VARCHAR,
    credential    VARCHAR,
    search        VARCHAR NOT NULL
);

-- Events the analysis results point at (finding evidence, drift points, their causes and stops,
-- liability shift points), with their timeline position: jumping to them or stepping between
-- drift points reads this small table, not the timeline. Rebuilt with the analysis results and
-- with the timeline.
CREATE TABLE timeline_marks (
    pos            BIGINT NOT NULL,
    event_id       VARCHAR NOT NULL,
    severity_rank  INTEGER,            -- highest severity of the findings citing the event
    drift_point    BOOLEAN NOT NULL
);
