//! End to end: the HTML report in a real browser. The real `onus` binary ingests a fixture and
//! writes the report; headless Chromium opens the file and
//! - dumps the DOM after load (`--dump-dom`): nothing from the evidence ran (the title is still
//!   the report's, no element carries the `data-pwned` attribute the hostile payloads set), the
//!   DOM holds only elements the report's template writes, and the payloads are on the page as
//!   text;
//! - records Chromium's net log on every run (`--log-net-log`): the page caused no network
//!   activity;
//! - takes a screenshot: the page painted, graph and severity colours included;
//! - prints to PDF: a landscape document (page 1 is checked with `pdftoppm` when it is there).
//!
//! Control pages show that the checks can fail: the same payloads written raw without the
//! report's Content-Security-Policy do change the title, set the attribute and reach the network;
//! written raw under the CSP they do not; and the report with its CSP removed stays inert by its
//! escaping alone.
//!
//! Needs Chromium (`.ci/run` installs the Debian package; `ONUS_CHROMIUM` names another binary).
//! Without it the tests say they were skipped and pass, unless `ONUS_REQUIRE_EXTERNAL_TOOLS=1`.
//! `ONUS_BROWSER_ARTIFACTS=<dir>` keeps the screenshots and PDFs for a person to look at.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{external_tool, fixture, ingest_fixture, onus, which};

/// Longest a single browser run may take before it is killed and the test fails.
const PATIENCE: Duration = Duration::from_mins(1);

/// How Chromium must be started on a machine without a display or a network.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Fewer of the browser's own background requests in the net log (they are told apart from
    // the page's in any case, see `page_activity`).
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--disable-breakpad",
    "--disable-features=NetworkTimeServiceQuerying,Translate,MediaRouter,OptimizationHints",
    // Exact colours in screenshots.
    "--force-color-profile=srgb",
];

/// The window size of screenshots.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2000;

/// Colours the report paints (see `STYLE` and `svg` in src/report/html.rs).
const GRAPH_BACKGROUND: [u8; 3] = [0xfa, 0xfa, 0xfa];
const CRITICAL: [u8; 3] = [0xaa, 0x00, 0x00];
const UNCONSTRAINED_EDGE: [u8; 3] = [0xcc, 0x00, 0x00];

/// Elements the report's template writes. Evidence must never add one.
const TEMPLATE_ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "ul", "li", "table",
    "colgroup", "col", "thead", "tbody", "tr", "th", "td", "code", "small", "span", "b", "br",
    "wbr", "svg", "defs", "marker", "path", "g", "line", "text", "tspan", "rect",
];

/// Attributes that would load something or run something.
const ACTIVE_ATTRIBUTES: &[&str] = &[
    "src",
    "srcset",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "data",
];

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ONUS_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    external_tool(
        "chromium",
        &[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ],
    )
}

/// A short, escaped excerpt of possibly hostile text, for assertion messages.
fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(240).collect();
    format!("{cut:?}")
}

/// What one browser run left behind.
struct Visit {
    /// What the browser wrote to stdout: the DOM, for `--dump-dom`.
    stdout: String,
    /// Network activity the page caused, as short descriptions (see `page_activity`).
    activity: Vec<String>,
    elapsed: Duration,
}

fn file_url(path: &Path) -> String {
    let path = path.canonicalize().expect("page exists");
    let mut url = String::from("file://");
    for ch in path.to_str().expect("utf-8 path").chars() {
        match ch {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '/' | '-' | '_' | '.' | '~' => url.push(ch),
            other => {
                let mut buf = [0; 4];
                for byte in other.encode_utf8(&mut buf).bytes() {
                    let _ = write!(url, "%{byte:02X}");
                }
            }
        }
    }
    url
}

/// Opens `page` in headless Chromium with a fresh profile, does `action` (`--dump-dom`,
/// `--screenshot=…`, `--print-to-pdf=…`) and reads the net log of the run. The browser is killed
/// (with its helper processes, which share its process group) if it takes longer than
/// `PATIENCE`.
fn visit(browser: &Path, page: &Path, action: &[&str], work: &Path) -> Visit {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = work.join(format!("chromium-{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    let profile = run.join("profile");
    fs::create_dir_all(&profile).expect("profile folder");
    let netlog = run.join("netlog.json");
    let out_path = run.join("stdout");
    let err_path = run.join("stderr");
    let start = Instant::now();
    let mut child = Command::new(browser)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(action)
        .arg(file_url(page))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", browser.display()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            // A payload that ran `alert()` leaves the page waiting on the dialog for ever.
            panic!(
                "chromium {action:?} did not finish within {PATIENCE:?} (a page that opened a \
                 JavaScript dialog never finishes loading); its stderr ends {}",
                tail(&err_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();
    assert!(
        status.success(),
        "chromium {action:?} failed ({status}); its stderr ends {}",
        tail(&err_path)
    );
    let log = fs::read_to_string(&netlog).expect("chromium wrote a net log");
    let activity = page_activity(&log)
        .unwrap_or_else(|e| panic!("cannot read the net log {}: {e}", netlog.display()));
    let mut stdout = String::new();
    File::open(&out_path)
        .and_then(|mut f| f.read_to_string(&mut stdout))
        .expect("read chromium's stdout");
    Visit {
        stdout,
        activity,
        elapsed,
    }
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(8).collect();
    format!("{:?}", lines.into_iter().rev().collect::<Vec<_>>())
}

/// The host of a URL (`https://a.example:443/x` → `a.example`).
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.to_ascii_lowercase()
}

/// Event parameters of a net log that name where a request or connection goes.
const TARGETS: [&str; 6] = [
    "url",
    "host",
    "destination",
    "logical_destination",
    "original_url",
    "location",
];

/// URL schemes that never reach the network.
fn is_local(url: &str) -> bool {
    ["file:", "data:", "blob:", "about:", "chrome:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// Network activity in a Chromium net log that came from a page rather than from the browser.
///
/// A `file://` page is read without the network stack, so any request, host resolution or
/// connection the log shows belongs either to the page or to the browser's own services (which
/// reach out even with the flags above: account and update checks). The browser's own requests
/// have the initiator `not an origin` and are not keyed to the page; everything a page starts
/// (sub-resources, fetches, web sockets, navigations, preconnects) carries the page's origin as
/// initiator (`null` or `file://`) or a network isolation key of `file://`. So the activity of the
/// page is: every URL request not of the browser's own, every event keyed to a `file:` page, and
/// every URL or host the log names that is not a host of the browser's own requests.
fn page_activity(netlog: &str) -> Result<Vec<String>, String> {
    let log: Value = serde_json::from_str(netlog).map_err(|e| format!("not JSON: {e}"))?;
    let types = log["constants"]["logEventTypes"]
        .as_object()
        .ok_or("no constants.logEventTypes")?;
    let type_name = |id: u64| {
        types
            .iter()
            .find(|(_, v)| v.as_u64() == Some(id))
            .map_or("?", |(name, _)| name.as_str())
    };
    let start_job = types
        .get("URL_REQUEST_START_JOB")
        .and_then(Value::as_u64)
        .ok_or("the net log has no URL_REQUEST_START_JOB event type")?;
    let events = log["events"].as_array().ok_or("no events")?;
    let text = |e: &'_ Value, key: &str| -> Option<String> {
        e.get("params")?.get(key)?.as_str().map(str::to_owned)
    };
    let mut browser_hosts = BTreeSet::new();
    let mut found = BTreeSet::new();
    for e in events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
    {
        let Some(url) = text(e, "url") else { continue };
        let initiator = text(e, "initiator");
        let isolation = text(e, "network_isolation_key").unwrap_or_default();
        if initiator.as_deref() == Some("not an origin") && !isolation.contains("file:") {
            browser_hosts.insert(host(&url));
        } else {
            found.insert(format!(
                "request to {url} (initiator {})",
                initiator.as_deref().unwrap_or("none")
            ));
        }
    }
    for e in events {
        let kind = e["type"].as_u64().map_or("?", type_name);
        let target = TARGETS.iter().find_map(|k| text(e, k)).unwrap_or_default();
        for key in ["network_isolation_key", "network_anonymization_key"] {
            if text(e, key).is_some_and(|v| v.contains("file:")) {
                found.insert(format!("{kind} for a file: page ({target})"));
            }
        }
        for key in TARGETS {
            if let Some(v) = text(e, key)
                && v.contains("://")
                && !is_local(&v)
                && !browser_hosts.contains(&host(&v))
            {
                found.insert(format!("{kind} {key}={v}"));
            }
        }
    }
    Ok(found.into_iter().collect())
}

#[track_caller]
fn assert_no_network(v: &Visit, what: &str) {
    assert!(
        v.activity.is_empty(),
        "{what}: the page caused network activity: {:?}",
        v.activity
    );
}

/// Text as the DOM serialiser writes it (`&`, `<`, `>` and no-break spaces escaped).
fn dom_text(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// The text of the first `<title>` element.
fn title(html: &str) -> Option<&str> {
    let start = html.find("<title>")? + "<title>".len();
    let len = html[start..].find("</title>")?;
    Some(&html[start..start + len])
}

/// The report's Content-Security-Policy `<meta>` element, as written.
fn csp_meta(html: &str) -> &str {
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the report carries a CSP meta element");
    let len = html[start..].find('>').expect("closed meta element") + 1;
    &html[start..start + len]
}

/// Start tags of a serialised DOM: element name and attribute names. In serialised markup every
/// `<` of text is escaped, so each `<` followed by a letter starts an element.
fn start_tags(dom: &str) -> Vec<(String, Vec<String>)> {
    let mut tags = Vec::new();
    let bytes = dom.as_bytes();
    let mut i = 0;
    while let Some(off) = dom[i..].find('<') {
        i += off + 1;
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name_len = dom[i..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(dom.len() - i);
        let name = dom[i..i + name_len].to_ascii_lowercase();
        i += name_len;
        let mut attributes = Vec::new();
        loop {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) || bytes.get(i) == Some(&b'/') {
                i += 1;
            }
            match bytes.get(i) {
                None => break,
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(_) => {}
            }
            let attr_len = dom[i..]
                .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
                .unwrap_or(dom.len() - i);
            attributes.push(dom[i..i + attr_len].to_ascii_lowercase());
            i += attr_len;
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                if let Some(&quote @ (b'"' | b'\'')) = bytes.get(i) {
                    let close = dom[i + 1..]
                        .find(char::from(quote))
                        .map_or(dom.len(), |n| i + 1 + n);
                    i = close + 1;
                } else {
                    let end = dom[i..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(dom.len(), |n| i + n);
                    i = end;
                }
            }
        }
        tags.push((name, attributes));
    }
    tags
}

/// What in a serialised DOM the report's template would never write: other elements, event
/// handler or loading attributes, a second SVG drawing.
fn foreign_markup(dom: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut drawings = 0;
    for (name, attributes) in start_tags(dom) {
        if name == "svg" {
            drawings += 1;
        }
        if !TEMPLATE_ELEMENTS.contains(&name.as_str()) {
            found.push(format!("element <{name}>"));
        }
        for a in attributes {
            if a.starts_with("on") || ACTIVE_ATTRIBUTES.contains(&a.as_str()) {
                found.push(format!("attribute {a} on <{name}>"));
            }
        }
    }
    if drawings > 1 {
        found.push(format!("{drawings} <svg> elements"));
    }
    found
}

/// The payloads planted in the hostile fixture: every string of its events that would set the
/// `ONUS-PWNED` title or the `data-pwned` attribute if it ran.
fn planted_payloads() -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.contains("ONUS-PWNED") || s.contains("data-pwned") => {
                out.push(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let text = fs::read_to_string(fixture("hostile-report").join("events.jsonl")).expect("read");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        strings(
            &serde_json::from_str(line).expect("fixture line is JSON"),
            &mut out,
        );
    }
    assert!(
        out.len() >= 3,
        "the hostile fixture plants a script, an image and an SVG payload: {out:?}"
    );
    out
}

/// Asserts that no payload ran in the page whose DOM is `dom`.
#[track_caller]
fn assert_inert(dom: &str, expected_title: &str, what: &str) {
    assert_eq!(
        title(dom),
        Some(expected_title),
        "{what}: the page title changed"
    );
    assert!(
        !dom.contains("data-pwned="),
        "{what}: an element got the data-pwned attribute"
    );
    let foreign = foreign_markup(dom);
    assert!(
        foreign.is_empty(),
        "{what}: markup the template never writes: {foreign:?}"
    );
}

/// Ingests a fixture into a fresh database and writes its HTML report, both with the real binary.
fn html_report(fixture_name: &str, dir: &Path) -> PathBuf {
    let db = dir.join(format!("{fixture_name}.duckdb"));
    let run = ingest_fixture(&db, fixture_name);
    assert!(run.code == 0 || run.code == 3, "ingest: {}", run.stderr);
    let page = dir.join(format!("{fixture_name}.html"));
    let run = onus(
        &db,
        &[
            "report",
            "--format",
            "html",
            "--out",
            page.to_str().expect("path"),
        ],
    );
    assert_eq!(run.code, 0, "report: {}", run.stderr);
    page
}

/// A decoded PNG: width, height and RGB(A) pixels.
struct Png {
    width: u32,
    height: u32,
    channels: usize,
    pixels: Vec<u8>,
}

impl Png {
    /// Decodes the 8-bit, non-interlaced RGB or RGBA images Chromium and pdftoppm write.
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let body = bytes
            .strip_prefix(b"\x89PNG\r\n\x1a\n")
            .ok_or("not a PNG")?;
        let (mut width, mut height, mut channels) = (0, 0, 0);
        let mut data = Vec::new();
        let mut rest = body;
        while rest.len() >= 12 {
            let len = u32::from_be_bytes(rest[..4].try_into().map_err(|_| "chunk")?) as usize;
            let kind = &rest[4..8];
            let chunk = rest.get(8..8 + len).ok_or("truncated chunk")?;
            match kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(chunk[..4].try_into().map_err(|_| "IHDR")?);
                    height = u32::from_be_bytes(chunk[4..8].try_into().map_err(|_| "IHDR")?);
                    channels = match (chunk[8], chunk[9], chunk[12]) {
                        (8, 2, 0) => 3,
                        (8, 6, 0) => 4,
                        other => return Err(format!("unsupported PNG layout {other:?}")),
                    };
                }
                b"IDAT" => data.extend_from_slice(chunk),
                _ => {}
            }
            rest = &rest[12 + len..];
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&data[..])
            .read_to_end(&mut raw)
            .map_err(|e| format!("IDAT: {e}"))?;
        let stride = width as usize * channels;
        if channels == 0 || raw.len() != (stride + 1) * height as usize {
            return Err("image data does not match the header".to_owned());
        }
        let mut pixels = vec![0u8; stride * height as usize];
        for y in 0..height as usize {
            let filter = raw[y * (stride + 1)];
            let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
            for x in 0..stride {
                let left = if x >= channels {
                    pixels[y * stride + x - channels]
                } else {
                    0
                };
                let up = if y > 0 {
                    pixels[(y - 1) * stride + x]
                } else {
                    0
                };
                let up_left = if x >= channels && y > 0 {
                    pixels[(y - 1) * stride + x - channels]
                } else {
                    0
                };
                let predicted = match filter {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => left.midpoint(up),
                    4 => paeth(left, up, up_left),
                    other => return Err(format!("unknown PNG filter {other}")),
                };
                pixels[y * stride + x] = line[x].wrapping_add(predicted);
            }
        }
        Ok(Self {
            width,
            height,
            channels,
            pixels,
        })
    }

    /// How many pixels have exactly this colour.
    fn count(&self, rgb: [u8; 3]) -> usize {
        self.pixels
            .chunks_exact(self.channels)
            .filter(|p| p[..3] == rgb)
            .count()
    }

    fn distinct_colours(&self) -> usize {
        self.pixels
            .chunks_exact(self.channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<BTreeSet<_>>()
            .len()
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Keeps a file for a person to look at, when `ONUS_BROWSER_ARTIFACTS` names a folder.
fn keep(path: &Path, name: &str) {
    if let Some(dir) = std::env::var_os("ONUS_BROWSER_ARTIFACTS") {
        let dir = PathBuf::from(dir);
        fs::create_dir_all(&dir).expect("artifact folder");
        fs::copy(path, dir.join(name)).expect("keep artifact");
    }
}

/// Screenshot and PDF print of a report: the page painted (graph, severity colours, the dashed
/// red unconstrained hand-off) and printed.
fn screenshot_and_print(browser: &Path, page: &Path, dir: &Path, name: &str) -> Vec<Duration> {
    let png_path = dir.join(format!("{name}.png"));
    let shot = visit(
        browser,
        page,
        &[
            &format!("--screenshot={}", png_path.display()),
            &format!("--window-size={WIDTH},{HEIGHT}"),
        ],
        dir,
    );
    assert_no_network(&shot, name);
    keep(&png_path, &format!("{name}.png"));
    let png = Png::decode(&fs::read(&png_path).expect("chromium wrote the screenshot"))
        .unwrap_or_else(|e| panic!("{name} screenshot: {e}"));
    assert_eq!(
        (png.width, png.height),
        (WIDTH, HEIGHT),
        "{name} screenshot"
    );
    assert!(
        png.distinct_colours() > 100,
        "{name}: the screenshot is nearly blank ({} colours)",
        png.distinct_colours()
    );
    for (colour, what, at_least) in [
        (
            GRAPH_BACKGROUND,
            "the delegation graph's background",
            20_000,
        ),
        (CRITICAL, "the critical severity cell", 1_000),
        (
            UNCONSTRAINED_EDGE,
            "the dashed red unconstrained hand-off",
            10,
        ),
    ] {
        let n = png.count(colour);
        assert!(
            n >= at_least,
            "{name}: {what} is not painted ({n} pixels of {colour:?}, expected {at_least} or more)"
        );
    }

    let pdf_path = dir.join(format!("{name}.pdf"));
    let print = visit(
        browser,
        page,
        &[
            &format!("--print-to-pdf={}", pdf_path.display()),
            "--no-pdf-header-footer",
        ],
        dir,
    );
    assert_no_network(&print, name);
    keep(&pdf_path, &format!("{name}.pdf"));
    let pdf = fs::read(&pdf_path).expect("chromium wrote the PDF");
    assert!(
        pdf.starts_with(b"%PDF-") && pdf.len() > 1024,
        "{name}: not a PDF ({} bytes)",
        pdf.len()
    );
    let page_count = pdf
        .windows(b"/Type /Page".len() + 1)
        .filter(|w| w.starts_with(b"/Type /Page") && w[w.len() - 1] != b's')
        .count();
    assert!(page_count >= 1, "{name}: the PDF has no page");
    // Optional: rasterise page 1 (poppler-utils) and check it is a landscape page with content.
    if let Some(pdftoppm) = which("pdftoppm") {
        let prefix = dir.join(format!("{name}-page1"));
        let ok = Command::new(pdftoppm)
            .args(["-r", "50", "-f", "1", "-l", "1", "-singlefile", "-png"])
            .arg(&pdf_path)
            .arg(&prefix)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "{name}: pdftoppm could not read the PDF");
        let first_page = prefix.with_extension("png");
        keep(&first_page, &format!("{name}-page1.png"));
        let png = Png::decode(&fs::read(&first_page).expect("pdftoppm output"))
            .unwrap_or_else(|e| panic!("{name} page 1: {e}"));
        assert!(
            png.width > png.height,
            "{name}: the printed page is not landscape ({}x{})",
            png.width,
            png.height
        );
        assert!(
            png.distinct_colours() > 20,
            "{name}: printed page 1 is blank"
        );
    }
    vec![shot.elapsed, print.elapsed]
}

#[test]
fn hostile_report_is_inert_and_readable_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = html_report("hostile-report", dir.path());
    let html = fs::read_to_string(&page).expect("read report");
    let report_title = title(&html).expect("the report has a title").to_owned();
    let payloads = planted_payloads();

    let v = visit(&browser, &page, &["--dump-dom"], dir.path());
    assert_no_network(&v, "hostile report");
    assert_inert(&v.stdout, &report_title, "hostile report");
    for p in &payloads {
        assert!(
            v.stdout.contains(&dom_text(p)),
            "the payload is not on the page as text: {}",
            excerpt(p)
        );
    }
    assert!(
        v.stdout.contains("id=\"graph\"") && v.stdout.contains("id=\"timeline\""),
        "the graph and the timeline are on the page"
    );

    // Escaping alone: the same report without its Content-Security-Policy stays inert.
    let bare = dir.path().join("hostile-without-csp.html");
    let without_csp = html.replacen(csp_meta(&html), "", 1);
    assert!(!without_csp.contains("Content-Security-Policy"));
    fs::write(&bare, without_csp).expect("write");
    let v = visit(&browser, &bare, &["--dump-dom"], dir.path());
    assert_no_network(&v, "hostile report without its CSP");
    assert_inert(&v.stdout, &report_title, "hostile report without its CSP");

    screenshot_and_print(&browser, &page, dir.path(), "hostile-report");
}

#[test]
fn payments_report_renders_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = html_report("payments-copilot", dir.path());
    let html = fs::read_to_string(&page).expect("read report");
    let report_title = title(&html).expect("the report has a title").to_owned();

    let v = visit(&browser, &page, &["--dump-dom"], dir.path());
    assert_no_network(&v, "payments report");
    assert_inert(&v.stdout, &report_title, "payments report");
    for needle in [
        "id=\"graph\"",
        "agent:support-copilot",
        "svc:payments-runner",
        "1 without constraints",
        "GB33EVIL60161331926819",
        "raj@example.com",
    ] {
        assert!(v.stdout.contains(needle), "the page shows {needle:?}");
    }
    screenshot_and_print(&browser, &page, dir.path(), "payments-copilot");
}

/// The checks above can fail: pages that do make requests and do run payloads are caught.
#[test]
fn the_browser_checks_catch_what_they_look_for() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");

    // A plain external image: the net log reading must see the page ask for it.
    let img = dir.path().join("img.html");
    fs::write(
        &img,
        "<!DOCTYPE html><html><head><title>img</title></head><body>\
         <img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .expect("write");
    let v = visit(&browser, &img, &["--dump-dom"], dir.path());
    assert!(
        v.activity
            .iter()
            .any(|a| a.contains("http://127.0.0.1:9/x.png")),
        "the net log reading missed the image request: {:?}",
        v.activity
    );

    // The hostile payloads written raw, without a CSP: they run, and every check sees it.
    let payloads = planted_payloads();
    let raw_page = |csp: &str| {
        let body = payloads.iter().fold(String::new(), |mut body, p| {
            let _ = write!(body, "<p>{p}</p>");
            body
        });
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">{csp}<title>control</title></head><body>{body}</body></html>"
        )
    };
    let open = dir.path().join("raw.html");
    fs::write(&open, raw_page("")).expect("write");
    let v = visit(&browser, &open, &["--dump-dom"], dir.path());
    assert_eq!(title(&v.stdout), Some("ONUS-PWNED"), "the script ran");
    assert!(
        v.stdout.contains("data-pwned=\"1\""),
        "the event handlers ran"
    );
    assert!(
        v.activity
            .iter()
            .any(|a| a.contains("127.0.0.1:9/onus-pwned.png")),
        "the image beacon was seen: {:?}",
        v.activity
    );
    let foreign = foreign_markup(&v.stdout);
    for expected in [
        "element <script>",
        "element <img>",
        "attribute onerror on <img>",
    ] {
        assert!(
            foreign.iter().any(|f| f == expected),
            "{expected} not caught: {foreign:?}"
        );
    }

    // The same raw payloads under the report's Content-Security-Policy: the CSP alone holds.
    let report = html_report("hostile-report", dir.path());
    let html = fs::read_to_string(&report).expect("read report");
    let guarded = dir.path().join("raw-with-csp.html");
    fs::write(&guarded, raw_page(csp_meta(&html))).expect("write");
    let v = visit(&browser, &guarded, &["--dump-dom"], dir.path());
    assert_no_network(&v, "raw payloads under the report's CSP");
    assert_eq!(title(&v.stdout), Some("control"), "no script ran");
    assert!(!v.stdout.contains("data-pwned="), "no event handler ran");
}

#[test]
fn page_activity_tells_the_page_from_the_browser() {
    // Shapes taken from a real net log of Chromium 156: a background update check of the
    // browser's own, and an image a file: page asked for.
    let log = serde_json::json!({
        "constants": {"logEventTypes": {"URL_REQUEST_START_JOB": 7, "HOST_RESOLVER_MANAGER_REQUEST": 9}},
        "events": [
            {"type": 7, "params": {"initiator": "not an origin", "network_isolation_key": "null null",
                                   "url": "https://update.googleapis.com/service/update2/json"}},
            {"type": 9, "params": {"host": "https://update.googleapis.com", "network_anonymization_key": "null"}},
        ]
    });
    assert_eq!(page_activity(&log.to_string()), Ok(vec![]));
    let mut with_page = log.clone();
    with_page["events"]
        .as_array_mut()
        .expect("events")
        .extend([
            serde_json::json!({"type": 9, "params": {"host": "http://127.0.0.2:9",
                "network_anonymization_key": "file:// [internally: file://] same_site"}}),
            serde_json::json!({"type": 7, "params": {"initiator": "null",
                "network_isolation_key": "file:// [internally: file://] file:// [internally: file://]",
                "url": "http://127.0.0.1:9/x.png"}}),
        ]);
    let found = page_activity(&with_page.to_string()).expect("reads");
    assert!(
        found.iter().any(|f| f.contains("http://127.0.0.1:9/x.png"))
            && found.iter().any(|f| f.contains("127.0.0.2:9")),
        "{found:?}"
    );
    assert!(
        page_activity("{\"events\": [").is_err(),
        "a cut-off log is an error"
    );
    assert_eq!(host("wss://user@[::1]:8443/x?y"), "::1");
    assert_eq!(host("https://A.example:443/p"), "a.example");
}
