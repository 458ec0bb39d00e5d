//! Test verdicts on a [`Report`]: the assertions a `cargo test` ends with, panicking with the
//! text report so the failure reads like `ecr-contract check`'s output.

use std::fmt::Write;

use crate::oracle::{Level, RuleId};

use super::{Ledger, LedgerVerdict, Report, to_text};

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

    /// As [`assert_conforms_except`](Self::assert_conforms_except), with the known
    /// divergences of a [`Ledger`] (such as `tests/peers/moto.toml`): its rules, and its setup
    /// calls, which must be answered as listed.
    #[track_caller]
    pub fn assert_conforms_to(&self, ledger: &Ledger) {
        if let Some(message) = self.explain(&ledger.compare(self)) {
            panic!("{message}");
        }
    }

    /// Why the report fails [`assert_conforms_except`](Self::assert_conforms_except)`(known)`,
    /// or `None` when it passes.
    pub fn nonconformance(&self, known: &[RuleId]) -> Option<String> {
        self.explain(&LedgerVerdict::of_rules(self, known))
    }

    /// The failure message for `verdict`: rules broken at level should or above that it does
    /// not list, listed ones that passed, and setup calls answered otherwise than listed.
    fn explain(&self, verdict: &LedgerVerdict) -> Option<String> {
        let ids = |rules: &[RuleId]| rules.iter().map(|r| r.as_str()).collect::<Vec<_>>();
        let broken: Vec<&str> = ids(&verdict.new)
            .into_iter()
            .filter(|id| {
                self.findings.iter().any(|f| {
                    f.violation.rule.as_str() == *id && f.violation.fails_at(Level::Should)
                })
            })
            .collect();
        let stale = ids(&verdict.stale);
        let setup: Vec<&String> = verdict
            .new_setup
            .iter()
            .chain(&verdict.stale_setup)
            .collect();
        if broken.is_empty() && stale.is_empty() && setup.is_empty() {
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
        if !setup.is_empty() {
            let setup: Vec<&str> = setup.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                out,
                "setup calls answered otherwise than listed: {}",
                setup.join(", ")
            );
        }
        let (text, seed) = (to_text(self), self.seed);
        let _ = write!(
            out,
            "{text}seed {seed}: rerun with Suite::seed({seed}) or --seed {seed}"
        );
        Some(out)
    }
}

fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}
