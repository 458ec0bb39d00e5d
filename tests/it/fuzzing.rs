//! The fuzz targets on stable: the seed corpus and every committed regression replay
//! without a finding, and random bytes never make a target panic.

use ecr_contract::fuzzing::{TARGETS, seeds};
use proptest::prelude::*;

#[test]
fn every_target_has_seeds_and_they_replay_clean() {
    for (name, target) in TARGETS {
        let seeds = seeds(name).expect("a known target");
        assert!(!seeds.is_empty(), "{name} has no seeds");
        for seed in &seeds {
            target(seed);
        }
    }
}

#[test]
fn committed_regressions_replay_clean() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{name}")) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            target(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "fuzz/regressions/ holds no input");
}

#[test]
fn model_oracle_seeds_replay_the_scenarios_they_were_recorded_from() {
    use ecr_contract::strategy::{arb_profile, arb_scenario};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    // The seed recorded for seed 0, replayed through the fuzzers' pass-through RNG, gives the
    // scenario and profile the recording RNG drew.
    let mut recording = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::Recorder, &[0; 32]),
    );
    let scenario = arb_scenario()
        .new_tree(&mut recording)
        .expect("a scenario")
        .current();
    let profile = arb_profile()
        .new_tree(&mut recording)
        .expect("a profile")
        .current();
    let seeds = seeds("model_oracle").expect("seeds");
    assert_eq!(seeds[0], recording.rng().bytes_used());
    let mut replay = TestRunner::new_with_rng(
        Config::default(),
        ecr_contract::fuzzing::pass_through_rng(&seeds[0]),
    );
    assert_eq!(
        arb_scenario()
            .new_tree(&mut replay)
            .expect("a scenario")
            .current(),
        scenario
    );
    assert_eq!(
        arb_profile()
            .new_tree(&mut replay)
            .expect("a profile")
            .current(),
        profile
    );
    let mut distinct = seeds.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        seeds.len(),
        "every seed is a different scenario"
    );
}

proptest! {
    /// No target panics on random bytes.
    #[test]
    fn targets_survive_random_bytes(index in 0..TARGETS.len(), data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        (TARGETS[index].1)(&data);
    }
}
