//! `check` against correct and deliberately broken servers (wiremock and real HTTP on
//! loopback): a correct server passes every rule and exits 0; each broken behaviour is
//! reported under its rule; throttling is retried; a stalling server times out cleanly;
//! secrets never reach a report; only created repositories are deleted.

use std::time::Duration;

use ecr_contract::check::Journal;
use ecr_contract::oracle::{Level, RULES, RuleId};
use ecr_contract::report::{Status, to_junit, to_text};
use ecr_contract::serve::spawn;
use ecr_contract::wire::Credentials;

use crate::support::broken::{Fault, broken_server, reference_config};
use crate::support::registry_broken::REGISTRY_BROKEN;
use crate::support::{binary, check_url, signed_target, suite, tempdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_passes_every_rule() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let report = check_url(&server.url(), 60).await;
    assert!(report.findings.is_empty(), "{}", to_text(&report));
    let statuses: Vec<(RuleId, Status)> =
        report.rules().iter().map(|r| (r.rule, r.status)).collect();
    assert!(
        statuses.iter().all(|(_, s)| *s == Status::Pass),
        "{statuses:?}"
    );
    assert_eq!(statuses.len(), RULES.len());
    assert!(report.probes > 100, "{} probes", report.probes);
    assert!(
        server.endpoint().registry().repositories().next().is_none(),
        "the run deletes what it created"
    );
    server.shutdown().await;
}

/// One broken behaviour per rule of level must or should, and the rule it must be reported under.
const BROKEN: &[(&str, &str)] = &[
    ("status:201", "WIRE-STATUS"),
    ("content_type:text/plain", "WIRE-CONTENT-TYPE"),
    ("error:NoSuchThingException", "WIRE-ERROR-CODE"),
    (
        "error_header_only:RepositoryNotFoundException",
        "WIRE-ERROR-BODY-TYPE",
    ),
    ("no_message", "WIRE-ERROR-MESSAGE"),
    ("wrong_type:images", "WIRE-SHAPE"),
    ("no_member:failures", "WIRE-BOTH-LISTS"),
    ("ok_empty", "VAL-REGISTRY-ID"),
    ("ok_empty", "VAL-REPO-NAME"),
    ("ok_empty", "VAL-IMAGE-IDS-COUNT"),
    ("ok_empty", "VAL-TAG-LENGTH"),
    ("ok_empty", "VAL-MEDIA-TYPES-COUNT"),
    ("ok_empty", "VAL-MALFORMED"),
    ("ok_empty", "REPO-NOT-FOUND"),
    ("ok_empty", "REPO-FOREIGN-REGISTRY"),
    ("registry:999999999999", "REPO-ECHO"),
    ("drop_image", "ID-ACCOUNTING"),
    // Answers only the first 50 entries of a batch, as a paging server would.
    ("truncate:50", "ID-ACCOUNTING"),
    ("tag:zzz", "ID-BY-TAG"),
    ("failure_for_image:ImageNotFound", "ID-BY-DIGEST"),
    ("failure_for_image:ImageNotFound", "ID-TAG-AND-DIGEST"),
    ("code:MissingDigestAndTag", "ID-MISMATCH-CODE"),
    ("code:MissingDigestAndTag", "ID-NOT-FOUND"),
    ("code:ImageNotFound", "ID-MISSING-BOTH"),
    ("code:ImageNotFound", "ID-INVALID-DIGEST"),
    ("failure_digest:s2", "ID-FAILURE-ECHO"),
    ("code:NotAFailureCode", "ID-FAILURE-CODE"),
    ("no_reason", "ID-FAILURE-REASON"),
    ("image_for_failure:s2", "ID-CASE"),
    ("digest:s2b", "MAN-DIGEST"),
    ("reformat", "MAN-BYTES"),
    ("no_media_type", "MAN-MEDIA-TYPE"),
    ("translate:OCI", "MAN-NO-TRANSLATION-BY-DIGEST"),
    ("translate:OCI", "MAN-ACCEPTED-STORED"),
    ("translate:OCI", "MAN-TRANSLATION"),
    ("stored:s2", "STATE-READ-AFTER-PUT"),
    ("digest:s2b", "STATE-RETAG"),
    ("stored:s2", "STATE-TAG-MOVE"),
    ("image_for_failure:s2b", "STATE-DELETE"),
    ("html", "ROBUST-NO-5XX"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_behaviour_is_reported_under_its_rule() {
    /// Checks a server with `fault`: the run fails, and `rule` is among its findings.
    async fn reported(fault: Fault, what: &str, rule: &str) -> Result<(), String> {
        let server = broken_server(fault).await;
        let report = check_url(&server.uri(), 0).await;
        assert!(report.fails_at(Level::Should), "{what}: the run must fail");
        match report
            .findings
            .iter()
            .any(|f| f.violation.rule.as_str() == rule)
        {
            true => Ok(()),
            false => Err(format!(
                "{what} not reported under {rule}:\n{}",
                to_text(&report)
            )),
        }
    }
    let mut missed = Vec::new();
    for (mutation, rule) in BROKEN {
        let fault = Fault {
            mutation: Some(mutation),
            ..Fault::default()
        };
        missed.extend(reported(fault, mutation, rule).await.err());
    }
    let fault = Fault {
        wrong_put_digest: true,
        ..Fault::default()
    };
    missed.extend(
        reported(fault, "a wrong PutImage digest", "STATE-PUT-DIGEST")
            .await
            .err(),
    );
    for (mutation, rule) in REGISTRY_BROKEN {
        let fault = Fault {
            registry: Some(mutation),
            ..Fault::default()
        };
        missed.extend(reported(fault, mutation, rule).await.err());
    }
    assert!(missed.is_empty(), "{}", missed.join("\n\n"));
    let covered: Vec<&str> = BROKEN
        .iter()
        .chain(REGISTRY_BROKEN)
        .map(|(_, rule)| *rule)
        .chain(["STATE-PUT-DIGEST"])
        .collect();
    for rule in RULES.iter().filter(|r| r.level != Level::May) {
        assert!(
            covered.contains(&rule.id.as_str()),
            "no broken server for {}",
            rule.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_random_sequence_is_shrunk_before_it_is_reported() {
    let server = broken_server(Fault {
        mutation: Some("reformat"),
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 50).await;
    let note = report
        .notes
        .iter()
        .find(|n| n.starts_with("random phase: a failing sequence, shrunk to"))
        .expect("a shrunk sequence");
    // Re-serialising manifests shows with one repository and one image: two calls.
    let calls: usize = note["random phase: a failing sequence, shrunk to ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(calls <= 3, "{note}");
    assert!(report.findings.iter().any(|f| f.probe.starts_with("random sequence") && f.violation.rule == RuleId::ManBytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_not_a_violation() {
    let server = broken_server(Fault {
        throttle_every: Some(5),
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 10).await;
    assert!(report.findings.is_empty(), "{}", to_text(&report));
    assert!(report.retries > 10, "{} retries", report.retries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_server_gives_a_clear_error_not_a_hang() {
    let server = broken_server(Fault {
        delay: Some(Duration::from_secs(30)),
        ..Fault::default()
    })
    .await;
    let dir = tempdir();
    let started = std::time::Instant::now();
    let error = suite(&server.uri(), 0, &dir.join("stall.tsv"))
        .timeout(Duration::from_millis(300))
        .run()
        .await
        .expect_err("the check cannot do its job");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        error.to_string().contains("timed out") || error.to_string().contains("operation"),
        "{error}"
    );
}

/// A check of a hostile server that reflects every request header (the session token among
/// them) in its BatchGetImage answers, signing with `credentials`.
async fn check_reflecting_server(credentials: Credentials) -> ecr_contract::Report {
    let server = broken_server(Fault {
        echo_headers: true,
        credentials: Some(credentials.clone()),
        ..Fault::default()
    })
    .await;
    let dir = tempdir();
    suite(&server.uri(), 5, &dir.join("journal.tsv"))
        .credentials(credentials)
        .run()
        .await
        .expect("runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_name_the_rule_and_hold_no_secret() {
    let secret = "wJalrXUtnFEMI-not-a-real-secret-0123456789";
    let token = "session-token-not-real-9876";
    let credentials = Credentials::new("AKIDREPORTTEST", secret, Some(token.into()));
    // A hostile server that reflects every request header, the session token among them.
    let report = check_reflecting_server(credentials).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.response.body.contains("x-amz-security-token")),
        "the server reflected headers"
    );
    let rendered = format!(
        "{}{}{}",
        to_text(&report),
        report.to_json(),
        to_junit(&report, Level::Should)
    );
    assert!(
        !rendered.contains(secret) && !rendered.contains(token),
        "a secret leaked"
    );
    assert!(rendered.contains("** redacted **"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("redacted: the session token")),
        "the report says what was redacted: {:?}",
        report.notes
    );
    let json = report.to_json();
    assert_eq!(json["rules"].as_array().map(Vec::len), Some(RULES.len()));
    assert!(
        json["violations"][0]["rule"].is_string()
            && json["violations"][0]["reproduction"]["curl"].is_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_the_true_digest_gets_a_verdict_not_a_harness_error() {
    // Its own digests from PutImage, and ImageDigestDoesNotMatchException when told the real
    // one: the harness can no longer name images by digest, but judges all the rest.
    let server = broken_server(Fault {
        wrong_put_digest: true,
        refuse_named_digest: true,
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 5).await;
    assert!(report.fails_at(Level::Must), "{}", to_text(&report));
    let refused = report.findings.iter().any(|f| {
        f.violation.rule.as_str() == "STATE-PUT-DIGEST"
            && f.violation.found == "ImageDigestDoesNotMatchException"
    });
    assert!(refused, "{}", to_text(&report));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("probes that name a digest were not judged")),
        "{:?}",
        report.notes
    );
    // Tag probes are still judged, and pass: the server answers them as ECR does.
    let rules = report.rules();
    let status = |id: &str| {
        rules
            .iter()
            .find(|r| r.rule.as_str() == id)
            .map(|r| r.status)
    };
    assert_eq!(status("ID-BY-TAG"), Some(Status::Pass));
    assert_eq!(status("ID-BY-DIGEST"), Some(Status::NotExercised));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholder_credentials_leave_the_evidence_as_it_was_sent_and_received() {
    // `test` is what every emulator's documentation uses: not a credential, so not redacted
    // (redacting it would turn every `latest` into `la** redacted **`).
    let credentials = Credentials::new("test", "test", Some("test".into()));
    let report = check_reflecting_server(credentials).await;
    let rendered = format!("{}{}", to_text(&report), report.to_json());
    assert!(!rendered.contains("redacted **"), "evidence was rewritten");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.request.contains("\"latest\"")),
        "no request names the tag latest"
    );
    let notes = report.notes.join("\n");
    assert!(
        notes.contains("not redacted: the secret access key is a placeholder")
            && notes.contains("not redacted: the session token is a placeholder"),
        "{notes}"
    );
}

#[test]
fn check_with_no_endpoint_checks_the_embedded_server_and_exits_0() {
    let dir = tempdir();
    let (json, junit) = (dir.join("report.json"), dir.join("junit.xml"));
    let output = binary()
        .args(["check", "--cases", "30", "--seed", "1", "--journal"])
        .arg(dir.join("j.tsv"))
        .arg("--report-json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("72 passed, 0 failed, 0 not exercised"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("a JSON report")).expect("JSON");
    assert_eq!(report["violations"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        report["setup_divergences"].as_array().map(Vec::len),
        Some(0),
        "the reference server diverged from itself during setup: {}",
        report["setup_divergences"]
    );
    assert!(
        std::fs::read_to_string(&junit)
            .expect("JUnit")
            .contains("<testsuite name=\"ecr-contract\" tests=\"72\"")
    );
    assert!(
        !dir.join("j.tsv").exists(),
        "the journal is emptied after cleanup"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_1_for_violations_and_2_when_the_harness_cannot_work() {
    /// Runs the binary off the runtime's threads; its exit code and all it printed.
    async fn status(args: &[&str]) -> (Option<i32>, String) {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let output =
            tokio::task::spawn_blocking(move || binary().args(args).output().expect("runs"))
                .await
                .expect("joins");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    }
    let server = broken_server(Fault {
        mutation: Some("reformat"),
        ..Fault::default()
    })
    .await;
    let journal = tempdir().join("exit.tsv").display().to_string();
    let (code, text) = status(&[
        "check",
        "--endpoint-url",
        &server.uri(),
        "--cases",
        "0",
        "--journal",
        &journal,
    ])
    .await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL MAN-BYTES (must)") && text.contains("curl -sS --aws-sigv4"),
        "{text}"
    );
    let (code, text) = status(&[
        "check",
        "--endpoint-url",
        "https://api.ecr.us-east-1.amazonaws.com",
    ])
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--allow-writes"), "{text}");
    let (code, text) = status(&[
        "check",
        "--endpoint-url",
        "https://api.ecr.us-east-1.amazonaws.com",
        "--allow-writes",
    ])
    .await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("needs credentials: configure them the AWS way"),
        "{text}"
    );
    let (code, text) = status(&["check", "--endpoint-url", "http://127.0.0.1:9"]).await;
    assert_eq!(code, Some(2), "{text}");
    assert_eq!(
        status(&["check", "--fail-on", "sometimes"]).await.0,
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_leaves_journalled_repositories_that_cleanup_removes_and_nothing_else() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let target = signed_target(&server.url(), Duration::from_secs(10));
    // A repository the harness did not create.
    let body =
        serde_json::to_vec(&serde_json::json!({"repositoryName": "someone/else"})).expect("JSON");
    target
        .send(ecr_contract::wire::Operation::CreateRepository, body)
        .await
        .expect("created");
    let dir = tempdir();
    let journal = dir.join("keep.tsv");
    suite(&server.url(), 3, &journal)
        .keep(true)
        .run()
        .await
        .expect("runs");
    let kept = Journal::new(&journal).entries().expect("a journal");
    assert!(!kept.is_empty());
    let names = |s: &ecr_contract::serve::Server| {
        s.endpoint()
            .registry()
            .repositories()
            .map(|r| r.name.to_string())
            .collect::<Vec<_>>()
    };
    assert!(names(&server).len() > 1);
    let output = tokio::task::spawn_blocking(move || {
        binary()
            .args(["cleanup", "--journal"])
            .arg(&journal)
            .output()
            .expect("runs")
    })
    .await
    .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        names(&server),
        ["someone/else"],
        "cleanup removes only what the harness created"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_seconds_bounds_the_whole_run() {
    use ecr_contract::serve::{Config, Fault, always};
    let server = spawn(Config::default()).await.expect("serve starts");
    // Every answer takes 2 s; no single request times out, but the run must stop at 1 s.
    server
        .endpoint()
        .fault_on_any(always(), Fault::Delay(Duration::from_secs(2)));
    let url = server.url();
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        binary()
            .args(["check", "--endpoint-url", &url, "--max-seconds", "1"])
            .output()
            .expect("runs")
    })
    .await
    .expect("the binary ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--max-seconds 1"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5), "{stderr}");
    server.shutdown().await;
}

/// Servers that are correct in every way the spec allows: each of serve's outcome choices
/// (every id answered once or per repetition, tags or none by digest, digests of
/// translations, failures where the spec allows them) passes a whole check, random sequences
/// included, with no violation and no setup divergence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_choice_the_spec_allows_passes_a_whole_check() {
    use ecr_contract::model::{DigestTags, Profile};
    let flipped = Profile {
        digest_tags: DigestTags::Each,
        fail_untranslatable: true,
        digest_of_translation: true,
        reject_invalid_digest: true,
        mismatch_as_not_found: true,
        dedupe_ids: true,
    };
    let first = Profile {
        digest_tags: DigestTags::First,
        ..Profile::default()
    };
    for profile in [flipped, first] {
        let server = spawn(ecr_contract::serve::Config {
            profile: profile.clone(),
            ..reference_config()
        })
        .await
        .expect("serve starts");
        let report = check_url(&server.url(), 60).await;
        assert!(
            report.findings.is_empty() && report.setup_divergences.is_empty(),
            "{profile:?}:\n{}",
            to_text(&report)
        );
        server.shutdown().await;
    }
}

/// The report of a run is the same whether its parts run one at a time or eight at once:
/// findings, counts, notes and the shrunk failing sequence, everything but the run prefix,
/// the time taken and the requests spent (shrinking at eight tries candidates ahead of its
/// path, see `tests/it/shrinking.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_the_same_whatever_the_number_of_jobs() {
    let server = broken_server(Fault {
        mutation: Some("drop_image"),
        wrong_put_digest: true,
        ..Fault::default()
    })
    .await;
    let dir = tempdir();
    let mut reports = Vec::new();
    for jobs in [1, 8] {
        let report = suite(&server.uri(), 20, &dir.join(format!("jobs-{jobs}.tsv")))
            .jobs(jobs)
            .run()
            .await
            .expect("runs");
        let text = serde_json::to_string_pretty(&report)
            .expect("JSON")
            .replace(&report.prefix, "PREFIX");
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        value["seconds"] = serde_json::Value::Null;
        value["spent"] = serde_json::Value::Null;
        reports.push((report, value));
    }
    let (one, eight) = (&reports[0], &reports[1]);
    assert!(one.0.fails_at(Level::Must), "the broken server fails");
    assert!(
        one.0.notes.iter().any(|n| n.contains("shrunk")),
        "a random sequence fails and is shrunk: {:?}",
        one.0.notes
    );
    assert!(
        one.0.findings.len() > 10,
        "{} findings",
        one.0.findings.len()
    );
    assert_eq!(one.1, eight.1, "--jobs 1 and --jobs 8 report alike");
}

/// A server that refuses a push ECR accepts, here only in the random phase (the tag `rc_1`
/// is the generators' alone), is reported as a setup divergence of the random sequences,
/// as a contract case's refused setup call is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_push_refused_in_a_random_sequence_is_a_setup_divergence() {
    let server = broken_server(Fault {
        refuse_put_tag: Some("rc_1"),
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 50).await;
    assert!(
        report
            .setup_divergences
            .iter()
            .any(|d| d.case == "random sequences"
                && d.call == "PutImage"
                && d.found == "InvalidParameterException"
                && d.expected == "success"
                && !d.judged),
        "{}",
        to_text(&report)
    );
}

/// Random sequences that delete a repository and create it again upload its blobs again: a
/// server that requires uploaded blobs, as ECR does, refuses no push that ECR accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_uploaded_again_after_a_repository_is_deleted_and_created_again() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let report = check_url(&server.url(), 200).await;
    assert!(
        report.findings.is_empty() && report.setup_divergences.is_empty(),
        "{}",
        to_text(&report)
    );
    server.shutdown().await;
}

/// The report states every request the run sent, by operation: as many as the server
/// received, AWS JSON operations and registry API requests alike, in every format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_states_every_request_sent_by_operation() {
    let server = broken_server(Fault::default()).await;
    let report = check_url(&server.uri(), 10).await;
    let received = server.received_requests().await.expect("recorded");
    let mut counted = std::collections::BTreeMap::<String, u64>::new();
    for request in &received {
        let operation = request
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .map(str::to_owned);
        let name = operation.unwrap_or_else(|| "registry".to_owned());
        *counted.entry(name).or_default() += 1;
    }
    let mut reported = std::collections::BTreeMap::<String, u64>::new();
    for (operation, n) in &report.spent {
        let name = match operation.starts_with("registry ") {
            true => "registry".to_owned(),
            false => operation.clone(),
        };
        *reported.entry(name).or_default() += n;
    }
    assert_eq!(reported, counted);
    assert!(counted["BatchGetImage"] > 0 && counted["PutImage"] > 0 && counted["registry"] > 0);
    let total: u64 = report.spent.values().sum();
    let line = format!("spent {total} requests: ");
    assert!(to_text(&report).contains(&line), "{}", to_text(&report));
    let json = report.to_json();
    assert_eq!(json["summary"]["requests"], total);
    assert_eq!(json["spent"]["PutImage"], counted["PutImage"]);
    let markdown = ecr_contract::report::to_markdown(&report, None);
    let html = ecr_contract::report::to_html(&report, None);
    assert!(markdown.contains(&line) && html.contains(&line));
    let junit = to_junit(&report, Level::Should);
    assert!(
        junit.contains(&format!(
            "name=\"spent PutImage\" value=\"{}\"",
            counted["PutImage"]
        )),
        "{junit}"
    );
}
