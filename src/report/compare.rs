//! Two reports of the same suite (same seed, same cases) side by side: for each rule, each
//! side's status, and the probes that broke it on one side only.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::oracle::{Level, RuleId};

use super::{Report, Status};

/// One rule on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct RuleDiff {
    /// The rule.
    pub rule: RuleId,
    /// Its level.
    pub level: Level,
    /// Its status on the left.
    pub left: Status,
    /// Violations on the left.
    pub left_count: usize,
    /// Its status on the right.
    pub right: Status,
    /// Violations on the right.
    pub right_count: usize,
    /// Probes that broke it on the left only, with the first message of each.
    pub only_left: Vec<(String, String)>,
    /// Probes that broke it on the right only.
    pub only_right: Vec<(String, String)>,
}

impl RuleDiff {
    /// Whether the two sides disagree on the rule.
    pub fn differs(&self) -> bool {
        self.left != self.right || !self.only_left.is_empty() || !self.only_right.is_empty()
    }
}

/// Every rule of the catalogue, compared.
pub fn compare(left: &Report, right: &Report) -> Vec<RuleDiff> {
    let (l, r) = (left.rules(), right.rules());
    l.into_iter()
        .zip(r)
        .map(|(a, b)| {
            let (pl, pr) = (probes(left, a.rule), probes(right, a.rule));
            let only = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
                x.iter()
                    .filter(|(p, _)| !y.contains_key(*p))
                    .map(|(p, m)| (p.clone(), m.clone()))
                    .collect()
            };
            RuleDiff {
                rule: a.rule,
                level: a.level,
                left: a.status,
                left_count: a.count,
                right: b.status,
                right_count: b.count,
                only_left: only(&pl, &pr),
                only_right: only(&pr, &pl),
            }
        })
        .collect()
}

/// The probes that broke `rule`, with the first message of each. Random sequences are named
/// by their place in the run, which differs between servers once one fails, so they count
/// as one probe, "random sequences".
fn probes(report: &Report, rule: RuleId) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.violation.rule == rule) {
        let probe = if f.probe.starts_with("random sequence") {
            "random sequences".to_owned()
        } else {
            f.probe.clone()
        };
        out.entry(probe).or_insert_with(|| f.message.clone());
    }
    out
}

/// The comparison as text: every rule with both statuses, then what differs.
pub fn comparison_to_text(left: &Report, right: &Report, diffs: &[RuleDiff]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare: left {} vs right {} (seed {}, {} and {} probes)",
        left.endpoint, right.endpoint, left.seed, left.probes, right.probes
    );
    let show = |s: Status, n: usize| match s {
        Status::Pass => "pass".to_owned(),
        Status::Fail => format!("FAIL x{n}"),
        Status::NotExercised => "----".to_owned(),
    };
    for d in diffs {
        let mark = if d.differs() { "differs" } else { "" };
        let _ = writeln!(
            out,
            "  {:<30} {:<6} {:<12} {:<12} {mark}",
            d.rule.as_str(),
            d.level.as_str(),
            show(d.left, d.left_count),
            show(d.right, d.right_count)
        );
    }
    for d in diffs.iter().filter(|d| d.differs()) {
        let _ = writeln!(out, "\n{} ({}):", d.rule, d.level);
        for (side, list) in [("left", &d.only_left), ("right", &d.only_right)] {
            for (probe, message) in list.iter().take(5) {
                let _ = writeln!(out, "  only {side}: [{probe}] {message}");
            }
            if list.len() > 5 {
                let _ = writeln!(out, "  only {side}: ... and {} more probes", list.len() - 5);
            }
        }
    }
    let differing = diffs.iter().filter(|d| d.differs()).count();
    let _ = writeln!(out, "\n{differing} of {} rules differ", diffs.len());
    out
}
