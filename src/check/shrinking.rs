//! Shrinking a failing random sequence: each sequence drawn from a generator of its own, and
//! proptest's simplify/complicate loop driven here, capped, with the candidates of the next
//! few steps tried at once and the loop's own path then followed through them.
//! It must not record the candidates' findings (only the final replay does), nor let the
//! number of candidates tried at once change what is found.

use futures_util::future::join_all;

use crate::strategy::{Scenario, arb_scenario};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::sequences::{Sequence, join_sequence, run_scenario};
use super::session::{CheckError, Session};

/// Candidate runs a shrinking may take against an endpoint on this machine (proptest's own
/// default, `max_shrink_iters`-like), where a run takes milliseconds.
pub const SHRINK_RUNS: usize = 256;

/// Candidate runs a shrinking may take against an endpoint off this machine: each costs
/// round trips and pushes at ECR's quota (a failing run took up to 20 minutes to shrink
/// with 256). When it is hit the report says so, and the sequence reported may not be the
/// smallest.
pub const SHRINK_RUNS_OFF_LOOPBACK: usize = 32;

/// The most steps of the loop tried ahead at once: a tree of 4 levels is 15 candidates,
/// run for 4 steps of the path. Deeper trees cost twice the runs for one step more.
const MAX_DEPTH: usize = 4;

/// Shrinks a failing sequence: simplifies while it still fails, complicates back when it
/// passes, for at most [`SHRINK_RUNS`] candidates on the loop's path
/// ([`SHRINK_RUNS_OFF_LOOPBACK`] off this machine; proptest's own loop, driven here so that
/// each run can await the server). The smallest failing sequence found, and why it fails.
///
/// With `jobs` above 1 the loop's next steps are speculated (see [`Search`]): the candidates
/// of the next `d` steps, one for either outcome of each, run at once (`2^d - 1 <= jobs`, at
/// most [`MAX_DEPTH`] levels), then the real outcomes pick the path the one-at-a-time loop
/// takes, and the next round starts where it ends. A round costs at most `2^d - 1` candidate
/// runs for `d` steps (7 runs for 3 steps at `--jobs 8`, 15 for 4 from `--jobs 15`) and takes
/// the time of its slowest candidate. The candidates on the path are joined in the path's
/// order, as the loop would have joined them; of the others only what cleanup needs (the
/// repositories they created) and their throttling retries are kept, and an error of theirs
/// is dropped (the loop would not have run them). So the sequence, the reason, the notes, the
/// cap and the scope numbers do not depend on `jobs`; only the requests spent do.
pub(super) async fn shrink(
    session: &mut Session<'_>,
    shrinking: Shrinking,
    mut reason: String,
    counter: &mut u32,
    jobs: usize,
    cap: Option<usize>,
) -> Result<(Scenario, String), CheckError> {
    let cap = cap.unwrap_or(match session.target.is_loopback() {
        true => SHRINK_RUNS,
        false => SHRINK_RUNS_OFF_LOOPBACK,
    });
    let mut minimal = shrinking.current();
    let mut search = Search::new(shrinking, cap);
    let base = *counter;
    loop {
        let round = search.round(jobs);
        if round.is_empty() {
            break;
        }
        let mut ran = run_round(session, &round, base).await;
        // The loop's path through the round, joined in its order.
        let mut at = Some(0);
        let mut failed = None;
        while let Some(i) = at {
            let Some((candidate, part, outcome)) = ran[i].take() else {
                unreachable!("the path only visits candidates the round ran")
            };
            let failure = join_sequence(session, part, outcome, &mut failed);
            if failed.is_some() {
                break;
            }
            let fails = !failure.is_empty();
            if fails {
                minimal = candidate;
                reason = failure;
            }
            at = search.follow(i, fails);
        }
        // The candidates off the path: what cleanup needs, and their retries.
        for (_, part, _) in ran.into_iter().flatten() {
            session.created.extend(part.created);
            session.retries += part.retries;
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    *counter = base + search.runs as u32;
    if search.capped {
        session.shrinking_capped = true;
        session.notes.push(format!(
            "shrinking stopped at its cap of {cap} candidate runs: the failing sequence reported may not be the smallest"
        ));
    }
    Ok((minimal, reason))
}

/// A candidate run: the sequence, the part of the run it ran in, how it went.
type Ran<'t> = (Scenario, Session<'t>, Result<Sequence, CheckError>);

/// Runs every candidate of a round at once, each in a part of its own and in the scope its
/// steps name (see [`Shrinking::scope`]); what each gave, in the round's order.
async fn run_round<'t>(
    session: &Session<'t>,
    round: &[Option<Shrinking>],
    base: u32,
) -> Vec<Option<Ran<'t>>> {
    let runs = round.iter().map(|node| {
        let node = node
            .as_ref()
            .map(|shrinking| (shrinking.current(), shrinking.scope(base), session.fork()));
        async move {
            let (candidate, scope, mut part) = node?;
            // A candidate is judged failing at its first failure: the rest is not sent.
            let outcome = run_scenario(&mut part, &candidate, &scope, true).await;
            Some((candidate, part, outcome))
        }
    });
    join_all(runs).await
}

/// How many levels of the loop's steps a round tries at once with `jobs` parts: the most
/// whose whole tree (`2^d - 1` candidates) fits in `jobs`, at least 1 and at most
/// [`MAX_DEPTH`].
fn depth(jobs: usize) -> usize {
    (1..=MAX_DEPTH)
        .take_while(|&d| (1 << d) - 1 <= jobs)
        .last()
        .unwrap_or(1)
}

/// Where proptest's shrinking loop has got to, and the rounds that speculate its next steps.
///
/// The loop runs the current candidate, simplifies after a failure and complicates after a
/// pass, and stops when that step changes nothing or after `cap` candidates. A round is the
/// binary tree of the candidates of its next steps, in level order: node 0 is the current
/// candidate, node `i`'s children are `2i + 1` (after a pass) and `2i + 2` (after a
/// failure); a node is absent where the loop would have stopped before it. The loop's path is
/// then followed through the round with [`Search::follow`], one real outcome at a time, so
/// it is the path the loop takes running one candidate at a time.
struct Search {
    /// The next candidate on the path, every step before it taken.
    shrinking: Shrinking,
    /// Candidates on the path run so far.
    runs: usize,
    cap: usize,
    /// The nodes of the round being followed.
    round: usize,
    /// The loop is over: a step changed nothing.
    done: bool,
    /// The loop stopped at its cap with a candidate still to run.
    capped: bool,
}

impl Search {
    /// The loop after the failing sequence it starts from: its first simplify step taken.
    fn new(mut shrinking: Shrinking, cap: usize) -> Self {
        let done = !shrinking.step(true);
        Self {
            shrinking,
            runs: 0,
            cap,
            round: 0,
            done,
            capped: false,
        }
    }

    /// The next round's candidates with `jobs` parts, in level order (empty when the loop
    /// is over): [`depth`] levels, fewer where the cap comes first.
    fn round(&mut self, jobs: usize) -> Vec<Option<Shrinking>> {
        if !self.done && self.runs == self.cap {
            self.capped = true;
        }
        if self.done || self.capped {
            return Vec::new();
        }
        let levels = depth(jobs).min(self.cap - self.runs);
        let mut nodes: Vec<Option<Shrinking>> = vec![Some(self.shrinking.clone())];
        for i in 1..(1 << levels) - 1 {
            let child = nodes[(i - 1) / 2].as_ref().and_then(|parent| {
                let mut child = parent.clone();
                // An even node follows its parent's failure: a simplify step.
                child.step(i % 2 == 0).then_some(child)
            });
            nodes.push(child);
        }
        self.round = nodes.len();
        nodes
    }

    /// Follows node `i` of the current round, whose candidate failed or not: takes the step
    /// the loop takes after it, and gives the node of the round it leads to (`None` when the
    /// round or the loop is over).
    fn follow(&mut self, i: usize, fails: bool) -> Option<usize> {
        self.runs += 1;
        if !self.shrinking.step(fails) {
            self.done = true;
            return None;
        }
        let next = 2 * i + 1 + usize::from(fails);
        (next < self.round).then_some(next)
    }
}

/// The random sequence numbered `index` of a run's `seed`, and where its shrinking has got
/// to: the simplify (`true`) and complicate (`false`) steps taken so far. Each sequence is
/// drawn from a generator of its own, so that it is the same whatever the others and
/// however many run at once. proptest's value trees are not `Send`, so none is kept across
/// a request: the tree is drawn again and the steps replayed when needed (cheap beside a
/// request).
#[derive(Clone)]
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

    /// The scope a shrinking candidate runs in, numbered after the `base` sequences: `p`, its
    /// number on the loop's path, and its last [`MAX_DEPTH`] - 1 steps (`s` simplify, `c`
    /// complicate), which tell apart the candidates a round runs at once. It depends only on
    /// the steps, so a candidate has the same scope however many run at once.
    fn scope(&self, base: u32) -> String {
        let last = &self.steps[self.steps.len().saturating_sub(MAX_DEPTH - 1)..];
        let steps: String = last.iter().map(|&s| if s { 's' } else { 'c' }).collect();
        format!("p{}-{steps}", base as usize + self.steps.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Call;

    /// Where a shrinking ended: the steps of its path, the smallest failing candidate, the
    /// candidates on the path, whether the cap stopped it.
    #[derive(Debug, PartialEq)]
    struct End {
        steps: Vec<bool>,
        minimal: Scenario,
        runs: usize,
        capped: bool,
    }

    /// proptest's loop, one candidate at a time, written as its runner writes it.
    fn sequential(mut shrinking: Shrinking, cap: usize, fails: &dyn Fn(&Scenario) -> bool) -> End {
        let mut minimal = shrinking.current();
        let (mut runs, mut capped) = (0, false);
        if shrinking.step(true) {
            loop {
                if runs == cap {
                    capped = true;
                    break;
                }
                runs += 1;
                let candidate = shrinking.current();
                let failed = fails(&candidate);
                if failed {
                    minimal = candidate;
                }
                if !shrinking.step(failed) {
                    break;
                }
            }
        }
        End {
            steps: shrinking.steps,
            minimal,
            runs,
            capped,
        }
    }

    /// The rounds of [`Search`] with `jobs` parts, every candidate of a round judged before
    /// the path is followed through it; and the most candidates a round ran.
    fn speculated(
        shrinking: Shrinking,
        cap: usize,
        jobs: usize,
        fails: &dyn Fn(&Scenario) -> bool,
    ) -> (End, usize) {
        let mut minimal = shrinking.current();
        let mut search = Search::new(shrinking, cap);
        let mut widest = 0;
        loop {
            let round = search.round(jobs);
            if round.is_empty() {
                break;
            }
            let ran: Vec<Option<(Scenario, bool)>> = round
                .iter()
                .map(|node| node.as_ref().map(|s| (s.current(), fails(&s.current()))))
                .collect();
            widest = widest.max(ran.iter().flatten().count());
            let mut at = Some(0);
            while let Some(i) = at {
                let (candidate, failed) = ran[i]
                    .clone()
                    .expect("the path runs through candidates the round ran");
                if failed {
                    minimal = candidate;
                }
                at = search.follow(i, failed);
            }
        }
        let end = End {
            steps: search.shrinking.steps,
            minimal,
            runs: search.runs,
            capped: search.capped,
        };
        (end, widest)
    }

    fn pushes(s: &Scenario) -> usize {
        s.calls
            .iter()
            .filter(|c| matches!(c, Call::PutImage(_)))
            .count()
    }

    type Fails = Box<dyn Fn(&Scenario) -> bool>;

    /// Failing-sequence predicates of the sequence drawn first (`original`), shrinking along
    /// paths of both outcomes: some on the calls' number and kind (which shrink until the
    /// cap), some on content drawn (which end sooner).
    fn predicates(original: &Scenario) -> Vec<Fails> {
        let (first, request) = (original.calls.first().cloned(), original.request.clone());
        vec![
            Box::new(|s| s.calls.len() >= 3),
            Box::new(|s| pushes(s) >= 2),
            Box::new(|s| {
                pushes(s) >= 1
                    && s.calls
                        .iter()
                        .any(|c| matches!(c, Call::BatchDeleteImage(_)))
            }),
            Box::new(move |s| s.calls.first() == first.as_ref()),
            Box::new(move |s| s.request == request && s.calls.len() >= 2),
        ]
    }

    /// The sequences of seed 7 a predicate fails, with it.
    fn failing() -> Vec<(Shrinking, Fails)> {
        let mut found = Vec::new();
        for index in 0..12 {
            let shrinking = Shrinking::new(7, index);
            let original = shrinking.current();
            for fails in predicates(&original) {
                if fails(&original) {
                    found.push((shrinking.clone(), fails));
                }
            }
        }
        found
    }

    /// Whatever the parts, the rounds follow the path the one-at-a-time loop takes: the same
    /// steps, the same smallest failing sequence, the same number of runs.
    #[test]
    fn the_speculated_walk_takes_the_sequential_path_whatever_the_jobs() {
        let cases = failing();
        assert!(cases.len() >= 10, "{} failing sequences", cases.len());
        let mut both_outcomes = 0;
        for (shrinking, fails) in cases {
            let alone = sequential(shrinking.clone(), SHRINK_RUNS, &fails);
            both_outcomes +=
                usize::from(alone.steps.contains(&false) && alone.steps[1..].contains(&true));
            for jobs in [1, 2, 3, 7, 8, 15, 32] {
                let (speculated, widest) = speculated(shrinking.clone(), SHRINK_RUNS, jobs, &fails);
                assert_eq!(speculated, alone, "--jobs {jobs}");
                assert!(
                    widest <= jobs,
                    "{widest} candidates at once with --jobs {jobs}"
                );
            }
        }
        assert!(
            both_outcomes >= 3,
            "{both_outcomes} paths with passes and failures"
        );
    }

    /// A cap counts the candidates on the path, not those run ahead of it: the loop stops
    /// at the same candidate and says so, whatever the jobs.
    #[test]
    fn the_cap_stops_the_same_path_whatever_the_jobs() {
        // A path that ends before the cap, through passes and failures.
        let (shrinking, fails) = failing()
            .into_iter()
            .find(|(shrinking, fails)| {
                let alone = sequential(shrinking.clone(), SHRINK_RUNS, fails);
                !alone.capped && alone.steps.contains(&false)
            })
            .expect("a path that ends before the cap");
        let runs = sequential(shrinking.clone(), SHRINK_RUNS, &fails).runs;
        assert!(runs > 4, "{runs} runs");
        for cap in [1, 2, 3, 4, runs / 2, runs - 1, runs, runs + 1] {
            let alone = sequential(shrinking.clone(), cap, &fails);
            assert_eq!(alone.capped, cap < runs, "cap {cap}");
            for jobs in [1, 3, 8, 15] {
                let (speculated, _) = speculated(shrinking.clone(), cap, jobs, &fails);
                assert_eq!(speculated, alone, "cap {cap}, --jobs {jobs}");
            }
        }
    }

    /// With more parts a round tries more steps ahead, so the path is walked in fewer rounds.
    #[test]
    fn a_round_tries_as_many_levels_as_the_jobs_hold() {
        assert_eq!(
            [1, 2, 3, 6, 7, 8, 14, 15, 32].map(depth),
            [1, 1, 2, 2, 3, 3, 3, 4, 4]
        );
    }

    /// Candidates a round runs at once have scopes of their own; a candidate's scope is its
    /// number on the path and its last steps, whatever the round it ran in.
    #[test]
    fn the_candidates_of_a_round_have_scopes_of_their_own() {
        let (shrinking, _) = failing().swap_remove(0);
        let mut search = Search::new(shrinking, SHRINK_RUNS);
        let round = search.round(15);
        let scopes: Vec<String> = round.iter().flatten().map(|s| s.scope(20)).collect();
        let mut distinct = scopes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), scopes.len(), "{scopes:?}");
        assert_eq!(scopes[0], "p21-s", "{scopes:?}");
        assert!(scopes.len() > 7, "{scopes:?}");
    }
}
