//! The coverage model (`ecr_contract::oracle::coverage`): the contract cases reach every row
//! and context of the BatchGetImage tables, a default run against `serve` reaches every row
//! and context of both APIs and says so in its report, and servers that break only should
//! rules pass `--fail-on must`.

use std::collections::BTreeSet;

use ecr_contract::model::{Call, batch_get_image_body};
use ecr_contract::oracle::coverage::{
    Coverage, ROWS, Reached, RuleCoverage, all_pairs, exercised_by_calls, exercised_by_request,
};
use ecr_contract::oracle::{Level, RULES};
use ecr_contract::serve::spawn;
use ecr_contract::strategy::cases;
use ecr_contract::wire::{self, BatchGetImageRequest};

use crate::support::broken::{Fault, broken_server, reference_config};
use crate::support::{check_url, fixture_registry};

/// Every (row, context) pair the contract cases reach, run against the model alone: the
/// fixture's pushes, each case's setup calls, and its request.
fn reached_by_the_cases() -> BTreeSet<Reached> {
    let (fixture, start) = fixture_registry();
    let empty = ecr_contract::strategy::build_registry(&[]);
    let mut reached = exercised_by_calls(&empty, &fixture.calls());
    for file in cases::files() {
        for case in &file.cases {
            let mut state = start.clone();
            state.require_blobs = case.require_blobs;
            let calls: Vec<Call> = case
                .setup
                .iter()
                .filter_map(|s| s.to_call(&fixture).ok())
                .collect();
            reached.extend(exercised_by_calls(&state, &calls));
            for call in &calls {
                let _refused = state.apply(call, 1_800_000_000.0).is_err();
            }
            let body = case.body(&fixture, |_| None);
            let request = wire::decode_body::<BatchGetImageRequest>(&body)
                .map(|d| d.value)
                .unwrap_or_default();
            let expected = batch_get_image_body(&state, &body);
            reached.extend(exercised_by_request(&state, &request, &expected));
        }
    }
    reached
}

/// The pairs of `reached` missing among those whose row key starts with one of `prefixes`.
fn missing(reached: &BTreeSet<Reached>, prefixes: &[&str]) -> Vec<String> {
    all_pairs()
        .into_iter()
        .filter(|(key, _)| prefixes.iter().any(|p| key.starts_with(p)))
        .filter(|p| !reached.contains(p))
        .map(|(key, context)| format!("{key} ({context:?})"))
        .collect()
}

/// Losing a case (or a generator change that a case stood in for) that was the only one to
/// reach a row or context of sections 2 to 7 fails here, naming the pair.
#[test]
fn the_contract_cases_reach_every_row_and_context_of_the_batch_get_image_tables() {
    let reached = reached_by_the_cases();
    let missing = missing(&reached, &["2.", "3.", "4.", "5.", "7."]);
    assert!(missing.is_empty(), "not reached by any case: {missing:?}");
}

/// Every row of the model belongs to a rule of the catalogue, and every key is unique.
#[test]
fn every_row_names_a_rule_of_the_catalogue_once() {
    let keys: BTreeSet<&str> = ROWS.iter().map(|r| r.key).collect();
    assert_eq!(keys.len(), ROWS.len());
    for row in ROWS {
        assert!(RULES.iter().any(|r| r.id == row.rule), "{}", row.key);
        assert!(!row.contexts.is_empty(), "{}", row.key);
    }
}

/// A run that reached nothing of a rule's rows reports it "not exercised", never "passed".
#[test]
fn a_rule_whose_rows_were_never_reached_is_not_exercised() {
    use ecr_contract::report::{Report, Status};
    let mut coverage = Coverage::default();
    coverage
        .reached
        .insert(("R1.challenge", ecr_contract::oracle::coverage::Context::Any));
    let report = Report {
        exercised: RULES.iter().map(|r| r.id).collect(),
        reached: coverage.reached,
        ..Report::default()
    };
    let status = |id: &str| {
        report
            .rules()
            .into_iter()
            .find(|r| r.rule.as_str() == id)
            .map(|r| r.status)
    };
    assert_eq!(status("REG-AUTH-CHALLENGE"), Some(Status::Pass));
    assert_eq!(status("REG-TAGS-LIMITS"), Some(Status::NotExercised));
    assert_eq!(status("ID-BY-TAG"), Some(Status::NotExercised));
    // A rule the model has no rows for keeps the status its probes gave it.
    assert_eq!(status("WIRE-STATUS"), Some(Status::Pass));
    let text = ecr_contract::report::to_text(&report);
    assert!(
        text.contains("coverage: REG-TAGS-LIMITS: 0 of 2 rows and contexts exercised"),
        "{text}"
    );
}

/// A default run against `serve` reaches every row and context of both APIs, and every
/// format of its report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_run_against_serve_exercises_every_row_and_context() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let report = check_url(&server.url(), 20).await;
    let coverage = report.coverage();
    let incomplete: Vec<&RuleCoverage> = coverage.iter().filter(|c| c.reached < c.total).collect();
    assert!(incomplete.is_empty(), "{incomplete:#?}");
    assert!(!coverage.is_empty());
    let json = report.to_json();
    assert!(json["coverage"].as_array().is_some_and(|c| !c.is_empty()));
    let junit = ecr_contract::report::to_junit(&report, Level::Should);
    assert!(junit.contains("rows and contexts exercised"), "{junit}");
    server.shutdown().await;
}

/// Registry APIs that break only a should rule: reported under it, and `--fail-on must`
/// passes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_breaking_only_should_rules_pass_fail_on_must() {
    for (mutation, rule) in [
        ("blob_head_without_digest", "REG-BLOB-HEAD"),
        ("ignore_n", "REG-TAGS-LIMITS"),
    ] {
        let server = broken_server(Fault {
            registry: Some(mutation),
            ..Fault::default()
        })
        .await;
        let report = check_url(&server.uri(), 0).await;
        let rules: BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.violation.rule.as_str())
            .collect();
        assert!(rules.contains(rule), "{mutation}: {rules:?}");
        assert!(report.fails_at(Level::Should), "{mutation}");
        assert!(!report.fails_at(Level::Must), "{mutation}: {rules:?}");
    }
}

/// How a [`Rewriting`] server deviates: its BatchGetImage answer, given the request body (and
/// the state, for the one that needs it).
type Rewrite = fn(&serde_json::Value, &mut serde_json::Value, &mut u16);

/// As [`Rewrite`], with the state the answer was given from.
type RewriteWithState =
    fn(&ecr_contract::model::Registry, &serde_json::Value, &mut serde_json::Value);

/// The reference endpoint behind wiremock, with its BatchGetImage answers rewritten: a server
/// deviating in one of the ways the harness once missed.
struct Rewriting {
    endpoint: ecr_contract::serve::Endpoint,
    rewrite: Rewrite,
    with_state: Option<RewriteWithState>,
}

impl wiremock::Respond for Rewriting {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let uri = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let method = request.method.as_str();
        let reply = self
            .endpoint
            .handle(method, &uri, &request.headers, &request.body);
        let target = request
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let (mut status, mut body) = (reply.status, reply.body);
        if target.ends_with(".BatchGetImage")
            && let (Ok(asked), Ok(mut answer)) = (
                serde_json::from_slice::<serde_json::Value>(&request.body),
                serde_json::from_slice::<serde_json::Value>(&body),
            )
        {
            (self.rewrite)(&asked, &mut answer, &mut status);
            if let Some(rewrite) = self.with_state {
                rewrite(&self.endpoint.registry(), &asked, &mut answer);
            }
            body = serde_json::to_vec(&answer).expect("JSON");
        }
        let mut template = wiremock::ResponseTemplate::new(status);
        let mut content_type = String::new();
        for (name, value) in &reply.headers {
            match *name {
                "content-type" => content_type.clone_from(value),
                // HEAD answers keep their length; everything else gets the body's.
                "content-length" if method != "HEAD" => {}
                _ => template = template.insert_header(*name, value.as_str()),
            }
        }
        template.set_body_raw(body, &content_type)
    }
}

async fn rewriting_server(
    rewrite: Rewrite,
    with_state: Option<RewriteWithState>,
) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    let responder = Rewriting {
        endpoint: reference_config().endpoint(),
        rewrite,
        with_state,
    };
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

/// Whether a BatchGetImage request names a tag or digest with a non-ASCII character.
fn sends_non_ascii(asked: &serde_json::Value) -> bool {
    asked["imageIds"].as_array().is_some_and(|ids| {
        ids.iter().any(|id| {
            ["imageTag", "imageDigest"]
                .iter()
                .any(|m| id[m].as_str().is_some_and(|s| !s.is_ascii()))
        })
    })
}

/// A server that answers a tag or digest with non-ASCII characters with a 500.
fn fails_on_non_ascii(asked: &serde_json::Value, answer: &mut serde_json::Value, status: &mut u16) {
    if sends_non_ascii(asked) {
        *status = 500;
        *answer = serde_json::json!({"__type": "ServerException", "message": "boom"});
    }
}

/// A server that answers a tag/digest disagreement with a wrong (but modelled) failure code.
fn wrong_mismatch_code(_: &serde_json::Value, answer: &mut serde_json::Value, _: &mut u16) {
    for failure in answer["failures"].as_array_mut().into_iter().flatten() {
        if failure["failureCode"] == "ImageTagDoesNotMatchDigest" {
            failure["failureCode"] = "MissingDigestAndTag".into();
        }
    }
}

/// A server whose translations keep the stored manifest's own `mediaType`.
fn translation_keeps_inner_media_type(
    _: &serde_json::Value,
    answer: &mut serde_json::Value,
    _: &mut u16,
) {
    use ecr_contract::model::manifest::{OCI, S2};
    for image in answer["images"].as_array_mut().into_iter().flatten() {
        let Some(text) = image["imageManifest"].as_str() else {
            continue;
        };
        let Ok(mut manifest) = serde_json::from_str::<serde_json::Value>(text) else {
            continue;
        };
        let swapped = match (
            image["imageManifestMediaType"].as_str(),
            manifest["mediaType"].as_str(),
        ) {
            (Some(OCI), Some(OCI)) => S2,
            (Some(S2), Some(S2)) => OCI,
            _ => continue,
        };
        // Only translations: an untranslated manifest keeps its bytes.
        let stored_digest = image["imageId"]["imageDigest"].as_str().unwrap_or_default();
        if ecr_contract::model::ImageDigest::of(text.as_bytes()).to_string() == stored_digest {
            continue;
        }
        manifest["mediaType"] = swapped.into();
        image["imageManifest"] = serde_json::to_string_pretty(&manifest)
            .expect("JSON")
            .into();
    }
}

/// Each class of deviation the harness once missed, as a server: caught under its own rule,
/// and, where that rule is a should, passed by `--fail-on must`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_class_of_deviation_is_caught_under_its_own_rule_at_its_own_level() {
    let servers: [(&str, Rewrite, &str); 3] = [
        (
            "a 5xx for non-ASCII input",
            fails_on_non_ascii,
            "ROBUST-NO-5XX",
        ),
        (
            "a wrong code on a disagreement",
            wrong_mismatch_code,
            "ID-MISMATCH-CODE",
        ),
        (
            "a translation keeping its inner mediaType",
            translation_keeps_inner_media_type,
            "MAN-TRANSLATION",
        ),
    ];
    let mut problems = Vec::new();
    for (what, rewrite, rule) in servers {
        let server = rewriting_server(rewrite, None).await;
        let report = check_url(&server.uri(), 20).await;
        let rules: BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.violation.rule.as_str())
            .collect();
        let level = ecr_contract::oracle::RuleId::parse(rule)
            .expect("a rule")
            .level();
        if !rules.contains(rule) {
            problems.push(format!("{what}: not reported under {rule}: {rules:?}"));
        }
        if level != Level::Must && report.fails_at(Level::Must) {
            problems.push(format!("{what}: fails at must: {rules:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The random phase's generator reaches the input classes and transitions the contract cases
/// alone would leave to chance: non-ASCII tags and digests, and every transition of section
/// 7 (a generator change that loses one fails here). Deterministic: a fixed seed.
#[test]
fn the_generators_reach_non_ascii_input_and_every_transition() {
    use ecr_contract::model::batch_get_image;
    use ecr_contract::oracle::coverage::Context;
    use ecr_contract::strategy::{arb_scenario, build_registry};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut reached = BTreeSet::new();
    for _ in 0..500 {
        let scenario = arb_scenario()
            .new_tree(&mut runner)
            .expect("a scenario")
            .current();
        reached.extend(exercised_by_calls(&build_registry(&[]), &scenario.calls));
        let state = scenario.registry();
        let expected = batch_get_image(&state, &scenario.request);
        reached.extend(exercised_by_request(&state, &scenario.request, &expected));
    }
    let mut missing = missing(&reached, &["7."]);
    for pair in [
        ("4.unusual-tag", Context::NonAscii),
        ("4.invalid-digest", Context::NonAscii),
    ] {
        if !reached.contains(&pair) {
            missing.push(format!("{} ({:?})", pair.0, pair.1));
        }
    }
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

/// A server that, like an emulator seen in the field, lets the digest win when tag and digest
/// disagree and echoes another tag of that image: the failure becomes the digest's image.
fn digest_wins_under_another_tag(
    state: &ecr_contract::model::Registry,
    asked: &serde_json::Value,
    answer: &mut serde_json::Value,
) {
    let name = asked["repositoryName"].as_str().unwrap_or_default();
    let Some(repository) = state.repository(state.account.as_str(), name) else {
        return;
    };
    let Some(failures) = answer["failures"].as_array().cloned() else {
        return;
    };
    let mut kept = Vec::new();
    for failure in failures {
        let digest = failure["imageId"]["imageDigest"]
            .as_str()
            .unwrap_or_default();
        let image = repository.images.iter().find(|(d, _)| d.as_str() == digest);
        match (failure["failureCode"].as_str(), image) {
            (Some("ImageTagDoesNotMatchDigest"), Some((_, image))) => {
                let tag = image.tags.iter().next().map_or("other", |t| t.as_str());
                let entry = serde_json::json!({
                    "registryId": state.account.as_str(),
                    "repositoryName": name,
                    "imageId": {"imageDigest": digest, "imageTag": tag},
                    "imageManifest": image.manifest.bytes,
                    "imageManifestMediaType": image.manifest.media_type.as_str(),
                });
                if let Some(images) = answer["images"].as_array_mut() {
                    images.push(entry);
                }
            }
            _ => kept.push(failure),
        }
    }
    answer["failures"] = kept.into();
}

/// One deviation does not hide another: the emulator's entry carries the requested digest,
/// so the disagreeing id is judged for what it breaks, ID-TAG-AND-DIGEST (must) included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_winning_over_a_disagreeing_tag_is_caught_under_id_tag_and_digest() {
    fn unchanged(_: &serde_json::Value, _: &mut serde_json::Value, _: &mut u16) {}
    let server = rewriting_server(unchanged, Some(digest_wins_under_another_tag)).await;
    let report = check_url(&server.uri(), 20).await;
    let rules: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.violation.rule.as_str())
        .collect();
    assert!(rules.contains("ID-TAG-AND-DIGEST"), "{rules:?}");
    assert!(rules.contains("ID-MISMATCH-CODE"), "{rules:?}");
}

/// A server that refuses every BatchDeleteImage keeps the re-push after a delete from being
/// reached: the report names them as made unreachable by those cases, not merely missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_servers_deviation_made_unreachable_are_named_with_their_case() {
    let server = broken_server(Fault {
        refuse_operation: Some("BatchDeleteImage"),
        ..Fault::default()
    })
    .await;
    let report = check_url(&server.uri(), 0).await;
    let case = "image_pushed_again_after_its_delete_comes_back_with_only_the_new_tag";
    assert!(
        report
            .setup_divergences
            .iter()
            .any(|d| d.case == case && !d.judged),
        "{:#?}",
        report.setup_divergences
    );
    let unreachable: Vec<(String, String)> = report
        .coverage()
        .into_iter()
        .flat_map(|c| c.unreachable)
        .collect();
    assert!(
        unreachable
            .iter()
            .any(|(_, probe)| probe == &format!("case {case}")),
        "{unreachable:?}"
    );
    let lines = report.coverage_lines().join("\n");
    assert!(
        lines.contains("made unreachable by the server's deviations"),
        "{lines}"
    );
    // Against serve, nothing is unreachable.
    let serve = spawn(reference_config()).await.expect("serve starts");
    let clean = check_url(&serve.url(), 0).await;
    assert!(clean.coverage().iter().all(|c| c.unreachable.is_empty()));
    serve.shutdown().await;
}
