//! The CloudTrail adapter against real delivery files (checked record by record against
//! `event_index.csv`), the hand-written role-chain fixture, and broken input.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{ingest_fixture, onus, onus_json, shared_data};

/// The real CloudTrail folder, or `None` (with a note) when the shared data is not there.
fn invictus() -> Option<PathBuf> {
    shared_data("cloudtrail-invictus/CloudTrail").and_then(|d| d.parent().map(Path::to_path_buf))
}

fn rows(db: &Path, sql: &str) -> Vec<Value> {
    onus_json(db, &["query", "--format", "json", sql])
        .as_array()
        .expect("rows")
        .clone()
}

fn str_of<'v>(row: &'v Value, key: &str) -> &'v str {
    row[key].as_str().unwrap_or_default()
}

/// `event_index.csv` as one map per row (no field in it holds a comma).
fn event_index(dir: &Path) -> Vec<HashMap<String, String>> {
    let text = fs::read_to_string(dir.join("event_index.csv")).expect("event_index.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), header.len(), "unexpected CSV row: {l}");
            header
                .iter()
                .zip(cells)
                .map(|(h, c)| ((*h).to_owned(), c.to_owned()))
                .collect()
        })
        .collect()
}

fn ingest_invictus(dir: &Path, tmp: &tempfile::TempDir) -> PathBuf {
    let db = tmp.path().join("ct.duckdb");
    let run = onus(
        &db,
        &["ingest", dir.join("CloudTrail").to_str().expect("path")],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    db
}

#[test]
fn invictus_every_event_and_every_role_session_link() {
    let Some(dir) = invictus() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = ingest_invictus(&dir, &tmp);
    let index = event_index(&dir);

    let totals = &rows(
        &db,
        "SELECT sum(records_read) AS r, sum(records_ok) AS ok, sum(records_quarantined) AS q, \
         sum(events_ingested) AS e FROM sources",
    )[0];
    assert_eq!(totals["r"], index.len());
    assert_eq!(totals["ok"], index.len());
    assert_eq!(totals["q"], 0);
    assert_eq!(totals["e"], index.len());

    let events: HashMap<String, Value> = rows(
        &db,
        "SELECT source_event_id, kind, actor, credential, outcome, \
         strftime(time, '%Y-%m-%dT%H:%M:%SZ') AS t FROM events",
    )
    .into_iter()
    .map(|r| (str_of(&r, "source_event_id").to_owned(), r))
    .collect();
    assert_eq!(events.len(), index.len(), "every eventID once");
    let delegations: HashMap<String, Value> = rows(
        &db,
        "SELECT e.source_event_id, d.delegator, d.delegate, d.kind, \
         strftime(d.delegated_at, '%Y-%m-%dT%H:%M:%SZ') AS at \
         FROM delegations d JOIN events e ON e.id = d.event_id",
    )
    .into_iter()
    .map(|r| (str_of(&r, "source_event_id").to_owned(), r))
    .collect();

    // Every AssumeRole is there with its outcome; each successful one is a delegation from the
    // caller, and no denied one is.
    let assume: Vec<_> = index
        .iter()
        .filter(|r| r["eventName"] == "AssumeRole")
        .collect();
    let mut denied = 0;
    for row in &assume {
        let e = &events[&row["eventID"]];
        assert_eq!(str_of(e, "kind"), "delegate");
        let d = delegations.get(&row["eventID"]);
        if row["errorCode"].is_empty() {
            assert_eq!(str_of(e, "outcome"), "success");
            let d = d.unwrap_or_else(|| panic!("no delegation for {}", row["eventID"]));
            assert_eq!(str_of(d, "kind"), "assume_role");
            assert_eq!(str_of(d, "delegator"), row["identity"]);
            if !row["new_session_arn"].is_empty() {
                assert_eq!(str_of(d, "delegate"), row["new_session_arn"]);
            }
        } else {
            assert_eq!(row["errorCode"], "AccessDenied");
            assert_eq!(str_of(e, "outcome"), "denied");
            assert!(d.is_none(), "a denied AssumeRole made a delegation");
            denied += 1;
        }
    }
    assert_eq!(assume.len(), 49);
    assert_eq!(denied, 13);
    assert_eq!(
        delegations.len(),
        assume.iter().filter(|r| r["errorCode"].is_empty()).count()
    );

    // Later calls made with a session: the session ARN acts, with the session's key, and a
    // role assumption into that session exists at or before the call.
    let credentials: HashMap<String, String> =
        rows(&db, "SELECT credential_id, holder FROM credentials")
            .into_iter()
            .map(|r| {
                (
                    str_of(&r, "credential_id").to_owned(),
                    str_of(&r, "holder").to_owned(),
                )
            })
            .collect();
    let mut linked = 0;
    let mut by_key = 0;
    let session_calls: Vec<_> = index
        .iter()
        .filter(|r| r["identity_type"] == "AssumedRole")
        .collect();
    for row in &session_calls {
        let e = &events[&row["eventID"]];
        assert_eq!(str_of(e, "actor"), row["identity"]);
        assert_eq!(str_of(e, "credential"), row["accessKeyId"]);
        if let Some(holder) = credentials.get(&row["accessKeyId"]) {
            assert_eq!(holder, &row["identity"], "key {}", row["accessKeyId"]);
            by_key += 1;
        }
        let into_session = delegations
            .values()
            .any(|d| str_of(d, "delegate") == row["identity"] && str_of(d, "at") <= str_of(e, "t"));
        if into_session {
            linked += 1;
        }
    }
    assert_eq!(session_calls.len(), 76);
    assert_eq!(linked, session_calls.len(), "every session call is linked");
    let keyed = session_calls
        .iter()
        .filter(|r| credentials.contains_key(&r["accessKeyId"]))
        .count();
    assert_eq!(by_key, keyed);
    assert_eq!(by_key, 70);
}

#[test]
fn invictus_graph_has_user_and_service_role_sessions() {
    let Some(dir) = invictus() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = ingest_invictus(&dir, &tmp);
    let index = event_index(&dir);

    // What the index implies: successful AssumeRole calls, by caller type.
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    let mut callers: HashMap<&str, &str> = HashMap::new();
    for row in index
        .iter()
        .filter(|r| r["eventName"] == "AssumeRole" && r["errorCode"].is_empty())
    {
        *expected.entry(row["identity_type"].as_str()).or_default() += 1;
        callers.insert(row["identity"].as_str(), row["identity_type"].as_str());
    }
    let graph = onus_json(&db, &["graph", "--format", "json"]);
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    for edge in graph["edges"].as_array().expect("edges") {
        assert_eq!(edge["kind"], "assume_role");
        assert!(
            str_of(edge, "to").contains(":assumed-role/"),
            "edge into a role session: {edge}"
        );
        let caller_type = callers
            .get(str_of(edge, "from"))
            .unwrap_or_else(|| panic!("unexpected caller {edge}"));
        *found.entry(caller_type).or_default() += 1;
    }
    assert_eq!(found, expected);
    assert_eq!(expected.get("IAMUser"), Some(&10));
    assert_eq!(expected.get("AWSService"), Some(&26));
}

#[test]
fn role_chain_fixture_keeps_source_identity_on_every_hop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("chain.duckdb");
    let run = ingest_fixture(&db, "cloudtrail-role-chain");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let source = &rows(
        &db,
        "SELECT format, records_read, records_quarantined FROM sources",
    )[0];
    assert_eq!(source["format"], "cloudtrail");
    assert_eq!(source["records_read"], 7);
    assert_eq!(source["records_quarantined"], 0);

    let a = "arn:aws:sts::111122223333:assumed-role/platform-admin/alice@example.com";
    let b = "arn:aws:sts::111122223333:assumed-role/deploy-automation/alice-deploy";
    let c = "arn:aws:sts::111122223333:assumed-role/billing-agent-role/billing-agent-7f3a";
    let graph = onus_json(&db, &["graph", "--format", "json"]);
    let edges = graph["edges"].as_array().expect("edges");
    let hops: Vec<(&str, &str)> = edges
        .iter()
        .map(|e| (str_of(e, "from"), str_of(e, "to")))
        .collect();
    assert_eq!(hops, [("alice@example.com", a), (a, b), (b, c)]);
    for e in edges {
        assert_eq!(e["kind"], "assume_role");
        let label = str_of(e, "label");
        assert!(
            label.contains("sourceIdentity=alice@example.com"),
            "{label}"
        );
        assert!(
            !e["expires_at"].is_null(),
            "the session expiry is kept: {e}"
        );
    }
    assert_eq!(rows(&db, "SELECT * FROM credentials").len(), 3);

    // The agent's calls: its session acts for alice, and the chain prints as one tree.
    let agent = rows(
        &db,
        &format!(
            "SELECT action, outcome, on_behalf_of FROM events WHERE actor = '{c}' ORDER BY time"
        ),
    );
    let summary: Vec<(&str, &str)> = agent
        .iter()
        .map(|r| (str_of(r, "action"), str_of(r, "outcome")))
        .collect();
    assert_eq!(
        summary,
        [
            ("s3:ListObjects", "success"),
            ("s3:GetObject", "success"),
            ("s3:DeleteBucket", "denied"),
            ("sts:AssumeRole", "denied"),
        ]
    );
    assert!(
        agent
            .iter()
            .all(|r| r["on_behalf_of"] == "alice@example.com")
    );
    let text = onus(&db, &["graph"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let depth = |id: &str| {
        text.stdout
            .lines()
            .find(|l| l.contains(&format!("→ {id} (role)")))
            .and_then(|l| l.find("assume_role"))
            .unwrap_or_else(|| panic!("{id} not in\n{}", text.stdout))
    };
    assert!(
        depth(a) < depth(b) && depth(b) < depth(c),
        "{}",
        text.stdout
    );
}

#[test]
fn broken_cloudtrail_is_quarantined_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    let good = |n: u32| {
        format!(
            r#"{{"eventTime":"2023-07-10T11:42:{n:02}Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},"eventID":"e{n}","readOnly":true}}"#
        )
    };
    // A delivery file cut in the middle of its third record.
    let cut = format!(
        r#"{{"Records":[{},{},{{"eventTime":"2023-"#,
        good(1),
        good(2)
    );
    fs::write(input.join("cut.json"), cut).expect("write");
    // One record per line, with a bad time, a non-object, a cut line, a bad identity.
    let lines = [
        good(3),
        good(4).replace("2023-07-10T11:42:04Z", "10/07/2023 11:42"),
        "[1,2,3]".to_owned(),
        r#"{"eventTime":"2023-07-10T11:42:05Z","eventSo"#.to_owned(),
        good(6).replace(r#"{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}"#, "7"),
    ];
    fs::write(input.join("lines.json"), lines.join("\n")).expect("write");
    // A Records array holding something that is not a record.
    fs::write(
        input.join("odd.json"),
        format!(r#"{{"Records":[{},"oops"]}}"#, good(7)),
    )
    .expect("write");
    let db = tmp.path().join("bad.duckdb");
    let run = onus(&db, &["ingest", input.to_str().expect("path")]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let q = rows(
        &db,
        "SELECT regexp_extract(s.path, '[^/]+$') AS file, q.locator, q.reason \
         FROM quarantine q JOIN sources s ON s.id = q.source_id ORDER BY file, q.locator",
    );
    let got: Vec<(&str, &str, &str)> = q
        .iter()
        .map(|r| (str_of(r, "file"), str_of(r, "locator"), str_of(r, "reason")))
        .collect();
    let expect = [
        ("cut.json", "L1.3", "middle of record 3"),
        ("lines.json", "L2", "field `eventTime`"),
        ("lines.json", "L3", "must be an object"),
        ("lines.json", "L4", "truncated JSON"),
        ("lines.json", "L5", "`userIdentity` must be an object"),
        ("odd.json", "L1.2", "must be an object"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((file, locator, reason), (f, l, r)) in got.iter().zip(expect) {
        assert_eq!((*file, *locator), (f, l));
        assert!(reason.contains(r), "{file} {locator}: {reason}");
    }
    let sources = rows(
        &db,
        "SELECT sum(records_read) AS r, sum(records_ok) AS ok, sum(events_ingested) AS e FROM sources",
    );
    assert_eq!(sources[0]["r"], 10);
    assert_eq!(sources[0]["ok"], 4);
    assert_eq!(sources[0]["e"], 4);

    // A file of another format forced as CloudTrail: every record says what is missing.
    let native = tmp.path().join("native.jsonl");
    fs::write(
        &native,
        r#"{"time":"2026-03-04T10:00:00Z","kind":"auth","actor":"a"}"#,
    )
    .expect("write");
    let db2 = tmp.path().join("forced.duckdb");
    let run = onus(
        &db2,
        &[
            "ingest",
            "--format",
            "cloudtrail",
            native.to_str().expect("path"),
        ],
    );
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("`eventTime` is missing"),
        "{}",
        run.stdout
    );
}
