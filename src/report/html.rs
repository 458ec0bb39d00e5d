//! The report as one self-contained HTML page: the same content as the Markdown report, with
//! each first example's request and answer folded under its rule.

use std::fmt::Write;

use super::document::{rows, run_line, sections, shorten};
use super::{Ledger, Report};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.5em;margin:.3em 0}\
.pass{background:#e6f4ea}.FAIL{background:#fce8e6}.known{background:#fef7e0}.not{background:#f1f3f4}";

/// The report as an HTML page. With the run's `ledger`, the page names the server it
/// describes and explains each known divergence.
pub fn to_html(report: &Report, ledger: Option<&Ledger>) -> String {
    let rows = rows(report);
    let server = ledger.map_or(report.endpoint.as_str(), |l| l.server.as_str());
    let mut out = String::new();
    let title = format!("BatchGetImage conformance: {server}");
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let _ = writeln!(
        out,
        "<p>Checked by <code>ecr-contract check</code> against {} ({}), {}. {}.</p>",
        escape(&report.endpoint),
        escape(&report.region),
        escape(&report.versions.to_string()),
        escape(&run_line(report, &rows))
    );
    if let Some(spent) = report.spent_summary() {
        let _ = writeln!(out, "<p>{}.</p>", escape(&spent));
    }
    let _ = writeln!(
        out,
        "<h2>By section</h2>\n<table><tr><th>section<th>rules<th>pass<th>fail<th>known divergence<th>not exercised</tr>"
    );
    for s in sections(&rows) {
        let _ = writeln!(
            out,
            "<tr><td>{}<td>{}<td>{}<td>{}<td>{}<td>{}</tr>",
            escape(s.title),
            s.rules,
            s.passed,
            s.failed,
            s.known,
            s.not_exercised
        );
    }
    let _ = writeln!(
        out,
        "</table>\n<h2>By rule</h2>\n<table><tr><th>rule<th>level<th>status<th>count<th>first example</tr>"
    );
    for row in &rows {
        let class = row.verdict.label().split(' ').next().unwrap_or_default();
        let explained =
            ledger
                .and_then(|l| l.divergence(row.rule.rule))
                .map_or(String::new(), |d| {
                    format!(
                        "<p><b>server:</b> {}<br><b>ECR:</b> {}</p>",
                        escape(&d.server),
                        escape(&d.ecr)
                    )
                });
        let example = row.first.map_or(String::new(), |f| {
            format!(
                "{explained}{}<details><summary>{}</summary><p>request</p><pre>{}</pre><p>answer: HTTP {}</p><pre>{}</pre><p>reproduce</p><pre>{}</pre></details>",
                escape(&f.message),
                escape(&f.probe),
                escape(&shorten(&f.request, 2000)),
                f.response.status,
                escape(&shorten(&f.response.body, 2000)),
                escape(&shorten(&f.reproduction.curl, 3000))
            )
        });
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td id=\"{id}\"><b>{id}</b> <a href=\"{link}\">contract</a><br><small>{}</small><td>{}<td>{}<td>{}<td>{example}</tr>",
            escape(row.rule.statement),
            row.rule.level,
            row.verdict.label(),
            row.rule.count,
            id = row.rule.rule,
            link = escape(&row.rule.rule.contract_link()),
        );
    }
    let _ = writeln!(out, "</table>");
    list(
        &mut out,
        "Setup calls answered otherwise than ECR",
        report.setup_divergences.iter().map(ToString::to_string),
    );
    list(
        &mut out,
        "Coverage of the decision tables",
        report.coverage_lines().into_iter(),
    );
    list(&mut out, "Notes", report.notes.iter().cloned());
    if let Some(differences) = &report.parity {
        out.push_str(&super::parity::parity_html(differences));
    }
    let _ = writeln!(out, "</body></html>");
    out
}

fn list(out: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>{}</h2>\n<ul>", escape(title));
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape(&item));
    }
    let _ = writeln!(out, "</ul>");
}

/// Text safe in HTML content and attribute values.
pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
