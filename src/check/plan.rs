//! The plan of a run, decided before any request is sent: what each contract case's scope is
//! seeded with, which random sequences run and which of their calls are sent, and what that
//! costs in pushes. Pure: no I/O, no clock, deterministic for a seed, so the plan is tested
//! without a server. The model decides: a case's scope holds only the fixture images whose
//! absence would change an answer of the case, and a sequence sends only the calls whose
//! answer the model does not know in advance from the repositories that exist.

use std::collections::BTreeSet;

use crate::model::{Call, CallOutput, Expected, OpError, Registry, batch_get_image_body};
use crate::strategy::cases::Case;
use crate::strategy::{Fixture, Scenario, build_registry};
use crate::wire::{self, Operation};

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

/// What a case shows from a state: each setup step's answer (the model's output, or the error
/// name) and the acceptable answers to its request.
#[derive(Debug, PartialEq)]
struct Outcome {
    setup: Vec<Result<CallOutput, &'static str>>,
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

    /// What the case shows in a scope seeded with `seed`; `None` when the model refuses a
    /// seeding call (such a seed is not one the harness may send).
    fn outcome(&self, seed: &[Call]) -> Option<Outcome> {
        let mut registry = build_registry(&[]);
        registry.require_blobs = self.require_blobs;
        for call in seed {
            registry.apply(call, 0.0).ok()?;
        }
        Some(self.run(&mut registry))
    }

    /// What the case shows from `registry`, which its setup calls then change.
    fn run(&self, registry: &mut Registry) -> Outcome {
        let setup = self
            .setup
            .iter()
            .map(|call| registry.apply(call, 0.0).map_err(|e| e.code))
            .collect();
        Outcome {
            setup,
            expected: batch_get_image_body(registry, &self.body),
        }
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

/// The most contract cases one scope holds: the cases of a scope run one after another, so a
/// longer scope saves seeding but lengthens the run's critical path.
pub const MAX_SHARED: usize = 4;

/// A scope of the contract phase: the cases run in it, in order, and what it is seeded with.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseScope {
    /// Indices of the cases, into the run's list of cases, in the order they run.
    pub cases: Vec<usize>,
    /// The fixture calls it is seeded with: every call some case's own seed holds
    /// ([`case_seed`]), in fixture order.
    pub seed: Vec<Call>,
}

/// The scopes of the contract cases that change state (the others read the base fixture),
/// given each case's own seed (`seeds[i]`, as [`case_seed`] gives it). A case joins the first
/// scope, in case order, where the model proves that it changes nothing: every case of the
/// scope, run after those before it on the scope's seed, shows exactly what it shows alone on
/// its own seed (each setup step's answer and the acceptable answers to its request), and
/// the scope holds fewer than [`MAX_SHARED`] cases. Otherwise it starts a scope of its own. A
/// case that needs uploaded blobs, or whose setup does not expand, always runs alone. Pure,
/// and the same for the same cases.
pub fn case_scopes(fixture: &Fixture, cases: &[Case], seeds: &[Vec<Call>]) -> Vec<CaseScope> {
    let every = fixture.calls();
    let mut scopes: Vec<(CaseScope, bool)> = Vec::new();
    let expanded: Vec<Option<(Expanded, Outcome)>> = cases
        .iter()
        .zip(seeds)
        .map(|(case, seed)| {
            let expanded = Expanded::of(fixture, case).filter(|e| !e.require_blobs)?;
            let alone = expanded.outcome(seed)?;
            Some((expanded, alone))
        })
        .collect();
    for (i, case) in cases.iter().enumerate() {
        if case.setup.is_empty() {
            continue;
        }
        let alone = CaseScope {
            cases: vec![i],
            seed: seeds[i].clone(),
        };
        if expanded[i].is_none() {
            scopes.push((alone, false));
            continue;
        }
        let joined = scopes.iter_mut().find_map(|(scope, open)| {
            if !*open || scope.cases.len() >= MAX_SHARED {
                return None;
            }
            let mut members = scope.cases.clone();
            members.push(i);
            let seed: Vec<Call> = every
                .iter()
                .filter(|call| members.iter().any(|&m| seeds[m].contains(call)))
                .cloned()
                .collect();
            let proven = shares(&seed, members.iter().map(|&m| expanded[m].as_ref()));
            proven.then(|| {
                *scope = CaseScope {
                    cases: members,
                    seed,
                }
            })
        });
        if joined.is_none() {
            scopes.push((alone, true));
        }
    }
    scopes.into_iter().map(|(scope, _)| scope).collect()
}

/// Whether each case, run in order from `seed`, shows what it shows alone.
fn shares<'a>(seed: &[Call], cases: impl Iterator<Item = Option<&'a (Expanded, Outcome)>>) -> bool {
    let mut registry = build_registry(&[]);
    if seed.iter().any(|call| registry.apply(call, 0.0).is_err()) {
        return false;
    }
    for case in cases {
        let Some((expanded, alone)) = case else {
            return false;
        };
        if expanded.run(&mut registry) != *alone {
            return false;
        }
    }
    true
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

/// The manifest types a whole-state probe accepts one at a time, besides accepting any: every
/// tag the state holds is then asked for in each column of the translation table (spec
/// section 5, media-type negotiation), whatever the generators happened to request.
const ACCEPT_ONLY: [(&str, &str); 3] = [
    ("Docker schema 1", crate::model::manifest::S1),
    ("Docker schema 2", crate::model::manifest::S2),
    ("OCI", crate::model::manifest::OCI),
];

/// The probes a random sequence sends after each of its calls, sent together, as (what each
/// asks, the request): the sequence's own request; every image `state` holds in the request's
/// repository, by digest and by tag (at most 100 ids, the most a request may name, in a fixed
/// order), when it holds one; and when it holds a tag, the same accepting only Docker schema
/// 1, only Docker schema 2, and only OCI.
pub fn step_probes(
    state: &Registry,
    request: &wire::BatchGetImageRequest,
) -> Vec<(String, wire::BatchGetImageRequest)> {
    let mut probes = vec![(String::new(), request.clone())];
    let Some(name) = request.repository_name.as_deref() else {
        return probes;
    };
    let Some(repository) = state.repository(state.account.as_str(), name) else {
        return probes;
    };
    let mut digests: Vec<String> = repository.images.keys().map(ToString::to_string).collect();
    let mut tags: Vec<String> = repository.tags.keys().map(ToString::to_string).collect();
    digests.sort();
    tags.sort();
    let tagged = !tags.is_empty();
    let ids: Vec<wire::ImageIdentifier> = digests
        .into_iter()
        .map(wire::ImageIdentifier::digest)
        .chain(tags.into_iter().map(wire::ImageIdentifier::tag))
        .take(100)
        .collect();
    if ids.is_empty() {
        return probes;
    }
    let whole = wire::BatchGetImageRequest {
        repository_name: Some(name.to_owned()),
        image_ids: Some(ids),
        ..Default::default()
    };
    if tagged {
        probes.extend(ACCEPT_ONLY.iter().map(|(label, media_type)| {
            let only = wire::BatchGetImageRequest {
                accepted_media_types: Some(vec![(*media_type).to_owned()]),
                ..whole.clone()
            };
            (format!("every image, accepting only {label}"), only)
        }));
    }
    probes.insert(1, ("every image".to_owned(), whole));
    probes
}

/// What a random sequence teaches, counted offline with the model: the rows and contexts of
/// the spec's tables its lean form reaches (its calls, and the probes after each call, see
/// [`step_probes`]), and each call's outcome (the operation and
/// the model's answer: accepted, or the error's name).
fn teaches(scenario: &Scenario) -> BTreeSet<String> {
    use crate::oracle::coverage::{exercised_by_calls, exercised_by_request};
    let lean = lean(scenario);
    let mut registry = build_registry(&[]);
    let mut taught: BTreeSet<String> = exercised_by_calls(&registry, &lean.calls)
        .into_iter()
        .map(|pair| format!("{pair:?}"))
        .collect();
    let probe = |registry: &Registry, taught: &mut BTreeSet<String>| {
        for (_, request) in step_probes(registry, &lean.request) {
            let expected = crate::model::batch_get_image(registry, &request);
            taught.extend(
                exercised_by_request(registry, &request, &expected)
                    .into_iter()
                    .map(|pair| format!("{pair:?}")),
            );
        }
    };
    for call in &lean.calls {
        let outcome = match registry.apply(call, 0.0) {
            Ok(_) => "accepted",
            Err(e) => e.code,
        };
        taught.insert(format!("{} {outcome}", call.operation().name()));
        probe(&registry, &mut taught);
    }
    if lean.calls.is_empty() {
        probe(&registry, &mut taught);
    }
    taught
}

/// Which random sequences a run sends, by their number (each is drawn by `draw(number)`):
/// `0..n` when `explicit` gives `n` (`--cases`). Else chosen, offline, among the first
/// [`MAX_BUDGETED_SEQUENCES`] within `pushes_left`, each costing the PutImage calls of its lean
/// form: first, one after another, the sequence that teaches the most not taught yet (see
/// `teaches`) per push it costs (ties to the lower number); when none teaches anything new,
/// the rest in order of their numbers, while they fit. Sorted by number, so that the run and
/// its report depend on the seed and the budget only.
pub fn choose_sequences(
    explicit: Option<u32>,
    pushes_left: u32,
    draw: impl Fn(usize) -> Scenario,
) -> Vec<usize> {
    if let Some(n) = explicit {
        return (0..n as usize).collect();
    }
    let candidates: Vec<(u32, BTreeSet<String>)> = (0..MAX_BUDGETED_SEQUENCES)
        .map(|i| {
            let scenario = draw(i);
            (push_count(&lean(&scenario).calls), teaches(&scenario))
        })
        .collect();
    let mut left = pushes_left;
    let mut taught: BTreeSet<&String> = BTreeSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    loop {
        // The most new per push, as new * (best cost + 1) > best * (cost + 1).
        let best = (0..candidates.len())
            .filter(|i| !chosen.contains(i) && candidates[*i].0 <= left)
            .map(|i| {
                let new = candidates[i]
                    .1
                    .iter()
                    .filter(|t| !taught.contains(t))
                    .count();
                (i, new, candidates[i].0 + 1)
            })
            .filter(|&(_, new, _)| new > 0)
            .fold(None, |best: Option<(usize, usize, u32)>, c| match best {
                Some(b) if c.1 * b.2 as usize <= b.1 * c.2 as usize => Some(b),
                _ => Some(c),
            });
        let Some((i, _, _)) = best else { break };
        left -= candidates[i].0;
        taught.extend(&candidates[i].1);
        chosen.push(i);
    }
    for (i, (cost, _)) in candidates.iter().enumerate() {
        if !chosen.contains(&i) && *cost <= left {
            left -= cost;
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// PutImage calls of the registry API probes: REG-SAME-STATE puts a tag, then moves it.
pub const REGISTRY_PROBE_PUSHES: u32 = 2;

/// PutImage calls spent outside the random phase: the PutImage digest probe (one), the base
/// fixture, each case scope's seed ([`case_scopes`]), every contract case's setup, and the
/// registry API probes ([`REGISTRY_PROBE_PUSHES`]). A case whose shared scope diverged from
/// ECR before it runs alone, on a seed of its own: a server that diverges may cost more.
pub fn fixed_pushes(fixture: &Fixture, cases: &[Case], scopes: &[CaseScope]) -> u32 {
    let setup: usize = cases
        .iter()
        .flat_map(|case| &case.setup)
        .filter(|step| step.call == Operation::PutImage.name())
        .count();
    let seeds: u32 = scopes.iter().map(|scope| push_count(&scope.seed)).sum();
    1 + push_count(&fixture.calls())
        + seeds
        + u32::try_from(setup).unwrap_or(u32::MAX)
        + REGISTRY_PROBE_PUSHES
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

    /// Each case's scope, as the plan shares them, with each case's own seed.
    fn planned() -> (Fixture, Vec<Case>, Vec<Vec<Call>>, Vec<CaseScope>) {
        let fixture = fixture();
        let cases = all_cases();
        let seeds: Vec<Vec<Call>> = cases.iter().map(|c| case_seed(&fixture, c)).collect();
        let scopes = case_scopes(&fixture, &cases, &seeds);
        (fixture, cases, seeds, scopes)
    }

    #[test]
    fn every_case_that_changes_state_runs_in_exactly_one_scope() {
        let (_, cases, _, scopes) = planned();
        let mut planned: Vec<usize> = scopes.iter().flat_map(|s| s.cases.clone()).collect();
        planned.sort_unstable();
        let changing: Vec<usize> = (0..cases.len())
            .filter(|&i| !cases[i].setup.is_empty())
            .collect();
        assert_eq!(planned, changing);
        assert!(scopes.iter().all(|s| s.cases.len() <= MAX_SHARED));
        assert!(
            scopes
                .iter()
                .all(|s| s.cases.windows(2).all(|w| w[0] < w[1])),
            "the cases of a scope run in case order"
        );
    }

    /// Checked again here apart from the planner: every case of a shared scope, run after
    /// the cases before it on the scope's seed, answers each setup call and its request as on
    /// its own seed, the registry built afresh with the model's own builder.
    #[test]
    fn a_case_in_a_shared_scope_shows_what_it_shows_alone() {
        let (fixture, cases, seeds, scopes) = planned();
        let shared: Vec<&CaseScope> = scopes.iter().filter(|s| s.cases.len() > 1).collect();
        assert!(!shared.is_empty(), "the plan shares no scope");
        for scope in shared {
            let mut before: Vec<Call> = scope.seed.clone();
            for &i in &scope.cases {
                let setup: Vec<Call> = cases[i]
                    .setup
                    .iter()
                    .map(|s| s.to_call(&fixture).expect("a case that expands"))
                    .collect();
                let body = cases[i].body(&fixture, |_| None);
                let answers = |start: &[Call]| {
                    let mut registry = crate::strategy::build_registry(start);
                    let setup: Vec<_> = setup.iter().map(|c| registry.apply(c, 0.0)).collect();
                    (setup, batch_get_image_body(&registry, &body))
                };
                assert_eq!(
                    answers(&before),
                    answers(&seeds[i]),
                    "case {} after {:?}",
                    cases[i].name,
                    scope.cases
                );
                before.extend(setup);
            }
        }
    }

    #[test]
    fn shared_scopes_push_fewer_images_than_a_scope_for_each_case() {
        let (_, cases, seeds, scopes) = planned();
        let alone: u32 = (0..cases.len())
            .filter(|&i| !cases[i].setup.is_empty())
            .map(|i| push_count(&seeds[i]))
            .sum();
        let shared: u32 = scopes.iter().map(|s| push_count(&s.seed)).sum();
        let changing = cases.iter().filter(|c| !c.setup.is_empty()).count();
        assert!(
            shared < alone && scopes.len() < changing,
            "{} scopes for {changing} cases, {shared} pushes shared against {alone} alone",
            scopes.len()
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

    /// Sequence number `i` of a fixed seed.
    fn draw(i: usize) -> Scenario {
        let mut runner = proptest::test_runner::TestRunner::new_with_rng(
            proptest::test_runner::Config::default(),
            proptest::test_runner::TestRng::from_seed(
                proptest::test_runner::RngAlgorithm::ChaCha,
                &[i as u8; 32],
            ),
        );
        proptest::strategy::ValueTree::current(
            &proptest::strategy::Strategy::new_tree(&crate::strategy::arb_scenario(), &mut runner)
                .expect("a scenario"),
        )
    }

    #[test]
    fn the_budget_chooses_sequences_that_fit_and_teach_what_those_in_order_would() {
        assert_eq!(
            choose_sequences(Some(7), 0, draw),
            (0..7).collect::<Vec<_>>()
        );
        let free: Vec<usize> = (0..MAX_BUDGETED_SEQUENCES)
            .filter(|&i| push_count(&lean(&draw(i)).calls) == 0)
            .collect();
        assert_eq!(
            choose_sequences(None, 0, draw),
            free,
            "those that push nothing"
        );
        let chosen = choose_sequences(None, 60, draw);
        let cost = |i: &usize| push_count(&lean(&draw(*i)).calls);
        let spent: u32 = chosen.iter().map(cost).sum();
        assert!(spent <= 60, "{spent} pushes");
        assert!(chosen.windows(2).all(|w| w[0] < w[1]), "{chosen:?}");
        // Nothing left out would still fit.
        assert!(
            (0..MAX_BUDGETED_SEQUENCES)
                .filter(|i| !chosen.contains(i))
                .all(|i| spent + cost(&i) > 60),
            "{chosen:?}"
        );
        // The same pushes spent on the first sequences in order teach no more.
        let mut in_order = Vec::new();
        let mut left = 60;
        for i in 0..MAX_BUDGETED_SEQUENCES {
            if cost(&i) > left {
                break;
            }
            left -= cost(&i);
            in_order.push(i);
        }
        let taught = |of: &[usize]| -> BTreeSet<String> {
            of.iter().flat_map(|&i| teaches(&draw(i))).collect()
        };
        let (chosen_taught, in_order_taught) = (taught(&chosen), taught(&in_order));
        assert!(
            chosen_taught.len() >= in_order_taught.len(),
            "chosen teach {}, in order {}",
            chosen_taught.len(),
            in_order_taught.len()
        );
    }
}
