//! A divergence ledger: the known ways a server departs from the contract, each with what the
//! server does, what ECR does, and the evidence, checked in beside the tests (for example
//! `tests/peers/moto.toml`). A run is compared with it both ways, so that it cannot rot: a
//! violated rule the ledger does not list is *new*, and a listed rule that a run exercised
//! without breaking is *stale*.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::oracle::{Level, RuleId};

use super::{Report, Status};

/// Why a ledger could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a ledger.
    #[error("{path} is not a divergence ledger")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        source: toml::de::Error,
    },
    /// An entry names a rule the catalogue does not have, or lacks its evidence.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// The known divergences of one server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// The server and version the ledger was confirmed against.
    pub server: String,
    /// How the entries were confirmed (a script of raw requests, say).
    #[serde(default)]
    pub confirmed_with: String,
    /// Broken rules of the catalogue.
    #[serde(default, rename = "divergence")]
    pub divergences: Vec<Divergence>,
    /// Setup calls of contract cases that the server answers otherwise than ECR.
    #[serde(default, rename = "setup")]
    pub setup: Vec<KnownSetup>,
}

/// One broken rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Divergence {
    /// The rule id, as in the catalogue.
    pub rule: String,
    /// What the server does.
    pub server: String,
    /// What ECR does, with its source.
    pub ecr: String,
    /// A raw request and the server's answer that show it.
    pub evidence: String,
}

/// One setup step answered otherwise than ECR.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownSetup {
    /// The contract case.
    pub case: String,
    /// The setup step, from 0.
    pub step: usize,
    /// What the server answers: `success`, an error name, or `HTTP <status>`.
    pub server: String,
    /// What ECR answers.
    pub ecr: String,
    /// A raw request and the server's answer that show it.
    pub evidence: String,
}

/// A run compared with a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerVerdict {
    /// Broken rules the ledger lists.
    pub known: Vec<RuleId>,
    /// Broken rules it does not list.
    pub new: Vec<RuleId>,
    /// Listed rules the run exercised and found unbroken.
    pub stale: Vec<RuleId>,
    /// Listed rules the run did not exercise (neither confirmed nor refuted).
    pub unconfirmed: Vec<RuleId>,
    /// Setup divergences, as `case/step`, that the ledger does not list.
    pub new_setup: Vec<String>,
    /// Listed setup divergences the run did not see (or saw answered otherwise).
    pub stale_setup: Vec<String>,
}

impl Ledger {
    /// Reads and validates the ledger at `path`.
    pub fn load(path: &Path) -> Result<Self, LedgerError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LedgerError::Read {
            path: shown.clone(),
            source,
        })?;
        let ledger: Ledger = toml::from_str(&text).map_err(|source| LedgerError::Parse {
            path: shown.clone(),
            source,
        })?;
        ledger.validate().map_err(|problem| LedgerError::Invalid {
            path: shown,
            problem,
        })?;
        Ok(ledger)
    }

    /// Every entry names a catalogue rule once and carries its three explanations.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for d in &self.divergences {
            let rule = RuleId::parse(&d.rule)
                .ok_or_else(|| format!("{} is not a rule of the catalogue", d.rule))?;
            if !seen.insert(rule) {
                return Err(format!("{} is listed twice", d.rule));
            }
            if [&d.server, &d.ecr, &d.evidence]
                .iter()
                .any(|s| s.trim().is_empty())
            {
                return Err(format!("{} needs server, ecr and evidence", d.rule));
            }
        }
        for s in &self.setup {
            if [&s.server, &s.ecr, &s.evidence]
                .iter()
                .any(|t| t.trim().is_empty())
            {
                return Err(format!(
                    "setup {}/{} needs server, ecr and evidence",
                    s.case, s.step
                ));
            }
        }
        Ok(())
    }

    /// The listed rules.
    pub fn rules(&self) -> BTreeSet<RuleId> {
        self.divergences
            .iter()
            .filter_map(|d| RuleId::parse(&d.rule))
            .collect()
    }

    /// Compares `report` with the ledger.
    pub fn compare(&self, report: &Report) -> LedgerVerdict {
        let listed: Vec<RuleId> = self.rules().into_iter().collect();
        let mut verdict = LedgerVerdict::of_rules(report, &listed);
        let key = |case: &str, step: usize, answer: &str| format!("{case}/{step}={answer}");
        let seen: BTreeSet<String> = report
            .setup_divergences
            .iter()
            .map(|d| key(&d.case, d.step, &d.found))
            .collect();
        let listed: BTreeSet<String> = self
            .setup
            .iter()
            .map(|s| key(&s.case, s.step, &s.server))
            .collect();
        verdict.new_setup = seen.difference(&listed).cloned().collect();
        verdict.stale_setup = listed.difference(&seen).cloned().collect();
        verdict
    }

    /// The entry for `rule`, if listed.
    pub fn divergence(&self, rule: RuleId) -> Option<&Divergence> {
        self.divergences.iter().find(|d| d.rule == rule.as_str())
    }
}

impl LedgerVerdict {
    /// The rules of `report` compared with the `listed` ones (setup calls left out).
    pub fn of_rules(report: &Report, listed: &[RuleId]) -> Self {
        let mut verdict = LedgerVerdict::default();
        for rule in report.rules() {
            match (rule.status, listed.contains(&rule.rule)) {
                (Status::Fail, true) => verdict.known.push(rule.rule),
                (Status::Fail, false) => verdict.new.push(rule.rule),
                (Status::Pass, true) => verdict.stale.push(rule.rule),
                (Status::NotExercised, true) => verdict.unconfirmed.push(rule.rule),
                _ => {}
            }
        }
        verdict
    }

    /// Whether the run fails against the ledger at `threshold`: a new divergence at or above
    /// it (a new `may` rule is reported, never failed), or any stale entry.
    pub fn fails_at(&self, report: &Report, threshold: Level) -> bool {
        let new_fails = report
            .findings
            .iter()
            .any(|f| self.new.contains(&f.violation.rule) && f.violation.fails_at(threshold));
        new_fails
            || !self.stale.is_empty()
            || !self.new_setup.is_empty()
            || !self.stale_setup.is_empty()
    }
}
