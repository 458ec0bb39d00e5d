//! Properties over generated registries, requests and server profiles.

use arbitrary::{Arbitrary, Unstructured};
use ecr_contract::fuzzing::{
    accounting_holds, digests_are_content_addresses, model_answer_passes, mutations_are_caught,
};
use ecr_contract::model::{Expected, ImageDigest, OpError, batch_get_image};
use ecr_contract::oracle::{Observed, check};
use ecr_contract::strategy::{arb_profile, arb_scenario};
use ecr_contract::wire::{self, Decode, Input};
use proptest::prelude::*;

/// `PROPTEST_CASES` if set, else `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    /// Whatever the registry, request and profile, the model's answer, sent through the wire,
    /// passes the oracle.
    #[test]
    fn model_answer_passes_the_oracle(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        prop_assert_eq!(model_answer_passes(&expected, &profile), Ok(()));
    }

    /// In every 200 answer of the model, every failure echoes a requested id, every entry
    /// names a requested tag or digest, and there is one answer per requested id; every error
    /// answer is one the expectation lists.
    #[test]
    fn accounting_holds_in_every_answer(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        match expected.answer(&profile) {
            Ok(response) => prop_assert_eq!(accounting_holds(&scenario, &profile, &response), Ok(())),
            Err(e) => prop_assert!(error_is_listed(&expected, e.code), "{e:?} for {expected:?}"),
        }
    }

    /// Every stored image's digest is the SHA-256 of its manifest bytes, and so is every
    /// untranslated manifest in an answer.
    #[test]
    fn digests_are_sha256_of_the_manifest_bytes(scenario in arb_scenario(), profile in arb_profile()) {
        let registry = scenario.registry();
        for image in registry.repositories().flat_map(|r| r.images.values()) {
            let bytes = image.manifest.bytes.as_bytes();
            prop_assert_eq!(&image.manifest.digest, &ImageDigest::of(bytes));
        }
        let expected = batch_get_image(&registry, &scenario.request);
        match expected.answer(&profile) {
            Ok(response) => prop_assert_eq!(digests_are_content_addresses(&registry, &expected, &response), Ok(())),
            Err(e) => prop_assert!(error_is_listed(&expected, e.code), "{e:?} for {expected:?}"),
        }
    }

    /// The oracle catches a dropped entry or failure, a changed digest and a flipped failure
    /// code in any answer of the model.
    #[test]
    fn mutated_answers_are_caught(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        match expected.answer(&profile) {
            Ok(response) => prop_assert_eq!(mutations_are_caught(&scenario, &expected, &response), Ok(())),
            // An error answer named otherwise is caught too.
            Err(e) => {
                let wrong = OpError::new("ImageNotFoundException", e.message);
                let violations = check(&expected, &Observed::from_answer(&Err(wrong)));
                prop_assert!(!violations.is_empty(), "a wrong error passed for {:?}", expected);
            }
        }
    }

    /// The model is a function: the same state and request give the same expectation.
    #[test]
    fn the_model_is_deterministic(scenario in arb_scenario()) {
        let registry = scenario.registry();
        prop_assert_eq!(batch_get_image(&registry, &scenario.request), batch_get_image(&registry, &scenario.request));
    }
}

/// Whether `code` is among the whole-request errors `expected` lists.
fn error_is_listed(expected: &Expected, code: &str) -> bool {
    expected
        .error
        .as_ref()
        .is_some_and(|e| e.codes.contains(&code))
}

/// Encodes `T`, decodes it back, and compares.
fn round_trips<
    T: Decode + serde::Serialize + PartialEq + std::fmt::Debug + for<'a> Arbitrary<'a>,
>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let Ok(value) = T::arbitrary(&mut Unstructured::new(bytes)) else {
        return Ok(());
    };
    let json = serde_json::to_vec(&value).unwrap();
    if json.windows(4).any(|w| w == b"null")
        && !serde_json::to_string(&value).unwrap().contains("\"null")
    {
        // A non-finite timestamp encodes as null; JSON has no such number.
        return Ok(());
    }
    let decoded = wire::decode_body::<T>(&json)
        .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&json))))?;
    prop_assert!(decoded.is_clean(), "{:?}", decoded);
    prop_assert_eq!(decoded.value, value);
    Ok(())
}

macro_rules! round_trip_tests {
    ($($name:ident: $input:ty;)*) => {
        proptest! {
            $(
                /// Encoding then decoding the operation's input and output is the identity.
                #[test]
                fn $name(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                    round_trips::<$input>(&bytes)?;
                    round_trips::<<$input as Input>::Output>(&bytes)?;
                }
            )*
        }
    };
}

round_trip_tests! {
    batch_get_image_shapes_round_trip: wire::BatchGetImageRequest;
    create_repository_shapes_round_trip: wire::CreateRepositoryRequest;
    initiate_layer_upload_shapes_round_trip: wire::InitiateLayerUploadRequest;
    upload_layer_part_shapes_round_trip: wire::UploadLayerPartRequest;
    complete_layer_upload_shapes_round_trip: wire::CompleteLayerUploadRequest;
    put_image_shapes_round_trip: wire::PutImageRequest;
    batch_delete_image_shapes_round_trip: wire::BatchDeleteImageRequest;
    delete_repository_shapes_round_trip: wire::DeleteRepositoryRequest;
}

/// `arb_registry` and `arb_batch_get_image_request`, drawn apart as a user's property test
/// draws them, share one manifest pool: many requests name a digest the registry holds.
#[test]
fn registries_and_requests_drawn_apart_still_meet() {
    use ecr_contract::strategy::{arb_batch_get_image_request, arb_registry};
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut hits = 0;
    for _ in 0..200 {
        let registry = arb_registry().new_tree(&mut runner).unwrap().current();
        let request = arb_batch_get_image_request()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let held = |d: &str| registry.repositories().any(|r| r.images.contains_key(d));
        let ids = request.image_ids.unwrap_or_default();
        hits += usize::from(
            ids.iter()
                .filter_map(|id| id.image_digest.as_deref())
                .any(held),
        );
    }
    assert!(
        hits >= 40,
        "only {hits} of 200 requests name a digest their registry holds"
    );
}
