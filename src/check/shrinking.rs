//! Shrinking a failing random sequence: each sequence drawn from a generator of its own, and
//! proptest's simplify/complicate loop driven one awaited candidate run at a time, capped.
//! It must not record the candidates' findings (only the final replay does).

use crate::strategy::{Scenario, arb_scenario};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::sequences::{join_sequence, run_scenario};
use super::session::{CheckError, Session};

/// Candidate runs a shrinking may take against an endpoint on this machine (proptest's own
/// default, `max_shrink_iters`-like), where a run takes milliseconds.
pub const SHRINK_RUNS: usize = 256;

/// Candidate runs a shrinking may take against an endpoint off this machine: each costs
/// round trips and pushes at ECR's quota (a failing run took up to 20 minutes to shrink
/// with 256). When it is hit the report says so, and the sequence reported may not be the
/// smallest.
pub const SHRINK_RUNS_OFF_LOOPBACK: usize = 32;

/// Shrinks a failing sequence: simplifies while it still fails, complicates back when it
/// passes, for at most [`SHRINK_RUNS`] runs ([`SHRINK_RUNS_OFF_LOOPBACK`] off this machine;
/// proptest's own loop, driven here so that each run can await the server). The smallest
/// failing sequence found, and why it fails.
pub(super) async fn shrink(
    session: &mut Session<'_>,
    mut shrinking: Shrinking,
    mut reason: String,
    counter: &mut u32,
) -> Result<(Scenario, String), CheckError> {
    let mut minimal = shrinking.current();
    if !shrinking.step(true) {
        return Ok((minimal, reason));
    }
    let cap = match session.target.is_loopback() {
        true => SHRINK_RUNS,
        false => SHRINK_RUNS_OFF_LOOPBACK,
    };
    let mut runs = 0;
    loop {
        if runs == cap {
            session.shrinking_capped = true;
            session.notes.push(format!(
                "shrinking stopped at its cap of {cap} candidate runs: the failing sequence reported may not be the smallest"
            ));
            break;
        }
        runs += 1;
        *counter += 1;
        let mut part = session.fork();
        let candidate = shrinking.current();
        // A candidate is judged failing at its first failure: the rest is not sent.
        let outcome = run_scenario(&mut part, &candidate, &format!("p{counter}"), true).await;
        let mut failed = None;
        let failure = join_sequence(session, part, outcome, &mut failed);
        if let Some(e) = failed {
            return Err(e);
        }
        let fails = !failure.is_empty();
        if fails {
            minimal = candidate;
            reason = failure;
        }
        // Simplify a failing candidate further; complicate a passing one back.
        if !shrinking.step(fails) {
            break;
        }
    }
    Ok((minimal, reason))
}

/// The random sequence numbered `index` of a run's `seed`, and where its shrinking has got
/// to: the simplify (`true`) and complicate (`false`) steps taken so far. Each sequence is
/// drawn from a generator of its own, so that it is the same whatever the others and
/// however many run at once. proptest's value trees are not `Send`, so none is kept across
/// a request: the tree is drawn again and the steps replayed when needed (cheap beside a
/// request).
pub(super) struct Shrinking {
    seed: u64,
    index: usize,
    steps: Vec<bool>,
}

impl Shrinking {
    pub(super) fn new(seed: u64, index: usize) -> Self {
        Self {
            seed,
            index,
            steps: Vec::new(),
        }
    }

    /// The tree with every step so far replayed, and whether the last step changed it.
    fn replayed(&self) -> (impl ValueTree<Value = Scenario>, bool) {
        let mut rng_seed = [0u8; 32];
        rng_seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        rng_seed[8..16].copy_from_slice(&(self.index as u64).to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed),
        );
        let mut tree = arb_scenario()
            .new_tree(&mut runner)
            .unwrap_or_else(|e| unreachable!("the scenario strategy rejects nothing: {e}"));
        let mut changed = true;
        for &simplify in &self.steps {
            changed = if simplify {
                tree.simplify()
            } else {
                tree.complicate()
            };
        }
        (tree, changed)
    }

    pub(super) fn current(&self) -> Scenario {
        self.replayed().0.current()
    }

    /// Takes a simplify or complicate step; whether there was one to take.
    pub(super) fn step(&mut self, simplify: bool) -> bool {
        self.steps.push(simplify);
        self.replayed().1
    }
}
