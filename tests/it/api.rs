//! The library API as users call it from their own tests, through the public API only: the
//! suite and its assertions for server authors; registries in code, the in-process server, the
//! wiremock responder and faults for client authors; the exported strategies.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use ecr_contract::check::CheckError;
use ecr_contract::model::{BuildError, Call, Registry, batch_get_image};
use ecr_contract::oracle::{Observed, RuleId, check};
use ecr_contract::serve::{Config, Endpoint, Fault, Responder, Server, every, first, nth, spawn};
use ecr_contract::strategy::manifests::{ContentBlob, Layout, oci, schema2};
use ecr_contract::strategy::{arb_answer, arb_batch_get_image_request, arb_registry, fixture};
use ecr_contract::wire::{self, BatchGetImageRequest, ImageIdentifier, Operation};
use ecr_contract::{Report, Suite};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

use crate::support::signed_target;

/// The panic message of `f`, if it panics.
fn panic_message(f: impl FnOnce()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(f)).err()?;
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
}

// ---- server authors ------------------------------------------------------------------------

/// Plain `#[tokio::test]` is a current-thread runtime: the suite runs on one of its own.
#[tokio::test]
async fn the_suite_passes_a_conforming_server_on_a_current_thread_runtime() {
    let server = spawn(Config::default()).await.expect("serve starts");
    let report = Suite::new(server.url())
        .cases(10)
        .seed(3)
        .run()
        .await
        .expect("the suite runs");
    report.assert_conforms();
    assert!(report.probes > 50, "{} probes", report.probes);
    assert_eq!(report.seed, 3);
    assert!(
        server.endpoint().registry().repositories().next().is_none(),
        "the suite deletes what it created"
    );
    server.shutdown().await;
}

/// A server whose first BatchGetImage answer is an HTTP 500, checked without random sequences:
/// the first contract case (an ID-ACCOUNTING case) gets the 500.
async fn report_of_a_server_failing_one_read() -> Report {
    let server = spawn(Config::default()).await.expect("serve starts");
    server
        .endpoint()
        .fault_on(Operation::BatchGetImage, nth(1), Fault::ServerError);
    let report = Suite::new(server.url())
        .cases(0)
        .seed(11)
        .run()
        .await
        .expect("the suite runs");
    server.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_server_fails_the_assertion_with_the_readable_report() {
    let report = report_of_a_server_failing_one_read().await;
    let message = panic_message(|| report.assert_conforms()).expect("the assertion fails");
    let verdict = message.lines().next().unwrap_or_default();
    assert!(
        verdict.ends_with("does not conform: 2 rules broken (ID-ACCOUNTING, ROBUST-NO-5XX)"),
        "{message}"
    );
    assert!(
        message.contains("FAIL ROBUST-NO-5XX (must) x1"),
        "{message}"
    );
    assert!(message.contains("curl -sS --aws-sigv4"), "{message}");
    assert!(message.contains("Suite::seed(11)"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_divergences_are_ignored_and_fail_once_they_are_gone() {
    let report = report_of_a_server_failing_one_read().await;
    report.assert_conforms_except(&[RuleId::IdAccounting, RuleId::RobustNo5xx]);
    let message = panic_message(|| report.assert_conforms_except(&[RuleId::RobustNo5xx]))
        .expect("ID-ACCOUNTING still fails");
    assert!(
        message.contains("does not conform: 1 rule broken (ID-ACCOUNTING)"),
        "{message}"
    );
    // WIRE-CONTENT-TYPE passed: listing it as a known divergence is a rotten entry.
    let rotten = [
        RuleId::IdAccounting,
        RuleId::RobustNo5xx,
        RuleId::WireContentType,
    ];
    let message = panic_message(|| report.assert_conforms_except(&rotten)).expect("a stale entry");
    assert!(
        message.starts_with("known divergences that no longer diverge")
            && message
                .lines()
                .next()
                .unwrap_or_default()
                .ends_with("WIRE-CONTENT-TYPE"),
        "{message}"
    );
    assert_eq!(report.nonconformance(&rotten[..2]), None);
}

#[tokio::test]
async fn the_suite_refuses_remote_endpoints_without_leave_and_keeps_when_asked() {
    let refused = Suite::new("https://api.ecr.us-east-1.amazonaws.com")
        .run()
        .await
        .expect_err("no writes off this machine without leave");
    assert!(matches!(refused, CheckError::Refused(_)), "{refused}");
    assert!(refused.to_string().contains("allow_writes"), "{refused}");
    let no_credentials = Suite::new("https://api.ecr.us-east-1.amazonaws.com")
        .allow_writes(true)
        .run()
        .await
        .expect_err("no placeholder credentials off this machine");
    assert!(no_credentials.to_string().contains("credentials"));

    let server = spawn(Config::default()).await.expect("serve starts");
    let journal = std::env::temp_dir().join(format!("ecr-api-keep-{}.tsv", std::process::id()));
    let report = Suite::new(server.url())
        .cases(0)
        .keep(true)
        .journal(&journal)
        .run()
        .await
        .expect("the suite runs");
    let kept = std::fs::read_to_string(&journal).expect("the journal stays");
    let _ = std::fs::remove_file(&journal);
    let held = server.endpoint().registry().repositories().count();
    assert!(
        held > 0 && kept.lines().count() >= held,
        "{held} held, {kept}"
    );
    assert!(kept.contains(&report.prefix));
    server.shutdown().await;
}

// ---- client authors: a registry in code ----------------------------------------------------

fn two_images() -> (String, String) {
    let config = ContentBlob::from_seed("api-config");
    let layer = ContentBlob::from_seed("api-layer");
    (
        schema2(&config, std::slice::from_ref(&layer), Layout::Docker),
        oci(&config, &[layer], Layout::Compact),
    )
}

#[test]
fn the_builder_builds_through_the_models_transitions() {
    let (docker, oci) = two_images();
    let precise = fixture();
    let precise = precise
        .image("precise")
        .expect("the fixture's schema 1 image");
    let registry = Registry::builder()
        .account("210987654321")
        .repository("team/app")
        .image(docker.as_str())
        .tag("v1")
        .tag("latest")
        .image(oci.as_str())
        .immutable_repository("ubuntu")
        .image(precise)
        .tag("precise")
        .build()
        .expect("the model accepts these calls");
    let app = registry
        .repository("210987654321", "team/app")
        .expect("team/app");
    assert_eq!((app.images.len(), app.tags.len()), (2, 2), "one untagged");
    let ubuntu = registry
        .repository("210987654321", "ubuntu")
        .expect("ubuntu");
    assert!(ubuntu.image_by_tag("precise").is_some());

    let refused = Registry::builder()
        .immutable_repository("locked")
        .image(docker.as_str())
        .tag("v1")
        .image(oci.as_str())
        .tag("v1")
        .build()
        .expect_err("an immutable tag does not move");
    assert!(
        matches!(&refused, BuildError::Refused { index: 2, operation: "PutImage", error } if error.code == "ImageTagAlreadyExistsException"),
        "{refused:?}"
    );
    // Any other transition goes in as a call; `calls` lists what a server must accept.
    let untag = Call::BatchDeleteImage(wire::BatchDeleteImageRequest {
        repository_name: Some("team/app".into()),
        image_ids: Some(vec![ImageIdentifier::tag("v1")]),
        ..Default::default()
    });
    let builder = Registry::builder()
        .repository("team/app")
        .image(docker.as_str())
        .tag("v1")
        .image(oci.as_str())
        .call(untag);
    let ops: Vec<&str> = builder
        .calls()
        .iter()
        .map(|c| c.operation().name())
        .collect();
    assert_eq!(
        ops,
        [
            "CreateRepository",
            "PutImage",
            "PutImage",
            "BatchDeleteImage"
        ]
    );
    let registry = builder.build().expect("a registry");
    let app = registry
        .repository("123456789012", "team/app")
        .expect("app");
    assert_eq!((app.images.len(), app.tags.len()), (1, 0), "v1 deleted");
    let misuse = Registry::builder().image(docker.as_str()).build();
    assert!(matches!(misuse, Err(BuildError::Order(_))), "{misuse:?}");
}

fn request(tag: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"repositoryName": "team/app", "imageIds": [{"imageTag": tag}]}))
        .expect("JSON")
}

/// A registry with `team/app:v1`, and the manifest `v1` points at.
fn registry() -> (Registry, String) {
    let (docker, _) = two_images();
    let registry = Registry::builder()
        .repository("team/app")
        .image(docker.as_str())
        .tag("v1")
        .build()
        .expect("a registry");
    (registry, docker)
}

/// Both forms of the mocked ECR over the same registry: the in-process server and a wiremock
/// `MockServer`, with a handle on each one's endpoint for faults.
struct Mocked {
    server: Server,
    mock: MockServer,
    responder: Responder,
}

impl Mocked {
    async fn start(registry: Registry) -> Self {
        let server = spawn(Config::with_registry(registry.clone()))
            .await
            .expect("serve starts");
        let mock = MockServer::start().await;
        let responder = Responder::from_registry(registry);
        Mock::given(method("POST"))
            .respond_with(responder.clone())
            .mount(&mock)
            .await;
        Self {
            server,
            mock,
            responder,
        }
    }

    /// Each form's URL and endpoint.
    fn forms(&self) -> [(String, &Endpoint); 2] {
        [
            (self.server.url(), self.server.endpoint()),
            (self.mock.uri(), self.responder.endpoint()),
        ]
    }
}

#[tokio::test]
async fn both_forms_answer_batch_get_image_from_the_registry() {
    let (registry, manifest) = registry();
    let mocked = Mocked::start(registry).await;
    for (url, _) in mocked.forms() {
        let exchange = signed_target(&url, Duration::from_secs(5))
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect("an answer");
        let body: Value = serde_json::from_slice(&exchange.body).expect("JSON");
        assert_eq!(exchange.status, 200, "{url}: {body}");
        assert_eq!(
            body["images"][0]["imageManifest"],
            manifest.as_str(),
            "{url}"
        );
        // The setup operations work too: a push, then a read of it.
        let put =
            json!({"repositoryName": "team/app", "imageManifest": manifest, "imageTag": "v2"});
        let pushed = signed_target(&url, Duration::from_secs(5))
            .send(Operation::PutImage, serde_json::to_vec(&put).expect("JSON"))
            .await
            .expect("an answer");
        assert_eq!(pushed.status, 200, "{url}");
        let read = signed_target(&url, Duration::from_secs(5))
            .send(Operation::BatchGetImage, request("v2"))
            .await
            .expect("an answer");
        let body: Value = serde_json::from_slice(&read.body).expect("JSON");
        assert_eq!(body["images"][0]["imageId"]["imageTag"], "v2", "{url}");
    }
}

// ---- client authors: faults ----------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_by_a_retrying_client() {
    let (registry, _) = registry();
    let mocked = Mocked::start(registry).await;
    for (url, endpoint) in mocked.forms() {
        endpoint.fault_on(Operation::BatchGetImage, first(2), Fault::Throttle);
        let exchange = signed_target(&url, Duration::from_secs(5))
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect("an answer");
        assert_eq!((exchange.status, exchange.retries), (200, 2), "{url}");
        assert_eq!(endpoint.requests(Operation::BatchGetImage), 3, "{url}");
    }
}

#[tokio::test]
async fn server_errors_hit_the_chosen_request_only() {
    let (registry, _) = registry();
    let mocked = Mocked::start(registry).await;
    for (url, endpoint) in mocked.forms() {
        endpoint.fault_on(Operation::BatchGetImage, nth(2), Fault::ServerError);
        let http = reqwest::Client::new();
        let mut answers = Vec::new();
        for _ in 0..3 {
            let response = http
                .post(&url)
                .header("content-type", wire::CONTENT_TYPE)
                .header("x-amz-target", Operation::BatchGetImage.target())
                .body(request("v1"))
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let bytes = response.bytes().await.expect("a body");
            let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
            answers.push((status, body["__type"].as_str().map(str::to_owned)));
        }
        let server_exception = Some("ServerException".to_owned());
        assert_eq!(
            answers,
            [(200, None), (500, server_exception), (200, None)],
            "{url}"
        );
    }
}

#[tokio::test]
async fn slow_answers_trip_client_timeouts() {
    let (registry, _) = registry();
    let mocked = Mocked::start(registry).await;
    for (url, endpoint) in mocked.forms() {
        endpoint.fault_on(
            Operation::BatchGetImage,
            nth(1),
            Fault::Delay(Duration::from_secs(3)),
        );
        let started = Instant::now();
        let error = signed_target(&url, Duration::from_millis(300))
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect_err("the client times out");
        assert!(started.elapsed() < Duration::from_secs(2), "{url}: {error}");
        endpoint.fault_on(
            Operation::BatchGetImage,
            nth(1),
            Fault::Delay(Duration::from_millis(400)),
        );
        let started = Instant::now();
        let exchange = signed_target(&url, Duration::from_secs(5))
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect("a slow answer");
        assert_eq!(exchange.status, 200, "{url}");
        assert!(started.elapsed() >= Duration::from_millis(400), "{url}");
    }
}

#[tokio::test]
async fn truncated_bodies_keep_the_status_and_break_the_json() {
    let (registry, _) = registry();
    let mocked = Mocked::start(registry).await;
    for (url, endpoint) in mocked.forms() {
        let target = signed_target(&url, Duration::from_secs(5));
        let whole = target
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect("an answer");
        endpoint.fault_on(Operation::BatchGetImage, every(2), Fault::Truncate);
        let first_after = target.send(Operation::BatchGetImage, request("v1")).await;
        let cut = target
            .send(Operation::BatchGetImage, request("v1"))
            .await
            .expect("an answer");
        assert_eq!(first_after.expect("whole").body, whole.body, "{url}");
        assert_eq!(cut.status, 200, "{url}");
        assert_eq!(cut.body.len(), whole.body.len() / 2, "{url}");
        assert!(whole.body.starts_with(&cut.body), "{url}");
        assert!(serde_json::from_slice::<Value>(&cut.body).is_err(), "{url}");
        let parsed = wire::parse_response::<wire::BatchGetImageResponse>(
            cut.status,
            &cut.headers,
            &cut.body,
        );
        assert!(parsed.is_err(), "{url}: the decoder refuses a cut body");
        endpoint.clear_faults();
    }
}

// ---- property tests with the exported strategies -------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// An answer from `arb_answer`, sent as `to_http` sends it, passes the oracle: it is one a
    /// conforming server may give.
    #[test]
    fn generated_answers_are_acceptable_answers(answered in arb_answer()) {
        let (status, body) = answered.to_http();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static(wire::CONTENT_TYPE));
        let observed = Observed::from_http(status, &headers, &body);
        prop_assert_eq!(check(&answered.expected, &observed), vec![]);
    }

    /// Every tag of a generated registry points at an image of its repository.
    #[test]
    fn generated_registries_hold_their_tags(registry in arb_registry()) {
        for repository in registry.repositories() {
            for digest in repository.tags.values() {
                prop_assert!(repository.images.contains_key(digest));
            }
        }
    }

    /// A generated request survives the wire, and the model answers it against any generated
    /// registry with a 200, an error, or either.
    #[test]
    fn generated_requests_round_trip_and_get_an_answer(
        request in arb_batch_get_image_request(),
        registry in arb_registry(),
    ) {
        let bytes = serde_json::to_vec(&request).expect("JSON");
        let decoded = wire::decode_body::<BatchGetImageRequest>(&bytes).expect("decodes");
        prop_assert_eq!(&decoded.value, &request);
        let expected = batch_get_image(&registry, &request);
        prop_assert!(expected.success.is_some() || expected.error.is_some());
    }
}
