//! Waves: a list of setup calls cut into consecutive waves whose calls may be sent at once,
//! because the model shows that the order they are answered in changes nothing. Seeding a
//! scope then costs a round trip per wave (and the blob uploads before it), not one per call.
//! Pure: no I/O, no clock; it must not send anything nor decide what is seeded (the plan
//! does).
//!
//! A call joins the current wave only when, for every call already in it, applying the two
//! to the model in either order, from the state before the wave, gives the same answers and
//! the same registry. On top of the model, it is conservative about what a server may race
//! on: only CreateRepository and PutImage share a wave (a layer upload never does, nor a
//! delete), and two pushes of one manifest to one repository never do (a server stores the
//! image once; the second push only tags it). Waves are consecutive, in plan order: the
//! standard fixture seeds in four (its three repositories; its first image; that image's
//! second tag with the next four images; the manifest list of two of those with the last
//! three images).

use std::ops::Range;

use crate::model::Call;
use crate::strategy::build_registry;

/// The waves of `calls`, as consecutive ranges of indices covering them all, in order.
pub(crate) fn waves(calls: &[Call]) -> Vec<Range<usize>> {
    let mut state = build_registry(&[]);
    let mut waves = Vec::new();
    let mut start = 0;
    for (i, call) in calls.iter().enumerate() {
        let joins = i > start
            && calls[start..i]
                .iter()
                .all(|earlier| may_share(earlier, call) && commute(&state, earlier, call));
        if i > start && !joins {
            for earlier in &calls[start..i] {
                // A refusal leaves the state as it was, as on the server.
                let _ = state.apply(earlier, 0.0);
            }
            waves.push(start..i);
            start = i;
        }
    }
    if start < calls.len() {
        waves.push(start..calls.len());
    }
    waves
}

/// Whether `a` and `b` may be in flight together, the model aside: creates and pushes only,
/// and never two pushes of the same manifest to the same repository.
fn may_share(a: &Call, b: &Call) -> bool {
    match (a, b) {
        (Call::PutImage(a), Call::PutImage(b)) => {
            a.repository_name != b.repository_name || a.image_manifest != b.image_manifest
        }
        (
            Call::CreateRepository(_) | Call::PutImage(_),
            Call::CreateRepository(_) | Call::PutImage(_),
        ) => true,
        _ => false,
    }
}

/// Whether `a` then `b` and `b` then `a`, from `state`, give the same answers and leave the
/// same registry.
fn commute(state: &crate::model::Registry, a: &Call, b: &Call) -> bool {
    let (mut ab, mut ba) = (state.clone(), state.clone());
    let a_first = ab.apply(a, 0.0);
    let b_second = ab.apply(b, 0.0);
    let b_first = ba.apply(b, 0.0);
    let a_second = ba.apply(a, 0.0);
    a_first == a_second && b_first == b_second && ab == ba
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::plan::case_seed;
    use crate::model::{CallOutput, OpError, Registry};
    use crate::strategy::{cases::files, fixture};
    use crate::wire::{self, Operation};

    /// Each call's answer, in plan order, and the registry after applying `calls` wave by
    /// wave, each wave's calls in plan order or in reverse.
    fn run(calls: &[Call], waves: &[Range<usize>], reverse: bool) -> (Vec<Answer>, Registry) {
        let mut state = build_registry(&[]);
        let mut answers: Vec<Option<Answer>> = vec![None; calls.len()];
        for wave in waves {
            let mut order: Vec<usize> = wave.clone().collect();
            if reverse {
                order.reverse();
            }
            for i in order {
                answers[i] = Some(state.apply(&calls[i], 0.0));
            }
        }
        (answers.into_iter().flatten().collect(), state)
    }

    type Answer = Result<CallOutput, OpError>;

    fn assert_waves_commute(what: &str, calls: &[Call]) {
        let waves = waves(calls);
        let covered: Vec<usize> = waves.iter().flat_map(Clone::clone).collect();
        assert_eq!(covered, (0..calls.len()).collect::<Vec<_>>(), "{what}");
        assert_eq!(
            run(calls, &waves, false),
            run(calls, &waves, true),
            "{what}: its waves applied in reverse order give other answers or another state"
        );
    }

    #[test]
    fn the_standard_fixture_seeds_in_four_waves_not_thirteen_calls_one_after_another() {
        let calls = fixture().calls();
        let waves = waves(&calls);
        assert_eq!(calls.len(), 13);
        // Creates; `s2:v1`; `s2:latest` with `s2b`, `oci`, `s1` and `orphan`; the list of
        // `s2` and `oci` with `pinned`, `precise` and `exotic`.
        assert_eq!(waves, vec![0..3, 3..4, 4..9, 9..13]);
        let operations: Vec<Operation> = calls[0..3].iter().map(Call::operation).collect();
        assert_eq!(operations, [Operation::CreateRepository; 3]);
    }

    #[test]
    fn the_fixture_and_every_cases_seed_give_the_same_answers_whatever_the_order_in_a_wave() {
        let fixture = fixture();
        assert_waves_commute("the fixture", &fixture.calls());
        for case in files().into_iter().flat_map(|f| f.cases) {
            let seed = case_seed(&fixture, &case);
            assert_waves_commute(&case.name, &seed);
        }
    }

    fn create(name: &str) -> Call {
        Call::CreateRepository(wire::CreateRepositoryRequest {
            repository_name: Some(name.to_owned()),
            ..Default::default()
        })
    }

    fn push(name: &str, image: &str, tag: &str) -> Call {
        let fixture = fixture();
        let image = fixture.image(image).expect("a fixture image");
        Call::PutImage(wire::PutImageRequest {
            repository_name: Some(name.to_owned()),
            image_manifest: Some(image.manifest.clone()),
            image_manifest_media_type: Some(image.media_type.to_owned()),
            image_tag: Some(tag.to_owned()),
            ..Default::default()
        })
    }

    #[test]
    fn a_call_that_depends_on_one_of_the_wave_starts_the_next() {
        // A push waits for its repository; a tag moved to another image waits for the first.
        let calls = [
            create("team/a"),
            create("team/b"),
            push("team/a", "s2", "t"),
            push("team/b", "s2", "t"),
            push("team/a", "s2b", "t"),
        ];
        assert_eq!(waves(&calls), vec![0..2, 2..4, 4..5]);
    }

    #[test]
    fn layer_uploads_deletes_and_a_second_push_of_one_image_never_share_a_wave() {
        let initiate = Call::InitiateLayerUpload(wire::InitiateLayerUploadRequest {
            repository_name: Some("team/a".into()),
            ..Default::default()
        });
        let delete = Call::DeleteRepository(wire::DeleteRepositoryRequest {
            repository_name: Some("team/z".into()),
            ..Default::default()
        });
        let calls = [
            create("team/a"),
            initiate.clone(),
            initiate,
            push("team/a", "s2", "v1"),
            push("team/a", "s2", "latest"),
            delete,
            create("team/y"),
        ];
        assert_eq!(
            waves(&calls),
            vec![0..1, 1..2, 2..3, 3..4, 4..5, 5..6, 6..7]
        );
        assert!(waves(&[]).is_empty());
    }
}
