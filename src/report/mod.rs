//! One [`Report`] of a `check` run, rendered as text for people, JSON for tools and JUnit
//! for CI, with a reproduction (curl and AWS CLI) for every finding. No secrets: requests
//! are shown by body, and credentials only as environment variable names.

mod assert;
mod compare;
mod document;
mod html;
mod junit;
mod ledger;
mod markdown;
mod matrix;
mod parity;
mod secrets;
mod text;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::oracle::{Level, RULES, RuleId, Violation};

/// What a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The endpoint checked.
    pub endpoint: String,
    /// The region.
    pub region: String,
    /// The account the endpoint answered with.
    pub account: Option<String>,
    /// The seed of the random phase.
    pub seed: u64,
    /// The prefix of every repository the run created.
    pub prefix: String,
    /// Requests judged by the oracle.
    pub probes: usize,
    /// Random sequences run.
    pub property_cases: u32,
    /// Wall time of the run.
    pub seconds: f64,
    /// Throttled requests retried (not violations).
    pub retries: u32,
    /// The longest settle time a read needed to see a write.
    pub settle_seconds: f64,
    /// Every violation, with its probe and reproduction.
    pub findings: Vec<Finding>,
    /// Rules some probe exercised.
    #[serde(skip)]
    pub exercised: BTreeSet<RuleId>,
    /// The rows and contexts of the contract's decision tables some probe exercised (see
    /// [`crate::oracle::coverage`]); empty when the run did not measure them.
    #[serde(skip)]
    pub reached: BTreeSet<crate::oracle::coverage::Reached>,
    /// Pairs the server's deviations kept a probe from reaching, with the probe.
    #[serde(skip)]
    pub blocked: std::collections::BTreeMap<crate::oracle::coverage::Reached, String>,
    /// Setup calls the server answered otherwise than ECR does.
    pub setup_divergences: Vec<SetupDivergence>,
    /// What the harness had to adapt to or could not do.
    pub notes: Vec<String>,
    /// The run compared with a divergence ledger, when one was given.
    pub ledger: Option<LedgerVerdict>,
    /// The versions of the tool and of the contract that judged the run.
    #[serde(flatten)]
    pub versions: Versions,
    /// Every request the run sent, by operation: AWS JSON operations by name, registry API
    /// requests as `registry METHOD kind` (throttled attempts and redirect hops included).
    pub spent: BTreeMap<String, u64>,
    /// Whether shrinking a failing random sequence stopped at its cap of candidate runs
    /// (the notes say so too): the sequence reported may then not be the smallest.
    pub shrinking_capped: bool,
    /// Where the answers differ from a recording's, when the run was held to one
    /// (`check --against`): a section of its own, beside the contract verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity: Option<Vec<ParityDifference>>,
}

/// What judged a run: the tool's version and the contract's (the rule catalogue's), so that a
/// verdict that changed because the contract did can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// The crate's version.
    pub tool_version: &'static str,
    /// [`crate::oracle::CONTRACT_VERSION`].
    pub contract_version: &'static str,
}

impl Default for Versions {
    /// The versions of this build.
    fn default() -> Self {
        Versions {
            tool_version: env!("CARGO_PKG_VERSION"),
            contract_version: crate::oracle::CONTRACT_VERSION,
        }
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ecr-contract {}, contract {}",
            self.tool_version, self.contract_version
        )
    }
}

/// A setup call of a contract case that the server answered otherwise than ECR does (spec
/// section 7). The catalogue's rules are about BatchGetImage, so these are reported beside
/// them, by case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupDivergence {
    /// The contract case.
    pub case: String,
    /// The setup step, from 0.
    pub step: usize,
    /// Its operation.
    pub call: String,
    /// What the server answered: `success` or an error name.
    pub found: String,
    /// What ECR answers.
    pub expected: String,
    /// Whether the case's probe was still judged: not when the server accepted a call ECR
    /// refuses, for then it holds a state the model cannot mirror.
    pub judged: bool,
}

impl std::fmt::Display for SetupDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "case {}: setup step {} ({}) answered {} where ECR answers {}",
            self.case, self.step, self.call, self.found, self.expected
        )?;
        if !self.judged {
            write!(f, "; its probe was not judged")?;
        }
        Ok(())
    }
}

/// One violation, where it was found, and how to see it again.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule broken.
    #[serde(flatten)]
    pub violation: Violation,
    /// A one-line message.
    pub message: String,
    /// The probe: a contract case, a seeding step, or a random sequence.
    pub probe: String,
    /// The request body sent.
    pub request: String,
    /// The answer received.
    pub response: Response,
    /// Commands that send the same request.
    pub reproduction: Reproduction,
}

/// An answer, as received.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body: its first [`EVIDENCE_BYTES`], secrets redacted before the cut.
    pub body: String,
}

/// The request again, from a shell; credentials come from the environment.
#[derive(Debug, Clone, Serialize)]
pub struct Reproduction {
    /// A `curl --aws-sigv4` command.
    pub curl: String,
    /// An `aws ecr batch-get-image --cli-input-json` command, for BatchGetImage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<String>,
}

/// Whether a rule passed, failed or was not exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exercised, never broken.
    Pass,
    /// Broken at least once.
    Fail,
    /// No probe could break it.
    NotExercised,
}

/// A rule's status in a report.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    /// The rule id.
    pub rule: RuleId,
    /// Its level.
    pub level: Level,
    /// Its statement.
    pub statement: &'static str,
    /// Its source.
    pub source: &'static str,
    /// Pass, fail or not exercised.
    pub status: Status,
    /// How many violations.
    pub count: usize,
}

/// Shell-quotes `s` in single quotes.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Reproduction {
    /// Commands sending `body` as `operation` to `endpoint` in `region`.
    pub fn new(endpoint: &str, region: &str, operation: &str, body: &str) -> Self {
        let curl = format!(
            "curl -sS --aws-sigv4 'aws:amz:{region}:ecr' --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" \
-H 'content-type: application/x-amz-json-1.1' -H 'x-amz-target: AmazonEC2ContainerRegistry_V20150921.{operation}' \
--data-binary {} {}",
            quote(body),
            quote(endpoint)
        );
        let aws = (operation == "BatchGetImage").then(|| {
            format!(
                "aws ecr batch-get-image --endpoint-url {} --region {region} --cli-input-json {}",
                quote(endpoint),
                quote(body)
            )
        });
        Self { curl, aws }
    }
}

impl Report {
    /// Every rule of the catalogue with its status.
    pub fn rules(&self) -> Vec<RuleStatus> {
        RULES
            .iter()
            .map(|rule| {
                let count = self
                    .findings
                    .iter()
                    .filter(|f| f.violation.rule == rule.id)
                    .count();
                let status = match (count, self.exercised.contains(&rule.id)) {
                    (0, false) => Status::NotExercised,
                    (0, true) if self.no_row_reached(rule.id) => Status::NotExercised,
                    (0, true) => Status::Pass,
                    _ => Status::Fail,
                };
                RuleStatus {
                    rule: rule.id,
                    level: rule.level,
                    statement: rule.statement,
                    source: rule.source,
                    status,
                    count,
                }
            })
            .collect()
    }

    /// Whether the run measured coverage and reached none of the rows and contexts `rule` has
    /// in the coverage model: its passes would prove nothing.
    fn no_row_reached(&self, rule: RuleId) -> bool {
        !self.reached.is_empty()
            && self
                .coverage()
                .iter()
                .any(|c| c.rule == rule && c.reached == 0)
    }

    /// Per rule with rows in the coverage model: how many of its rows and contexts the run
    /// exercised, and which it did not. Empty when the run did not measure coverage.
    pub fn coverage(&self) -> Vec<crate::oracle::coverage::RuleCoverage> {
        match self.reached.is_empty() {
            true => vec![],
            false => crate::oracle::coverage::coverage(&self.reached, &self.blocked),
        }
    }

    /// The coverage as lines of text, one per rule, for every format.
    pub fn coverage_lines(&self) -> Vec<String> {
        self.coverage()
            .iter()
            .map(|c| {
                let missing = match c.missing.as_slice() {
                    [] => String::new(),
                    m => format!("; not exercised: {}", m.join(", ")),
                };
                let unreachable: Vec<String> = c
                    .unreachable
                    .iter()
                    .map(|(pair, probe)| format!("{pair} by {probe}"))
                    .collect();
                let missing = match unreachable.as_slice() {
                    [] => missing,
                    u => format!(
                        "{missing}; made unreachable by the server's deviations: {}",
                        u.join(", ")
                    ),
                };
                format!(
                    "{}: {} of {} rows and contexts exercised{missing}",
                    c.rule, c.reached, c.total
                )
            })
            .collect()
    }

    /// Whether some violation is at or above `threshold` (`may` never is).
    pub fn fails_at(&self, threshold: Level) -> bool {
        self.findings
            .iter()
            .any(|f| f.violation.fails_at(threshold))
    }

    /// What the run spent, in one line: the requests it sent in all, then by operation,
    /// most first; `None` when nothing was counted.
    pub fn spent_summary(&self) -> Option<String> {
        let total: u64 = self.spent.values().sum();
        if total == 0 {
            return None;
        }
        let mut by_count: Vec<(&String, &u64)> = self.spent.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = by_count
            .iter()
            .map(|(operation, n)| format!("{operation} {n}"))
            .collect();
        Some(format!("spent {total} requests: {}", parts.join(", ")))
    }

    /// The report as JSON: summary, per-rule status, violations, notes.
    pub fn to_json(&self) -> serde_json::Value {
        let rules = self.rules();
        let count = |s: Status| rules.iter().filter(|r| r.status == s).count();
        serde_json::json!({
            "endpoint": self.endpoint,
            "region": self.region,
            "account": self.account,
            "seed": self.seed,
            "prefix": self.prefix,
            "summary": {
                "probes": self.probes,
                "property_cases": self.property_cases,
                "seconds": self.seconds,
                "retries": self.retries,
                "settle_seconds": self.settle_seconds,
                "violations": self.findings.len(),
                "rules_passed": count(Status::Pass),
                "rules_failed": count(Status::Fail),
                "rules_not_exercised": count(Status::NotExercised),
                "requests": self.spent.values().sum::<u64>(),
                "shrinking_capped": self.shrinking_capped,
            },
            "spent": self.spent,
            "rules": rules,
            "coverage": self.coverage(),
            "violations": self.findings,
            "setup_divergences": self.setup_divergences,
            "notes": self.notes,
            "ledger": self.ledger,
            "parity": self.parity,
        })
    }

    /// Redacts, with the run's final set of `secrets`, every field of the report that holds
    /// text, and says in the notes what was redacted. Evidence is redacted once already as it
    /// is captured (before any cut, see [`Secrets::evidence`]); this pass catches what was
    /// captured before the run learned a secret (a registry password comes late). A value
    /// that cannot be a credential (see [`is_credential`]) is never a secret, so that evidence
    /// is not rewritten: with the secret `test` that every emulator's documentation uses,
    /// `latest` stays `latest`.
    pub fn redact(&mut self, secrets: &Secrets) {
        self.each_text(|s| secrets.learn_signed_urls(s));
        self.each_text(|s| {
            let clean = secrets.redact(s);
            if clean != *s {
                *s = clean;
            }
        });
        self.notes.extend(secrets.notes());
    }

    /// Calls `visit` on every field of the report that holds text.
    fn each_text(&mut self, mut visit: impl FnMut(&mut String)) {
        for s in [&mut self.endpoint, &mut self.region, &mut self.prefix] {
            visit(s);
        }
        self.account.iter_mut().for_each(&mut visit);
        for f in &mut self.findings {
            for s in [
                &mut f.message,
                &mut f.probe,
                &mut f.request,
                &mut f.response.body,
                &mut f.reproduction.curl,
                &mut f.violation.path,
                &mut f.violation.expected,
                &mut f.violation.found,
            ] {
                visit(s);
            }
            f.reproduction.aws.iter_mut().for_each(&mut visit);
        }
        for d in &mut self.setup_divergences {
            for s in [&mut d.case, &mut d.call, &mut d.found, &mut d.expected] {
                visit(s);
            }
        }
        for d in self.parity.iter_mut().flatten() {
            for s in [&mut d.request, &mut d.recorded, &mut d.found] {
                visit(s);
            }
        }
        self.notes.iter_mut().for_each(visit);
    }

    /// Whether the run was held to a recording and some answer differed from it.
    pub fn has_parity_differences(&self) -> bool {
        self.parity.as_ref().is_some_and(|d| !d.is_empty())
    }
}

pub use compare::{RuleDiff, compare, comparison_to_text};
pub use html::to_html;
pub use junit::to_junit;
pub use ledger::{Divergence, KnownSetup, Ledger, LedgerError, LedgerVerdict};
pub use markdown::to_markdown;
pub use matrix::{Cell, Column, cells as matrix_cells, matrix_html, matrix_markdown};
pub use parity::{
    ParityDifference, by_rule as parity_by_rule, parity_html, parity_markdown, parity_text,
};
pub use secrets::{EVIDENCE_BYTES, MIN_SECRET_CHARS, REDACTED, Secrets, is_credential};
pub use text::to_text;
