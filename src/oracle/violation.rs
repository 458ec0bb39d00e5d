//! A broken rule, as data.

use std::fmt;

use super::rules::{Level, RuleId};

/// One broken rule: which, where in the answer, what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The rule.
    pub rule: RuleId,
    /// Its level.
    pub level: Level,
    /// JSON path in the answer (empty for the whole answer).
    pub path: String,
    /// What a correct server answers.
    pub expected: String,
    /// What this one answered.
    pub found: String,
    /// The rule the check that fired belongs to, when the violation was filed under a
    /// scenario's rule (for example `ID-BY-TAG` under `STATE-TAG-MOVE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<RuleId>,
}

impl Violation {
    /// A violation of `rule` at `path`.
    pub fn new(
        rule: RuleId,
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            level: rule.level(),
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
            via: None,
        }
    }

    /// Whether the violation fails a run at `threshold` (`may` never does).
    pub fn fails_at(&self, threshold: Level) -> bool {
        self.level != Level::May && self.level >= threshold
    }
}

/// `A`, or `one of A, B`: acceptable codes, for a violation's `expected`.
pub(crate) fn one_of(codes: &[&str]) -> String {
    match codes {
        [one] => (*one).to_owned(),
        many => format!("one of {}", many.join(", ")),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.rule, self.level)?;
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": expected {}, found {}", self.expected, self.found)
    }
}
