//! Seeding in waves beside the STATE-PUT-DIGEST probe: the base fixture's pushes wait for
//! the probe's answer, so the report does not depend on which answer comes first.

use std::time::Duration;

use ecr_contract::oracle::Level;
use ecr_contract::serve::{self, Config, always};
use ecr_contract::wire::{Credentials, Operation};
use serde_json::Value;

use crate::support::broken::{Fault, broken_server};
use crate::support::{suite, tempdir};

/// The report of a run against a server that reports digests of its own, its first
/// PutImage answered after `delay`, as JSON without its prefix, the server's URL and the
/// wall time.
async fn report_with_first_put_after(delay: Option<Duration>, journal: &str) -> Value {
    let server = broken_server(Fault {
        wrong_put_digest: true,
        delay_first_put: delay,
        ..Fault::default()
    })
    .await;
    let report = suite(&server.uri(), 3, &tempdir().join(journal))
        .jobs(8)
        .run()
        .await
        .expect("runs");
    let text = serde_json::to_string(&report)
        .expect("JSON")
        .replace(&report.prefix, "PREFIX")
        .replace(&server.uri(), "URL");
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    value["seconds"] = Value::Null;
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_the_same_however_late_the_digest_probes_push_is_answered() {
    let prompt = report_with_first_put_after(None, "prompt.tsv").await;
    // Long enough for the base's creates and uploads to be answered before it.
    let late = report_with_first_put_after(Some(Duration::from_millis(1500)), "late.tsv").await;
    let told = |report: &Value| {
        report["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| {
                n.as_str()
                    .is_some_and(|n| n.contains("every later PutImage names imageDigest"))
            })
            .count()
    };
    assert_eq!(told(&late), 1, "{}", late["notes"]);
    let differing: Vec<&String> = prompt
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, value)| late.get(key.as_str()) != Some(value))
        .map(|(key, _)| key)
        .collect();
    assert!(
        prompt == late,
        "the reports differ in {differing:?}:\nprompt: {}\nlate: {}",
        prompt["notes"],
        late["notes"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_layer_api_is_seeded_with_put_image_alone_and_told_once() {
    // The digest probe and the base fixture each meet InitiateLayerUpload's 500 on their own.
    let server = serve::spawn(Config {
        verify_signatures: Some(Credentials::placeholder()),
        ..Config::default()
    })
    .await
    .expect("the server starts");
    server.endpoint().fault_on(
        Operation::InitiateLayerUpload,
        always(),
        serve::Fault::ServerError,
    );
    let report = suite(&server.url(), 3, &tempdir().join("no-layer-api.tsv"))
        .jobs(8)
        .run()
        .await
        .expect("runs");
    let told: Vec<&String> = report
        .notes
        .iter()
        .filter(|n| n.starts_with("the server has no layer upload API"))
        .collect();
    assert_eq!(told.len(), 1, "{:?}", report.notes);
    assert!(
        report.setup_divergences.is_empty(),
        "{:?}",
        report.setup_divergences
    );
    assert!(!report.fails_at(Level::Should), "{:?}", report.findings);
    // The digest probe's three blobs and the base's seventeen, once each; none after.
    assert_eq!(
        server.endpoint().requests(Operation::InitiateLayerUpload),
        20
    );
    server.shutdown().await;
}
