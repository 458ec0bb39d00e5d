//! Recordings: a run recorded once replays through the model and the oracle with the same
//! verdict; another server held to it shows, per rule, exactly where its answers differ; no
//! secret is ever written.

use std::path::{Path, PathBuf};

use ecr_contract::oracle::{Level, RuleId};
use ecr_contract::recording::{self, Recording, Request, places};
use ecr_contract::serve::{Config, parse_profile, spawn};
use ecr_contract::wire::Credentials;

use crate::support::{suite, tempdir};

/// Records `check` against `serve` with `outcomes`, `cases` random sequences, seed 7.
async fn record_serve(
    outcomes: &str,
    cases: u32,
    credentials: Option<Credentials>,
) -> (Recording, PathBuf) {
    let config = Config {
        profile: parse_profile(outcomes).expect("a profile"),
        verify_signatures: credentials.clone(),
        ..Config::default()
    };
    let server = spawn(config).await.expect("serve starts");
    let dir = tempdir().join(format!("recording-{}", outcomes.replace(['=', ','], "-")));
    let mut run = suite(&server.url(), cases, &dir.join("journal.tsv"));
    if let Some(credentials) = credentials {
        run = run.credentials(credentials);
    }
    let (report, recording) = recording::record(run).await.expect("the run works");
    server.shutdown().await;
    report.assert_conforms();
    recording.save(&dir.join("rec")).expect("saved");
    (recording, dir.join("rec"))
}

async fn held_against(recording: &Recording, outcomes: &str) -> ecr_contract::Report {
    let config = Config {
        profile: parse_profile(outcomes).expect("a profile"),
        ..Config::default()
    };
    let server = spawn(config).await.expect("serve starts");
    let dir = tempdir();
    let run = suite(
        &server.url(),
        0,
        &dir.join(format!("journal-{outcomes}.tsv")),
    );
    let report = recording::against(run, recording)
        .await
        .expect("the run works");
    server.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_serve_replays_rule_by_rule_with_no_request_missed() {
    let (recorded, dir) = record_serve("", 10, None).await;
    let (loaded, replayed) = recording::replay(&dir).await.expect("replays");
    assert_eq!(loaded, recorded, "a recording reads back as written");
    assert!(
        replayed.misses.is_empty(),
        "requests the recording lacks: {:#?}",
        replayed.misses
    );
    assert_eq!(
        replayed.unused, 0,
        "every recorded exchange is asked for again"
    );
    assert_eq!(
        replayed.verdict_changes(&loaded),
        vec![],
        "the same verdict, rule by rule"
    );
    assert!(
        loaded.meta.verdict.values().any(|v| v == "pass"),
        "the recording's verdict names passed rules"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_server_held_to_its_recording_shows_no_parity_difference() {
    let (recorded, _) = record_serve("", 5, None).await;
    let report = held_against(&recorded, "").await;
    let differences = report.parity.clone().expect("a parity section");
    assert_eq!(
        differences,
        vec![],
        "no difference between two runs of the same server"
    );
    report.assert_conforms();
}

/// Each outcome choice of `serve` differs from the default only where the spec allows
/// another answer: held to the default's recording, its differences are all under the rule
/// of that choice, and its contract verdict is still a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_outcome_choice_differs_only_under_the_rules_of_that_choice() {
    let (recorded, _) = record_serve("", 5, None).await;
    for (outcomes, rules) in [
        ("mismatch-as-not-found", &[RuleId::IdMismatchCode][..]),
        ("digest-tags=each", &[RuleId::IdByDigest][..]),
        ("dedupe-ids", &[RuleId::IdAccounting][..]),
        ("digest-tags=first", &[RuleId::IdByDigest][..]),
        ("fail-untranslatable", &[RuleId::ManTranslation][..]),
        ("digest-of-translation", &[RuleId::ManTranslation][..]),
        ("reject-invalid-digest", &[RuleId::IdInvalidDigest][..]),
    ] {
        let report = held_against(&recorded, outcomes).await;
        let differences = report.parity.clone().expect("a parity section");
        assert!(!differences.is_empty(), "{outcomes}: the choice shows");
        for d in &differences {
            // The registry API answers a manifest as BatchGetImage would: a choice shows there
            // too, under the rule that says so.
            let registry = d.rule == Some(RuleId::RegManifestAsBatchgetimage);
            assert!(
                registry || d.rule.is_some_and(|r| rules.contains(&r)),
                "{outcomes}: a difference under {:?}, not {rules:?}: {d:#?}",
                d.rule
            );
        }
        assert!(
            !report.fails_at(Level::Should),
            "{outcomes}: still conforms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_edited_to_hold_a_non_conforming_answer_fails_under_that_rule() {
    let (mut recording, _) = record_serve("", 0, None).await;
    let edited = recording
        .exchanges
        .iter_mut()
        .find(|e| {
            matches!(&e.request, Request::Aws { operation, .. } if operation == "BatchGetImage")
                && String::from_utf8_lossy(&e.answer.body)
                    .contains("\"failureCode\":\"ImageNotFound\"")
        })
        .expect("an ImageNotFound failure was recorded");
    let body = String::from_utf8_lossy(&edited.answer.body).replace(
        "\"failureCode\":\"ImageNotFound\"",
        "\"failureCode\":\"NoSuchFailure\"",
    );
    edited.answer.body = body.into_bytes();
    let replayed = recording::replay_recording(&recording)
        .await
        .expect("replays");
    let failed: Vec<RuleId> = replayed
        .report
        .findings
        .iter()
        .map(|f| f.violation.rule)
        .collect();
    assert!(failed.contains(&RuleId::IdFailureCode), "{failed:?}");
    assert!(
        replayed
            .verdict_changes(&recording)
            .iter()
            .any(|(rule, was, now)| rule == "ID-FAILURE-CODE" && was == "pass" && now == "fail")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_the_run_reaches_a_recording() {
    let credentials = Credentials::new(
        "AKIAIOSFODNN7RECORDS",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYRECORDSKEY",
        Some("IQoJb3JpZ2luX2VjEJr//////////recording-session-token".into()),
    );
    let (recording, dir) = record_serve("", 5, Some(credentials.clone())).await;
    let mut text = String::new();
    for file in files(&dir) {
        let bytes = std::fs::read(&file).expect("readable");
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    for secret in [
        "AKIAIOSFODNN7RECORDS",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYRECORDSKEY",
        "recording-session-token",
        "X-Amz-Signature=",
        "X-Amz-Credential=",
    ] {
        assert!(!text.contains(secret), "{secret} is in the recording");
    }
    let tokens: Vec<&Request> = recording
        .exchanges
        .iter()
        .filter(|e| String::from_utf8_lossy(&e.answer.body).contains("authorizationToken"))
        .map(|e| &e.request)
        .collect();
    assert!(!tokens.is_empty(), "the run asked for a registry token");
    for e in &recording.exchanges {
        let body = String::from_utf8_lossy(&e.answer.body);
        if let Some(at) = body.find("\"authorizationToken\":\"") {
            let token = &body[at + 22..];
            assert!(token.starts_with(places::RECORDED_TOKEN), "{body}");
        }
        for (name, _) in &e.answer.headers {
            assert_ne!(name, "authorization");
        }
        if let Request::Registry { headers, .. } = &e.request {
            assert!(
                headers.iter().all(|(n, _)| n != "authorization"),
                "{headers:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_recording_replays_with_its_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/recordings")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("recording.json").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no recording in {}", root.display());
    for dir in dirs {
        let (recording, replayed) = recording::replay(&dir).await.expect("replays");
        let name = dir.display();
        assert!(replayed.misses.is_empty(), "{name}: {:#?}", replayed.misses);
        assert_eq!(
            replayed.unused, 0,
            "{name}: recorded exchanges never asked for"
        );
        assert_eq!(replayed.verdict_changes(&recording), vec![], "{name}");
        assert!(
            !replayed.report.fails_at(Level::Should),
            "{name}: a conforming server's recording"
        );
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The command line: `check --record`, `replay`, then `check --against` another choice,
/// which passes the contract and fails `--fail-on parity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_records_replay_replays_and_against_fails_on_parity_only_when_asked() {
    let dir = tempdir().join("cli-recording");
    let recording = dir.join("rec");
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let output = crate::support::binary().args(&args).output().expect("runs");
            let shown = format!(
                "{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            (output.status.code(), shown)
        })
    };
    let rec = recording.display().to_string();
    let (code, shown) = run(vec![
        "check".into(),
        "--cases".into(),
        "3".into(),
        "--seed".into(),
        "5".into(),
        "--record".into(),
        rec.clone(),
    ])
    .await
    .expect("joined");
    assert_eq!(code, Some(0), "{shown}");
    let (code, shown) = run(vec!["replay".into(), rec.clone()])
        .await
        .expect("joined");
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains("verdict changed"), "{shown}");
    let other = spawn(Config {
        profile: parse_profile("mismatch-as-not-found").expect("a profile"),
        ..Config::default()
    })
    .await
    .expect("serve starts");
    let against = |fail_on: &str| {
        vec![
            "check".into(),
            "--endpoint-url".into(),
            other.url(),
            "--against".into(),
            rec.clone(),
            "--fail-on".into(),
            fail_on.into(),
        ]
    };
    let (code, shown) = run(against("should")).await.expect("joined");
    assert_eq!(code, Some(0), "the contract verdict is a pass: {shown}");
    assert!(shown.contains("PARITY ID-MISMATCH-CODE"), "{shown}");
    let (code, shown) = run(against("parity")).await.expect("joined");
    assert_eq!(
        code,
        Some(1),
        "--fail-on parity fails on a parity difference: {shown}"
    );
    other.shutdown().await;
}
