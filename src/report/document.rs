//! What the Markdown and HTML reports show, computed once: a summary per spec section, a row
//! per rule with its first example, and the run's facts. The renderers only lay it out.

use super::{Finding, Report, RuleStatus, Status};

/// The spec sections the rule groups stand for, in catalogue order.
const SECTIONS: [(&str, &str); 7] = [
    ("WIRE-", "Wire protocol (section 1)"),
    ("VAL-", "Request validation (section 2)"),
    ("REPO-", "Repository lookup (section 3)"),
    ("ID-", "Resolving image ids (section 4)"),
    ("MAN-", "Manifests, digests, media types (section 5)"),
    ("STATE-", "State after writes (section 7)"),
    ("ROBUST-", "Server health (sections 1 and 6)"),
];

/// A rule's row.
pub(crate) struct Row<'r> {
    pub rule: RuleStatus,
    /// `pass`, `FAIL`, `known divergence` or `not exercised`.
    pub label: &'static str,
    pub first: Option<&'r Finding>,
}

/// A section's counts.
pub(crate) struct SectionSummary {
    pub title: &'static str,
    pub rules: usize,
    pub passed: usize,
    pub failed: usize,
    pub known: usize,
    pub not_exercised: usize,
}

/// The rows of every rule, in catalogue order.
pub(crate) fn rows(report: &Report) -> Vec<Row<'_>> {
    let known = report
        .ledger
        .as_ref()
        .map(|l| l.known.clone())
        .unwrap_or_default();
    report
        .rules()
        .into_iter()
        .map(|rule| {
            let label = match rule.status {
                Status::Pass => "pass",
                Status::Fail if known.contains(&rule.rule) => "known divergence",
                Status::Fail => "FAIL",
                Status::NotExercised => "not exercised",
            };
            let first = report
                .findings
                .iter()
                .find(|f| f.violation.rule == rule.rule);
            Row { rule, label, first }
        })
        .collect()
}

/// The per-section summary of `rows`.
pub(crate) fn sections(rows: &[Row<'_>]) -> Vec<SectionSummary> {
    SECTIONS
        .iter()
        .map(|(prefix, title)| {
            let mine: Vec<&Row<'_>> = rows
                .iter()
                .filter(|r| r.rule.rule.as_str().starts_with(prefix))
                .collect();
            let count = |label: &str| mine.iter().filter(|r| r.label == label).count();
            SectionSummary {
                title,
                rules: mine.len(),
                passed: count("pass"),
                failed: count("FAIL"),
                known: count("known divergence"),
                not_exercised: count("not exercised"),
            }
        })
        .collect()
}

/// One line on the run: probes, sequences, seed, time, verdict counts.
pub(crate) fn run_line(report: &Report, rows: &[Row<'_>]) -> String {
    let count = |label: &str| rows.iter().filter(|r| r.label == label).count();
    let mut line = format!(
        "{} probes, {} random sequences (seed {}), {:.1} s: {} rules passed, {} failed",
        report.probes,
        report.property_cases,
        report.seed,
        report.seconds,
        count("pass"),
        count("FAIL"),
    );
    if report.ledger.is_some() {
        line.push_str(&format!(
            ", {} known divergences",
            count("known divergence")
        ));
    }
    line.push_str(&format!(", {} not exercised", count("not exercised")));
    line
}

/// Cuts `s` to about `max` characters, saying how long it was.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}
