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
