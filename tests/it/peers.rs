//! Third-party servers: moto checked against its divergence ledger (`tests/peers/moto.toml`),
//! ledgers that catch new and stale divergences, the HTML and Markdown reports, and `compare`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ecr_contract::oracle::{Level, RuleId};
use ecr_contract::report::{Ledger, to_html};
use ecr_contract::serve::spawn;
use serde_json::Value;

use crate::support::broken::{Fault, broken_server, reference_config};
use crate::support::{binary, check_url, python, tempdir};

const MOTO_LEDGER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/moto.toml");

/// A `moto_server` on a free loopback port, stopped on drop.
pub(crate) struct Moto {
    child: Child,
    pub(crate) url: String,
}

impl Moto {
    pub(crate) fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(python::bin().join("moto_server"))
            .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen on {url} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, url }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary in `dir` with `args`.
fn ecr_contract(dir: &Path, args: &[&str]) -> Output {
    binary()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("ecr-contract runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn moto_breaks_exactly_the_rules_its_ledger_lists() {
    let moto = Moto::start();
    let dir = tempdir();
    let output = ecr_contract(
        &dir,
        &[
            "check",
            "--endpoint-url",
            &moto.url,
            "--seed",
            "1",
            "--cases",
            "100",
            "--ledger",
            MOTO_LEDGER,
            "--report-json",
            "report.json",
            "--report-md",
            "report.md",
            "--report-html",
            "report.html",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("a report"))
            .expect("JSON");
    let ledger = Ledger::load(Path::new(MOTO_LEDGER)).expect("the ledger loads");
    let verdict = &json["ledger"];
    for list in ["new", "stale", "unconfirmed", "new_setup", "stale_setup"] {
        assert_eq!(
            verdict[list],
            serde_json::json!([]),
            "{list}: {}",
            text(&output)
        );
    }
    let known = verdict["known"].as_array().expect("known").len();
    assert_eq!(known, ledger.divergences.len());
    // The harness adapted to moto and said so, rather than counting what it skipped as passes.
    let notes = json["notes"].to_string();
    assert!(notes.contains("no layer upload API"), "{notes}");
    assert!(
        notes.contains("every later PutImage names imageDigest"),
        "{notes}"
    );
    // moto has no registry API: every REG-* rule is not exercised, none passed.
    assert!(notes.contains("no registry API at"), "{notes}");
    let rules = json["rules"].as_array().expect("rules");
    let registry: Vec<&Value> = rules
        .iter()
        .filter(|r| r["rule"].as_str().is_some_and(|id| id.starts_with("REG-")))
        .collect();
    assert_eq!(registry.len(), 29);
    for rule in registry {
        assert_eq!(rule["status"], "not_exercised", "{rule}");
    }
    let markdown = std::fs::read_to_string(dir.join("report.md")).expect("markdown");
    assert!(markdown.starts_with("# BatchGetImage conformance: moto 5.2.1"));
    assert!(markdown.contains(
        "| [ID-BY-TAG](#id-by-tag) ([contract](docs/contract/batch-get-image.md#4-resolving-each-image-id)) | must | known divergence |"
    ));
    assert!(markdown.contains("| Request validation (section 2) | 6 | 0 | 0 | 6 | 0 |"));
    // Each known divergence is explained from the ledger.
    let explained = ledger.divergence(RuleId::IdByTag).expect("listed");
    assert!(markdown.contains(&format!("What the server does: {}", explained.server)));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    // moto's HTML error pages are shown as text, never as markup.
    assert!(html.contains("&lt;title&gt;500 Internal Server Error&lt;/title&gt;"));
    assert!(!html.contains("<title>500 Internal Server Error</title>"));
}

#[test]
fn every_ledger_entry_names_a_catalogue_rule_and_carries_its_evidence() {
    let ledger = Ledger::load(Path::new(MOTO_LEDGER)).expect("the moto ledger is valid");
    assert!(
        ledger
            .divergences
            .iter()
            .all(|d| d.evidence.contains("HTTP "))
    );
    let dir = tempdir();
    let bad = dir.join("bad.toml");
    let entry =
        "[[divergence]]\nrule = \"ID-BY-TAGS\"\nserver = \"x\"\necr = \"y\"\nevidence = \"z\"\n";
    std::fs::write(&bad, format!("server = \"s\"\n{entry}")).expect("written");
    let error = Ledger::load(&bad).expect_err("an unknown rule id is refused");
    assert!(error.to_string().contains("bad.toml"), "{error}");
    std::fs::write(&bad, "server = \"s\"\n[[divergence]]\nrule = \"ID-BY-TAG\"\nserver = \"x\"\necr = \"y\"\nevidence = \"\"\n")
        .expect("written");
    assert!(
        Ledger::load(&bad).is_err(),
        "an entry without evidence is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_reports_stale_entries_of_a_server_that_was_fixed() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let report = check_url(&server.url(), 0).await;
    let ledger = Ledger::load(Path::new(MOTO_LEDGER)).expect("the ledger loads");
    let verdict = ledger.compare(&report);
    assert!(
        verdict.known.is_empty() && verdict.new.is_empty(),
        "{verdict:?}"
    );
    assert_eq!(verdict.stale.len(), ledger.divergences.len(), "{verdict:?}");
    assert!(verdict.fails_at(&report, Level::Must));
    // The same verdict from a test, through the assertion a user would write.
    let panic = std::panic::catch_unwind(|| report.assert_conforms_to(&ledger))
        .expect_err("a fixed server fails its stale ledger");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("no longer diverge"), "{message}");
    assert!(
        message.contains("setup calls answered otherwise than listed"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_reports_a_new_divergence_and_digests_are_pinned_after_a_wrong_one() {
    let server = broken_server(Fault {
        wrong_put_digest: true,
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 5).await;
    let verdict = Ledger::load(Path::new(MOTO_LEDGER))
        .expect("the ledger loads")
        .compare(&report);
    // STATE-PUT-DIGEST is in moto's ledger: known. The wrong digest costs nothing else,
    // because every later PutImage names the digest the harness computed.
    assert_eq!(verdict.known, vec![RuleId::StatePutDigest], "{verdict:?}");
    assert!(verdict.new.is_empty(), "{verdict:?}");
    let empty: Ledger = toml_ledger("server = \"none\"\n");
    let verdict = empty.compare(&report);
    assert_eq!(verdict.new, vec![RuleId::StatePutDigest]);
    assert!(verdict.fails_at(&report, Level::Must));
}

fn toml_ledger(text: &str) -> Ledger {
    let path = tempdir().join("ledger.toml");
    std::fs::write(&path, text).expect("written");
    Ledger::load(&path).expect("a ledger")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_reports_escape_what_servers_send() {
    let server = broken_server(Fault {
        mutation: Some("repository:<script>alert(1)</script>"),
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 0).await;
    let html = to_html(&report, None);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_shows_where_two_endpoints_differ_rule_by_rule() {
    let server = broken_server(Fault {
        mutation: Some("reformat"),
        ..Fault::default()
    })
    .await;
    let dir = tempdir();
    let url = server.uri();
    let output = tokio::task::spawn_blocking(move || {
        ecr_contract(
            &dir,
            &["compare", "embedded", &url, "--cases", "5", "--seed", "3"],
        )
    })
    .await
    .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = |rule: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{rule} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("MAN-BYTES").contains("pass") && line("MAN-BYTES").ends_with("differs"),
        "{stdout}"
    );
    assert!(!line("REPO-ECHO").contains("differs"), "{stdout}");
    assert!(stdout.contains("only right: [case "), "{stdout}");
}

#[test]
fn compare_of_a_server_with_itself_finds_no_difference() {
    let dir = tempdir();
    let output = ecr_contract(
        &dir,
        &[
            "compare", "embedded", "embedded", "--cases", "5", "--seed", "3",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("\n0 of 72 rules differ"));
}
