//! Parity: where a server's answers differ from a recording's, value by value outside the
//! volatile fields, although both may conform. A section of its own, per rule, beside the
//! contract verdict and never mixed into it.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::oracle::RuleId;

/// One place where an answer differs from the recorded answer to the same request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParityDifference {
    /// The rule that governs that place of the answer (`None`: a call that sets the run up,
    /// or a request only one side holds).
    pub rule: Option<RuleId>,
    /// The request, as matched (operation and body, or method, path and headers).
    pub request: String,
    /// Where the answers differ: `status`, `header <name>`, a JSON path, or `request` when
    /// one side holds no such request.
    pub place: String,
    /// The recorded value.
    pub recorded: String,
    /// The value found.
    pub found: String,
}

/// The differences grouped by rule, in the catalogue's order; `None` (setup calls) last.
pub fn by_rule(differences: &[ParityDifference]) -> Vec<(Option<RuleId>, Vec<&ParityDifference>)> {
    let mut groups: BTreeMap<(bool, Option<RuleId>), Vec<&ParityDifference>> = BTreeMap::new();
    for d in differences {
        groups
            .entry((d.rule.is_none(), d.rule))
            .or_default()
            .push(d);
    }
    groups
        .into_iter()
        .map(|((_, rule), ds)| (rule, ds))
        .collect()
}

/// The name a group of differences goes by.
pub fn group_name(rule: Option<RuleId>) -> String {
    rule.map_or_else(
        || "setup calls and unmatched requests".into(),
        |r| r.to_string(),
    )
}

/// How many differences of each rule a text report shows before saying how many more.
const SHOWN: usize = 5;

/// The parity section of the text report.
pub fn parity_text(differences: &[ParityDifference]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nParity with the recording: {} difference(s)",
        differences.len()
    );
    for (rule, ds) in by_rule(differences) {
        let _ = writeln!(out, "\nPARITY {} x{}", group_name(rule), ds.len());
        for d in ds.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "  {}\n    at {}: recorded {} | found {}",
                shorten(&d.request, 200),
                d.place,
                shorten(&d.recorded, 300),
                shorten(&d.found, 300)
            );
        }
        if ds.len() > SHOWN {
            let _ = writeln!(out, "  ... and {} more", ds.len() - SHOWN);
        }
    }
    out
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub(super) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

/// The parity section of the Markdown report: one table per rule, both answers side by side.
pub fn parity_markdown(differences: &[ParityDifference]) -> String {
    use super::markdown::{code_cell, text};
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Parity with the recording\n\n{} difference(s) from the recorded answers, outside the volatile fields. \
They are not contract violations: both answers may conform.",
        differences.len()
    );
    for (rule, ds) in by_rule(differences) {
        let _ = writeln!(
            out,
            "\n### {} ({})\n\n| request | at | recorded | found |\n| --- | --- | --- | --- |",
            text(&group_name(rule)),
            ds.len()
        );
        for d in ds {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                code_cell(&shorten(&d.request, 300)),
                text(&d.place),
                code_cell(&shorten(&d.recorded, 300)),
                code_cell(&shorten(&d.found, 300))
            );
        }
    }
    out
}

/// The parity section of the HTML report, each rule's table under the id `parity-<RULE>`.
pub fn parity_html(differences: &[ParityDifference]) -> String {
    use super::html::escape;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h2 id=\"parity\">Parity with the recording</h2>\n<p>{} difference(s) from the recorded answers, outside the volatile fields; not contract violations.</p>",
        differences.len()
    );
    for (rule, ds) in by_rule(differences) {
        let name = group_name(rule);
        let _ = writeln!(
            out,
            "<h3 id=\"parity-{}\">{} ({})</h3>\n<table><tr><th>request<th>at<th>recorded<th>found</tr>",
            escape(&rule.map_or_else(|| "setup".into(), |r| r.to_string())),
            escape(&name),
            ds.len()
        );
        for d in ds {
            let _ = writeln!(
                out,
                "<tr><td><pre>{}</pre><td>{}<td><pre>{}</pre><td><pre>{}</pre></tr>",
                escape(&shorten(&d.request, 300)),
                escape(&d.place),
                escape(&shorten(&d.recorded, 2000)),
                escape(&shorten(&d.found, 2000))
            );
        }
        let _ = writeln!(out, "</table>");
    }
    out
}
