//! The summary a person reads: failures first, grouped by rule, each with one example and
//! its reproduction.

use std::fmt::Write;

use super::{Report, Status};

/// The report as text.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let rules = report.rules();
    let count = |s: Status| rules.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "ecr-contract check of {} ({})",
        report.endpoint, report.region
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
    let known = report
        .ledger
        .as_ref()
        .map(|l| l.known.as_slice())
        .unwrap_or_default();
    for rule in rules.iter().filter(|r| r.status == Status::Fail) {
        let head = if known.contains(&rule.rule) {
            "KNOWN"
        } else {
            "FAIL"
        };
        let _ = writeln!(
            out,
            "\n{head} {} ({}) x{}: {}",
            rule.rule, rule.level, rule.count, rule.statement
        );
        if let Some(f) = report
            .findings
            .iter()
            .find(|f| f.violation.rule == rule.rule)
        {
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
    for rule in &rules {
        let mark = match rule.status {
            Status::Pass => "pass",
            Status::Fail if known.contains(&rule.rule) => "known",
            Status::Fail => "FAIL",
            Status::NotExercised => "----",
        };
        let _ = writeln!(
            out,
            "  {mark:<5} {:<30} {:<6} {}",
            rule.rule.as_str(),
            rule.level.as_str(),
            rule.count
        );
    }
    for divergence in &report.setup_divergences {
        let _ = writeln!(out, "setup divergence: {divergence}");
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
    out
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}
