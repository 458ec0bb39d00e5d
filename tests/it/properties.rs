//! Properties over generated registries, requests and server profiles.

use arbitrary::{Arbitrary, Unstructured};
use ecr_contract::fuzzing::{
    accounting_holds, digests_are_content_addresses, model_answer_passes, mutations_are_caught,
};
use ecr_contract::r#gen::{arb_profile, arb_scenario};
use ecr_contract::model::batch_get_image;
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
    /// names a requested tag or digest, and there is one answer per requested id.
    #[test]
    fn accounting_holds_in_every_answer(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        if let Ok(response) = expected.answer(&profile) {
            prop_assert_eq!(accounting_holds(&scenario, &profile, &response), Ok(()));
        }
    }

    /// Every stored image's digest is the SHA-256 of its manifest bytes, and so is every
    /// untranslated manifest in an answer.
    #[test]
    fn digests_are_sha256_of_the_manifest_bytes(scenario in arb_scenario(), profile in arb_profile()) {
        let registry = scenario.registry();
        let expected = batch_get_image(&registry, &scenario.request);
        if let Ok(response) = expected.answer(&profile) {
            prop_assert_eq!(digests_are_content_addresses(&registry, &expected, &response), Ok(()));
        }
    }

    /// The oracle catches a dropped entry or failure, a changed digest and a flipped failure
    /// code in any answer of the model.
    #[test]
    fn mutated_answers_are_caught(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        if let Ok(response) = expected.answer(&profile) {
            prop_assert_eq!(mutations_are_caught(&scenario, &expected, &response), Ok(()));
        }
    }

    /// The model is a function: the same state and request give the same expectation.
    #[test]
    fn the_model_is_deterministic(scenario in arb_scenario()) {
        let registry = scenario.registry();
        prop_assert_eq!(batch_get_image(&registry, &scenario.request), batch_get_image(&registry, &scenario.request));
    }
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
