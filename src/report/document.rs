//! What the Markdown and HTML reports show, computed once: a summary per spec section, a row
//! per rule with its first example, and the run's facts. The renderers only lay it out.

use super::{Finding, Report, RuleStatus, Status};

/// The spec sections the rule groups stand for, in catalogue order.
const SECTIONS: [(&str, &str); 8] = [
    ("WIRE-", "Wire protocol (section 1)"),
    ("VAL-", "Request validation (section 2)"),
    ("REPO-", "Repository lookup (section 3)"),
    ("ID-", "Resolving image ids (section 4)"),
    ("MAN-", "Manifests, digests, media types (section 5)"),
    ("STATE-", "State after writes (section 7)"),
    ("ROBUST-", "Server health (sections 1 and 6)"),
    ("REG-", "The pull path: registry API (registry-api.md)"),
];

/// A rule's verdict: its status, with a failure the ledger lists told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail,
    Known,
    NotExercised,
}

impl Verdict {
    /// How the Markdown and HTML reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Known => "known divergence",
            Verdict::NotExercised => "not exercised",
        }
    }
}

/// A rule's row.
pub(crate) struct Row<'r> {
    pub rule: RuleStatus,
    pub verdict: Verdict,
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
            let verdict = match rule.status {
                Status::Pass => Verdict::Pass,
                Status::Fail if known.contains(&rule.rule) => Verdict::Known,
                Status::Fail => Verdict::Fail,
                Status::NotExercised => Verdict::NotExercised,
            };
            let first = report
                .findings
                .iter()
                .find(|f| f.violation.rule == rule.rule);
            Row {
                rule,
                verdict,
                first,
            }
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
            let count = |v: Verdict| mine.iter().filter(|r| r.verdict == v).count();
            SectionSummary {
                title,
                rules: mine.len(),
                passed: count(Verdict::Pass),
                failed: count(Verdict::Fail),
                known: count(Verdict::Known),
                not_exercised: count(Verdict::NotExercised),
            }
        })
        .collect()
}

/// One line on the run: probes, sequences, seed, time, verdict counts.
pub(crate) fn run_line(report: &Report, rows: &[Row<'_>]) -> String {
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let mut line = format!(
        "{} probes, {} random sequences (seed {}), {:.1} s: {} rules passed, {} failed",
        report.probes,
        report.property_cases,
        report.seed,
        report.seconds,
        count(Verdict::Pass),
        count(Verdict::Fail),
    );
    if report.ledger.is_some() {
        line.push_str(&format!(", {} known divergences", count(Verdict::Known)));
    }
    line.push_str(&format!(", {} not exercised", count(Verdict::NotExercised)));
    line
}

/// Cuts `s` to about `max` characters, saying how long it was.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}
