//! The summary a person reads: failures first, grouped by rule, each with one example and
//! its reproduction.

use std::fmt::Write;

use super::document::{Verdict, rows, shorten};
use super::{Report, Status};

/// The report as text.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let rows = rows(report);
    let count = |s: Status| rows.iter().filter(|r| r.rule.status == s).count();
    let _ = writeln!(
        out,
        "ecr-contract check of {} ({}); {}",
        report.endpoint, report.region, report.versions
    );
    let _ = writeln!(
        out,
        "{} probes, {} random sequences, {:.1}s; rules: {} passed, {} failed, {} not exercised",
        report.probes,
        report.property_cases,
        report.seconds,
        count(Status::Pass),
        count(Status::Fail),
        count(Status::NotExercised)
    );
    if let Some(spent) = report.spent_summary() {
        let _ = writeln!(out, "{spent}");
    }
    for row in rows.iter().filter(|r| r.rule.status == Status::Fail) {
        let (rule, head) = (
            &row.rule,
            match row.verdict {
                Verdict::Known => "KNOWN",
                _ => "FAIL",
            },
        );
        let _ = writeln!(
            out,
            "\n{head} {} ({}) x{}: {}\n  contract: {}",
            rule.rule,
            rule.level,
            rule.count,
            rule.statement,
            rule.rule.contract_link()
        );
        if let Some(f) = row.first {
            let _ = writeln!(out, "  first: {} [{}]", f.message, f.probe);
            let _ = writeln!(out, "  request:  {}", shorten(&f.request, 300));
            let _ = writeln!(
                out,
                "  response: HTTP {} {}",
                f.response.status,
                shorten(&f.response.body, 300)
            );
            let _ = writeln!(out, "  reproduce: {}", shorten(&f.reproduction.curl, 600));
            if let Some(aws) = &f.reproduction.aws {
                let _ = writeln!(out, "         or: {}", shorten(aws, 600));
            }
        }
    }
    let _ = writeln!(out);
    for row in &rows {
        let mark = match row.verdict {
            Verdict::Pass => "pass",
            Verdict::Known => "known",
            Verdict::Fail => "FAIL",
            Verdict::NotExercised => "----",
        };
        let _ = writeln!(
            out,
            "  {mark:<5} {:<30} {:<6} {:<5} {}",
            row.rule.rule.as_str(),
            row.rule.level.as_str(),
            row.rule.count,
            row.rule.rule.contract_link()
        );
    }
    for divergence in &report.setup_divergences {
        let _ = writeln!(out, "setup divergence: {divergence}");
    }
    for line in report.coverage_lines() {
        let _ = writeln!(out, "coverage: {line}");
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if report.retries > 0 {
        let _ = writeln!(
            out,
            "note: {} throttled requests were retried (not violations)",
            report.retries
        );
    }
    if let Some(differences) = &report.parity {
        out.push_str(&super::parity::parity_text(differences));
    }
    out
}
