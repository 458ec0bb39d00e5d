//! Contract cases sharing a scope: a case run after others in a scope the plan shares shows
//! the verdict it shows in a scope of its own, against conforming and broken servers alike.

use std::collections::BTreeSet;

use ecr_contract::report::{Report, to_text};
use ecr_contract::serve::spawn;

use crate::support::broken::{Fault, broken_server, reference_config};
use crate::support::{suite, tempdir};

/// What a run says of its contract cases: each case's findings (probe and rule), each case's
/// setup divergences, and every rule's status.
fn verdicts(report: &Report) -> (BTreeSet<String>, BTreeSet<String>, Vec<String>) {
    let findings = report
        .findings
        .iter()
        .filter(|f| f.probe.starts_with("case "))
        .map(|f| format!("{}: {}", f.probe, f.violation.rule))
        .collect();
    // A scope's seeding is named by its scope, which sharing changes; a case's by the case.
    let divergences = report
        .setup_divergences
        .iter()
        .filter(|d| !d.case.starts_with("fixture (c"))
        .map(|d| format!("{d:?}"))
        .collect();
    let rules = report
        .rules()
        .iter()
        .map(|r| format!("{} {:?} {}", r.rule, r.status, r.count))
        .collect();
    (findings, divergences, rules)
}

/// The run against `url` with shared scopes and without, no random sequences.
async fn both(url: &str) -> (Report, Report) {
    let dir = tempdir();
    let shared = suite(url, 0, &dir.join("shared.tsv"))
        .run()
        .await
        .expect("the shared run");
    let alone = suite(url, 0, &dir.join("alone.tsv"))
        .shared_scopes(false)
        .run()
        .await
        .expect("the run without sharing");
    (shared, alone)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_in_a_shared_scope_has_the_verdict_it_has_alone() {
    let server = spawn(reference_config()).await.expect("serve starts");
    let (shared, alone) = both(&server.url()).await;
    assert_eq!(verdicts(&shared), verdicts(&alone), "{}", to_text(&shared));
    assert!(shared.findings.is_empty(), "{}", to_text(&shared));
    // Sharing is what makes the difference in what a run spends.
    let pushes = |r: &Report| r.spent.get("PutImage").copied().unwrap_or(0);
    assert!(
        pushes(&shared) < pushes(&alone),
        "{} pushes shared, {} alone",
        pushes(&shared),
        pushes(&alone)
    );
    server.shutdown().await;
    // Servers broken on the rows the shared cases probe (state after pushes, re-tags and
    // deletes), one refusing the setup calls of some of them, and one broken everywhere.
    let faults = [
        ("digest:s2b", None),
        ("stored:s2", None),
        ("image_for_failure:s2b", None),
        ("html", None),
        ("", Some("BatchDeleteImage")),
        ("", Some("PutImage")),
    ];
    let mut differ = Vec::new();
    for (mutation, refused) in faults {
        let server = broken_server(Fault {
            mutation: (!mutation.is_empty()).then_some(mutation),
            refuse_operation: refused,
            ..Fault::default()
        })
        .await;
        let (shared, alone) = both(&server.uri()).await;
        if verdicts(&shared) != verdicts(&alone) {
            differ.push(format!(
                "{mutation} {refused:?}:\nshared: {:#?}\nalone: {:#?}",
                verdicts(&shared),
                verdicts(&alone)
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}
