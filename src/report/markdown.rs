//! The report as Markdown: a per-section summary, a per-rule table with the first example,
//! then each failing rule's first request and answer in full, with its reproduction.

use std::fmt::Write;

use super::document::{Row, rows, run_line, sections, shorten};
use super::{Finding, Ledger, Report};

/// The report as a Markdown page. With the run's `ledger`, the page names the server it
/// describes and explains each known divergence.
pub fn to_markdown(report: &Report, ledger: Option<&Ledger>) -> String {
    let rows = rows(report);
    let server = ledger.map_or(report.endpoint.as_str(), |l| l.server.as_str());
    let mut out = String::new();
    let _ = writeln!(out, "# BatchGetImage conformance: {}\n", text(server));
    let _ = writeln!(
        out,
        "Checked by `ecr-contract check` against {} ({}), {}. {}.
",
        text(&report.endpoint),
        text(&report.region),
        report.versions,
        run_line(report, &rows)
    );
    if let Some(spent) = report.spent_summary() {
        let _ = writeln!(out, "{}.\n", text(&spent));
    }
    by_section(&mut out, &rows);
    by_rule(&mut out, &rows);
    let _ = writeln!(out, "\n## First example of each broken rule");
    for row in &rows {
        if let Some(first) = row.first {
            first_example(&mut out, row, first, ledger);
        }
    }
    list(
        &mut out,
        "Setup calls answered otherwise than ECR",
        &report.setup_divergences,
    );
    list(
        &mut out,
        "Coverage of the decision tables",
        &report.coverage_lines(),
    );
    list(&mut out, "Notes", &report.notes);
    if let Some(differences) = &report.parity {
        out.push_str(&super::parity::parity_markdown(differences));
    }
    out
}

/// The summary table, one line per section.
fn by_section(out: &mut String, rows: &[Row<'_>]) {
    let _ = writeln!(out, "## By section\n");
    let _ = writeln!(
        out,
        "| section | rules | pass | fail | known divergence | not exercised |\n|---|---|---|---|---|---|"
    );
    for s in sections(rows) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            s.title, s.rules, s.passed, s.failed, s.known, s.not_exercised
        );
    }
}

/// The table of every rule, with its first example shortened.
fn by_rule(out: &mut String, rows: &[Row<'_>]) {
    let _ = writeln!(out, "\n## By rule\n");
    let _ = writeln!(
        out,
        "| rule | level | status | count | first example |\n|---|---|---|---|---|"
    );
    for row in rows {
        let example = row.first.map_or(String::new(), |f| {
            format!(
                "{} — request {} → HTTP {} {}",
                text(&f.message),
                code_cell(&shorten(&f.request, 120)),
                f.response.status,
                code_cell(&shorten(&f.response.body, 120))
            )
        });
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) ([contract]({link})) | {} | {} | {} | {example} |",
            row.rule.level,
            row.verdict.label(),
            row.rule.count,
            id = row.rule.rule,
            anchor = row.rule.rule.as_str().to_lowercase(),
            link = row.rule.rule.contract_link()
        );
    }
}

/// A broken rule's section: the rule, what the ledger says of it, the first request and
/// answer in full, and how to reproduce them.
fn first_example(out: &mut String, row: &Row<'_>, f: &Finding, ledger: Option<&Ledger>) {
    let _ = writeln!(
        out,
        "\n### {}\n\n{} ({}, [contract]({}), {}). Broken {} times; first in {}: {}\n",
        row.rule.rule,
        row.rule.statement,
        row.rule.level,
        row.rule.rule.contract_link(),
        row.verdict.label(),
        row.rule.count,
        text(&f.probe),
        text(&f.message)
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
        "Request:\n\n{}\n",
        fenced("json", &shorten(&f.request, 2000))
    );
    let _ = writeln!(
        out,
        "Answer (HTTP {}):\n\n{}\n",
        f.response.status,
        fenced("", &shorten(&f.response.body, 2000))
    );
    let _ = writeln!(
        out,
        "Reproduce:\n\n{}",
        fenced("sh", &shorten(&f.reproduction.curl, 3000))
    );
}

/// A titled bullet list, when there is something to list.
fn list(out: &mut String, title: &str, items: &[impl std::fmt::Display]) {
    if !items.is_empty() {
        let _ = writeln!(out, "\n## {title}\n");
        for item in items {
            let _ = writeln!(out, "- {}", text(&item.to_string()));
        }
    }
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` in a fenced code block whose fence is longer than any run of backticks in it, so that
/// no text can close the block (CommonMark: a closing fence is at least as long as the
/// opening one).
fn fenced(info: &str, s: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(s) + 1).max(3));
    format!("{fence}{info}\n{s}\n{fence}")
}

/// `s` as a code span inside a table cell: delimited by more backticks than any run in it,
/// pipes escaped (GitHub splits cells before it reads code spans), on one line.
pub(super) fn code_cell(s: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(s) + 1);
    let inner = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    format!("{ticks} {inner} {ticks}")
}

/// `s` as plain Markdown text (a paragraph, a list item or a table cell): every character
/// that could start markup, HTML or a new cell or line escaped.
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '*' | '_' | '[' | ']' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
