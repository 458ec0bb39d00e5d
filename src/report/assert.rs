//! Test verdicts on a [`Report`]: the assertions a `cargo test` ends with, panicking with the
//! text report so the failure reads like `ecr-contract check`'s output.

use std::fmt::Write;

use crate::oracle::{Level, RuleId};

use super::{Report, Status, to_text};

impl Report {
    /// Panics, with the text report, when some violation is at level *should* or above
    /// (*may* rules never fail).
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = ecr_contract::serve::spawn(Default::default()).await?;
    /// # let url = server.url();
    /// let report = ecr_contract::Suite::new(url).cases(10).run().await?;
    /// report.assert_conforms();
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    #[track_caller]
    pub fn assert_conforms(&self) {
        self.assert_conforms_except(&[]);
    }

    /// As [`assert_conforms`](Self::assert_conforms), with `known` rules the server is known
    /// to break ignored. A known rule that was exercised and not broken also panics: the
    /// divergence is gone, and the list must say so (so lists cannot rot). A known rule no
    /// probe exercised is neither.
    ///
    /// ```should_panic
    /// use ecr_contract::oracle::RuleId;
    /// use ecr_contract::report::Report;
    /// let mut report = Report::default();
    /// report.exercised.insert(RuleId::ManBytes);
    /// // MAN-BYTES passed, so listing it as a known divergence fails.
    /// report.assert_conforms_except(&[RuleId::ManBytes]);
    /// ```
    #[track_caller]
    pub fn assert_conforms_except(&self, known: &[RuleId]) {
        if let Some(message) = self.nonconformance(known) {
            panic!("{message}");
        }
    }

    /// Why the report fails [`assert_conforms_except`](Self::assert_conforms_except)`(known)`,
    /// or `None` when it passes.
    pub fn nonconformance(&self, known: &[RuleId]) -> Option<String> {
        let (broken, stale) = self.divergences(known);
        if broken.is_empty() && stale.is_empty() {
            return None;
        }
        let mut out = String::new();
        if !broken.is_empty() {
            let _ = writeln!(
                out,
                "{} does not conform: {} broken ({})",
                self.endpoint,
                plural(broken.len(), "rule"),
                broken.join(", ")
            );
        }
        if !stale.is_empty() {
            let _ = writeln!(
                out,
                "known divergences that no longer diverge, remove them from the list: {}",
                stale.join(", ")
            );
        }
        let (text, seed) = (to_text(self), self.seed);
        let _ = write!(
            out,
            "{text}seed {seed}: rerun with Suite::seed({seed}) or --seed {seed}"
        );
        Some(out)
    }

    /// The rules broken at level should or above that `known` does not list, and the rules it
    /// lists that passed.
    fn divergences(&self, known: &[RuleId]) -> (Vec<&'static str>, Vec<&'static str>) {
        let failing = |rule: RuleId| {
            self.findings
                .iter()
                .any(|f| f.violation.rule == rule && f.violation.fails_at(Level::Should))
        };
        let rules = self.rules();
        let broken = rules
            .iter()
            .filter(|r| !known.contains(&r.rule) && failing(r.rule))
            .map(|r| r.rule.as_str())
            .collect();
        let stale = rules
            .iter()
            .filter(|r| r.status == Status::Pass && known.contains(&r.rule))
            .map(|r| r.rule.as_str())
            .collect();
        (broken, stale)
    }
}

fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}
