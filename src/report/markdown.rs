//! The report as Markdown: a per-section summary, a per-rule table with the first example,
//! then each failing rule's first request and answer in full, with its reproduction.

use std::fmt::Write;

use super::document::{rows, run_line, sections, shorten};
use super::{Ledger, Report};

/// The report as a Markdown page. With the run's `ledger`, the page names the server it
/// describes and explains each known divergence.
pub fn to_markdown(report: &Report, ledger: Option<&Ledger>) -> String {
    let rows = rows(report);
    let server = ledger.map_or(report.endpoint.as_str(), |l| l.server.as_str());
    let mut out = String::new();
    let _ = writeln!(out, "# BatchGetImage conformance: {server}\n");
    let _ = writeln!(
        out,
        "Checked by `ecr-contract check` against {} ({}). {}.\n",
        report.endpoint,
        report.region,
        run_line(report, &rows)
    );
    let _ = writeln!(out, "## By section\n");
    let _ = writeln!(
        out,
        "| section | rules | pass | fail | known divergence | not exercised |\n|---|---|---|---|---|---|"
    );
    for s in sections(&rows) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            s.title, s.rules, s.passed, s.failed, s.known, s.not_exercised
        );
    }
    let _ = writeln!(out, "\n## By rule\n");
    let _ = writeln!(
        out,
        "| rule | level | status | count | first example |\n|---|---|---|---|---|"
    );
    for row in &rows {
        let example = row.first.map_or(String::new(), |f| {
            format!(
                "{} — request `{}` → HTTP {} `{}`",
                cell(&f.message),
                cell(&shorten(&f.request, 120)),
                f.response.status,
                cell(&shorten(&f.response.body, 120))
            )
        });
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) | {} | {} | {} | {example} |",
            row.rule.level,
            row.verdict.label(),
            row.rule.count,
            id = row.rule.rule,
            anchor = row.rule.rule.as_str().to_lowercase()
        );
    }
    let _ = writeln!(out, "\n## First example of each broken rule");
    for row in rows.iter().filter(|r| r.first.is_some()) {
        let f = row.first.unwrap_or_else(|| unreachable!("filtered"));
        let _ = writeln!(
            out,
            "\n### {}\n\n{} ({}, {}). Broken {} times; first in {}: {}\n",
            row.rule.rule,
            row.rule.statement,
            row.rule.level,
            row.verdict.label(),
            row.rule.count,
            f.probe,
            f.message
        );
        if let Some(d) = ledger.and_then(|l| l.divergence(row.rule.rule)) {
            let _ = writeln!(
                out,
                "What the server does: {}\n\nWhat ECR does: {}\n",
                d.server, d.ecr
            );
        }
        let _ = writeln!(
            out,
            "Request:\n\n```json\n{}\n```\n",
            shorten(&f.request, 2000)
        );
        let _ = writeln!(
            out,
            "Answer (HTTP {}):\n\n```\n{}\n```\n",
            f.response.status,
            shorten(&f.response.body, 2000)
        );
        let _ = writeln!(
            out,
            "Reproduce:\n\n```sh\n{}\n```",
            shorten(&f.reproduction.curl, 3000)
        );
    }
    if !report.setup_divergences.is_empty() {
        let _ = writeln!(out, "\n## Setup calls answered otherwise than ECR\n");
        for d in &report.setup_divergences {
            let _ = writeln!(out, "- {d}");
        }
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

/// Text safe inside a table cell: no pipes, no line breaks, no backticks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('`', "'")
}
