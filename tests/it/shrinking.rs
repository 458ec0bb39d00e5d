//! Shrinking a failing random sequence: the sequence, the reason and the cap reported are
//! those of proptest's loop run one candidate at a time, however many candidates are tried
//! at once (`--jobs`); only the requests spent grow with the candidates run ahead.

use ecr_contract::report::Report;
use ecr_contract::wire::Operation;

use crate::support::broken::{Fault, broken_server};
use crate::support::{suite, tempdir};

/// The reports of a run of 20 sequences against a server whose BatchGetImage answers have
/// `mutation`, at `--jobs` 1 and 8, shrinking at most `cap` candidates (`None`: the default).
async fn at_one_job_and_eight(mutation: &'static str, cap: Option<usize>) -> [Report; 2] {
    let server = broken_server(Fault {
        mutation: Some(mutation),
        ..Fault::default()
    })
    .await;
    let dir = tempdir();
    let mut reports = Vec::new();
    for jobs in [1, 8] {
        let journal = dir.join(format!("shrink-{mutation}-{jobs}.tsv"));
        let mut suite = suite(&server.uri(), 20, &journal).jobs(jobs);
        if let Some(cap) = cap {
            suite = suite.shrink_runs(cap);
        }
        let report = suite.run().await.expect("runs");
        reports.push(report);
    }
    reports.try_into().expect("two reports")
}

/// The note naming the shrunk sequence and why it fails.
fn shrunk(report: &Report) -> &str {
    report
        .notes
        .iter()
        .find(|n| n.starts_with("random phase: a failing sequence, shrunk to"))
        .expect("a shrunk sequence")
}

/// The report's findings and notes as JSON, the run's prefix taken out.
fn judged(report: &Report) -> String {
    serde_json::to_string(&(&report.findings, &report.notes))
        .expect("JSON")
        .replace(&report.prefix, "PREFIX")
}

/// The scope number of the shrunk sequence's replay: the 20 sequences, then one per
/// candidate on the loop's path, then the replay.
fn replay_number(report: &Report) -> usize {
    let probe = report
        .findings
        .iter()
        .map(|f| f.probe.as_str())
        .find_map(|p| p.strip_prefix("random sequence p"))
        .expect("the replay's findings");
    probe
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a scope number")
}

fn batch_get_images(report: &Report) -> u64 {
    report.spent[Operation::BatchGetImage.name()]
}

/// Re-serialised manifests (a shrinking that ends before its cap): the same sequence and
/// reason at `--jobs 1` and `--jobs 8`, the same findings and notes, while at 8 candidates
/// ran ahead of the loop's path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shrunk_sequence_and_its_reason_are_the_same_at_one_job_and_at_eight() {
    let [one, eight] = at_one_job_and_eight("reformat", None).await;
    assert!(!one.shrinking_capped, "{}", shrunk(&one));
    assert_eq!(shrunk(&one), shrunk(&eight));
    assert_eq!(judged(&one), judged(&eight));
    assert_eq!(replay_number(&one), replay_number(&eight));
    assert!(
        batch_get_images(&eight) > batch_get_images(&one),
        "candidates were tried ahead at --jobs 8: {} BatchGetImage requests, {} at --jobs 1",
        batch_get_images(&eight),
        batch_get_images(&one)
    );
}

/// A dropped image, shrinking capped at 5 candidates: the cap stops it at the same candidate
/// of the loop's path at `--jobs 1` and `--jobs 8`, though more candidates ran at 8, and the
/// report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_of_candidate_runs_counts_the_loops_path_and_is_reported() {
    let [one, eight] = at_one_job_and_eight("drop_image", Some(5)).await;
    for report in [&one, &eight] {
        assert!(report.shrinking_capped, "{}", shrunk(report));
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.starts_with("shrinking stopped at its cap of 5 candidate runs")),
            "{:?}",
            report.notes
        );
        assert_eq!(replay_number(report), 20 + 5 + 1);
    }
    assert_eq!(judged(&one), judged(&eight));
    assert!(batch_get_images(&eight) > batch_get_images(&one));
}
