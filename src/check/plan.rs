//! The plan of a run, decided before any request is sent: what each contract case's scope is
//! seeded with, which random sequences run and which of their calls are sent, and what that
//! costs in pushes. Pure: no I/O, no clock, deterministic for a seed, so the plan is tested
//! without a server. The model decides: a case's scope holds only the fixture images whose
//! absence would change an answer of the case, and a sequence sends only the calls whose
//! answer the model does not know in advance from the repositories that exist.

use crate::model::{Call, CallOutput, Expected, OpError, batch_get_image_body};
use crate::strategy::cases::Case;
use crate::strategy::{Fixture, Scenario, build_registry};
use crate::wire::Operation;

/// PutImage calls a default run may spend: the fixture, the contract cases' seeds and setup,
/// then as many random sequences as fit (ECR's PutImage quota is 10 a second, so 150 pushes
/// are 15 seconds of quota against real ECR).
pub const DEFAULT_PUSH_BUDGET: u32 = 150;

/// The most random sequences a budget chooses, whatever it leaves (the previous default,
/// 200; `--cases` runs any number).
pub const MAX_BUDGETED_SEQUENCES: usize = 200;

/// Every call of `fixture` that builds repository `repository`s' images, in fixture order.
fn fixture_calls<'a>(fixture: &'a Fixture, repositories: &'a [&str]) -> Vec<Call> {
    fixture
        .calls()
        .into_iter()
        .filter(|c| {
            c.repository_name()
                .is_some_and(|r| repositories.contains(&r))
        })
        .collect()
}

/// What a case shows in a scope seeded with `seed`: each setup step's answer (accepted or
/// the error name) and the acceptable answers to its request; `None` when the model refuses
/// a seeding call (such a seed is not one the harness may send).
#[derive(Debug, PartialEq)]
struct Outcome {
    setup: Vec<Result<(), &'static str>>,
    expected: Expected,
}

/// A case's setup calls and request body, expanded once (a case may push a 4 MiB manifest).
struct Expanded {
    require_blobs: bool,
    setup: Vec<Call>,
    body: Vec<u8>,
}

impl Expanded {
    fn of(fixture: &Fixture, case: &Case) -> Option<Self> {
        let setup = case
            .setup
            .iter()
            .map(|step| step.to_call(fixture).ok())
            .collect::<Option<Vec<Call>>>()?;
        Some(Self {
            require_blobs: case.require_blobs,
            setup,
            body: case.body(fixture, |_| None),
        })
    }

    fn outcome(&self, seed: &[Call]) -> Option<Outcome> {
        let mut registry = build_registry(&[]);
        registry.require_blobs = self.require_blobs;
        for call in seed {
            registry.apply(call, 0.0).ok()?;
        }
        let setup = self
            .setup
            .iter()
            .map(|call| registry.apply(call, 0.0).map(drop).map_err(|e| e.code))
            .collect();
        Some(Outcome {
            setup,
            expected: batch_get_image_body(&registry, &self.body),
        })
    }
}

/// The fixture calls a contract case's own scope is seeded with: the repositories the case
/// names, and of their images only those whose absence would change what the case shows
/// (every setup step's answer and the acceptable answers to its request, by the model). A
/// case run on this seed is judged exactly as on the whole fixture: the images left out are
/// ones it never reads nor writes near. A case that needs uploaded blobs keeps them all.
pub fn case_seed(fixture: &Fixture, case: &Case) -> Vec<Call> {
    let named: Vec<&str> = case.repositories(fixture).into_iter().collect();
    let whole = fixture_calls(fixture, &named);
    if case.require_blobs || case.setup.is_empty() {
        return whole;
    }
    let Some(expanded) = Expanded::of(fixture, case) else {
        return whole;
    };
    let Some(want) = expanded.outcome(&whole) else {
        return whole;
    };
    let mut kept = whole;
    for image in &fixture.images {
        let without: Vec<Call> = kept
            .iter()
            .filter(|c| !pushes(c, &image.manifest))
            .cloned()
            .collect();
        if without.len() < kept.len() && expanded.outcome(&without).as_ref() == Some(&want) {
            kept = without;
        }
    }
    kept
}

/// Whether `call` pushes `manifest`.
fn pushes(call: &Call, manifest: &str) -> bool {
    matches!(call, Call::PutImage(put) if put.image_manifest.as_deref() == Some(manifest))
}

/// The calls of a random sequence worth sending: those whose answer the model does not know
/// from which repositories exist alone. A call on a repository that does not exist
/// (RepositoryNotFoundException) or a create of one that does
/// (RepositoryAlreadyExistsException) changes nothing on a conforming server and teaches
/// nothing about BatchGetImage; the rest are kept in order, as is the request.
pub fn lean(scenario: &Scenario) -> Scenario {
    let mut registry = build_registry(&[]);
    let calls = scenario
        .calls
        .iter()
        .filter(|call| !known_refusal(&registry.apply(call, 0.0)))
        .cloned()
        .collect();
    Scenario {
        calls,
        request: scenario.request.clone(),
    }
}

fn known_refusal(answer: &Result<CallOutput, OpError>) -> bool {
    matches!(answer, Err(e) if e.code == "RepositoryNotFoundException"
        || e.code == "RepositoryAlreadyExistsException")
}

/// The PutImage calls among `calls`.
pub fn push_count(calls: &[Call]) -> u32 {
    let n = calls
        .iter()
        .filter(|c| c.operation() == Operation::PutImage)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How many random sequences a run sends: `explicit` when given (`--cases`); else, from the
/// first, as many as fit in `pushes_left`, each costing the PutImage calls of its lean
/// form, at most [`MAX_BUDGETED_SEQUENCES`]. Stops at the first that does not fit, so the
/// choice depends on the seed and the budget only.
pub fn sequence_count(
    explicit: Option<u32>,
    pushes_left: u32,
    draw: impl Fn(usize) -> Scenario,
) -> u32 {
    if let Some(n) = explicit {
        return n;
    }
    let mut left = pushes_left;
    let mut count = 0;
    while count < MAX_BUDGETED_SEQUENCES {
        let cost = push_count(&lean(&draw(count)).calls);
        if cost > left {
            break;
        }
        left -= cost;
        count += 1;
    }
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// PutImage calls of the registry API probes: REG-SAME-STATE puts a tag, then moves it.
pub const REGISTRY_PROBE_PUSHES: u32 = 2;

/// PutImage calls spent outside the random phase: the PutImage digest probe (one), the base
/// fixture, each contract case's seed (`seeds`, one per case, as [`case_seed`] gives them)
/// and setup, and the registry API probes ([`REGISTRY_PROBE_PUSHES`]).
pub fn fixed_pushes(fixture: &Fixture, cases: &[Case], seeds: &[Vec<Call>]) -> u32 {
    let setup_pushes = |case: &Case| {
        let n = case
            .setup
            .iter()
            .filter(|s| s.call == Operation::PutImage.name())
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let cases: u32 = cases
        .iter()
        .zip(seeds)
        .filter(|(c, _)| !c.setup.is_empty())
        .map(|(c, seed)| push_count(seed) + setup_pushes(c))
        .sum();
    1 + push_count(&fixture.calls()) + cases + REGISTRY_PROBE_PUSHES
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::cases::files;
    use crate::strategy::fixture;

    fn all_cases() -> Vec<Case> {
        files().into_iter().flat_map(|f| f.cases).collect()
    }

    #[test]
    fn every_case_shows_on_its_planned_seed_what_it_shows_on_the_whole_fixture() {
        let fixture = fixture();
        // A case that needs uploaded blobs keeps the whole seed.
        for case in all_cases()
            .iter()
            .filter(|c| !c.setup.is_empty() && !c.require_blobs)
        {
            let named: Vec<&str> = case.repositories(&fixture).into_iter().collect();
            let expanded = Expanded::of(&fixture, case).expect("a case that expands");
            let whole = expanded.outcome(&fixture_calls(&fixture, &named));
            let planned = expanded.outcome(&case_seed(&fixture, case));
            assert!(whole.is_some(), "case {}", case.name);
            assert_eq!(planned, whole, "case {}", case.name);
        }
    }

    #[test]
    fn planned_seeds_push_fewer_images_than_the_whole_fixture() {
        let fixture = fixture();
        let cases: Vec<Case> = all_cases()
            .into_iter()
            .filter(|c| !c.setup.is_empty())
            .collect();
        let planned: u32 = cases
            .iter()
            .map(|c| push_count(&case_seed(&fixture, c)))
            .sum();
        let whole: u32 = cases
            .iter()
            .map(|c| {
                let named: Vec<&str> = c.repositories(&fixture).into_iter().collect();
                push_count(&fixture_calls(&fixture, &named))
            })
            .sum();
        assert!(
            planned * 2 < whole,
            "{planned} pushes planned, {whole} whole"
        );
    }

    /// A repository's name, image digests and `(tag, digest)` pairs.
    type Held = (String, Vec<String>, Vec<(String, String)>);

    /// Each repository's name, images and tags, in order.
    fn state(registry: &crate::model::Registry) -> Vec<Held> {
        let mut out: Vec<_> = registry
            .repositories()
            .map(|r| {
                let mut images: Vec<String> = r.images.keys().map(ToString::to_string).collect();
                let mut tags: Vec<(String, String)> = r
                    .tags
                    .iter()
                    .map(|(t, d)| (t.to_string(), d.to_string()))
                    .collect();
                images.sort();
                tags.sort();
                (r.name.to_string(), images, tags)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_lean_sequence_leaves_the_model_in_the_same_state() {
        let pool = crate::strategy::arb_scenario();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..200 {
            let scenario = proptest::strategy::ValueTree::current(
                &proptest::strategy::Strategy::new_tree(&pool, &mut runner).expect("a scenario"),
            );
            let lean = lean(&scenario);
            assert!(lean.calls.len() <= scenario.calls.len());
            assert_eq!(state(&lean.registry()), state(&scenario.registry()));
        }
    }

    #[test]
    fn the_budget_chooses_sequences_in_order_until_one_does_not_fit() {
        let draw = |i: usize| {
            let mut runner = proptest::test_runner::TestRunner::new_with_rng(
                proptest::test_runner::Config::default(),
                proptest::test_runner::TestRng::from_seed(
                    proptest::test_runner::RngAlgorithm::ChaCha,
                    &[i as u8; 32],
                ),
            );
            proptest::strategy::ValueTree::current(
                &proptest::strategy::Strategy::new_tree(
                    &crate::strategy::arb_scenario(),
                    &mut runner,
                )
                .expect("a scenario"),
            )
        };
        assert_eq!(sequence_count(Some(7), 0, draw), 7);
        assert_eq!(sequence_count(None, 0, draw), 0);
        let n = sequence_count(None, 60, draw) as usize;
        let spent: u32 = (0..n).map(|i| push_count(&lean(&draw(i)).calls)).sum();
        let next = push_count(&lean(&draw(n)).calls);
        assert!(
            spent <= 60 && spent + next > 60,
            "{n} sequences, {spent} + {next}"
        );
    }
}
