//! Properties over generated registries, requests and server profiles.

use arbitrary::{Arbitrary, Unstructured};
use ecr_contract::r#gen::{arb_profile, arb_scenario};
use ecr_contract::model::{Expected, IdAnswer, Profile, batch_get_image};
use ecr_contract::oracle::{RuleId, check};
use ecr_contract::wire::{self, Decode, Input};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::support::mutate::Raw;

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn answer_of(expected: &Expected, profile: &Profile) -> Raw {
    Raw::of(&expected.answer(profile))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    /// Whatever the registry, request and profile, the model's answer, sent through the wire,
    /// passes the oracle.
    #[test]
    fn model_answer_passes_the_oracle(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        let violations = check(&expected, &answer_of(&expected, &profile).observe());
        prop_assert!(violations.is_empty(), "{:#?}", violations);
    }

    /// In every 200 answer of the model, every failure echoes a requested id, every entry
    /// names a requested tag or digest, and there is one answer per id (per distinct id when
    /// the profile answers repeated ids once; at least that under `DigestTags::Each`).
    #[test]
    fn accounting_holds(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        let Ok(response) = expected.answer(&profile) else { return Ok(()) };
        let images = response.images.unwrap_or_default();
        let failures = response.failures.unwrap_or_default();
        let ids: Vec<&wire::ImageIdentifier> = scenario.request.image_ids.iter().flatten().collect();
        for f in &failures {
            prop_assert!(ids.contains(&f.image_id.as_ref().unwrap()), "{f:?} answers no requested id");
        }
        for i in &images {
            let got = i.image_id.as_ref().unwrap();
            let named = ids.iter().any(|id| {
                id.image_tag.as_ref().is_some_and(|t| got.image_tag.as_ref() == Some(t))
                    || id.image_digest.as_deref().zip(got.image_digest.as_deref()).is_some_and(|(d, g)| d.eq_ignore_ascii_case(g))
            });
            prop_assert!(named, "{got:?} names no requested tag or digest");
        }
        let mut distinct: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
        distinct.sort();
        distinct.dedup();
        let want = if profile.dedupe_ids { distinct.len() } else { ids.len() };
        let answers = images.len() + failures.len();
        match profile.digest_tags {
            ecr_contract::model::DigestTags::Each => prop_assert!(answers >= want),
            _ => prop_assert_eq!(answers, want),
        }
    }

    /// Every stored image's digest is the SHA-256 of its manifest bytes, and so is every
    /// untranslated manifest in an answer.
    #[test]
    fn digests_are_sha256_of_the_manifest_bytes(scenario in arb_scenario(), profile in arb_profile()) {
        let registry = scenario.registry();
        for repository in registry.repositories() {
            for (digest, image) in &repository.images {
                let hex = format!("sha256:{:x}", Sha256::digest(image.manifest.bytes.as_bytes()));
                prop_assert_eq!(digest.as_str(), hex);
            }
        }
        let expected = batch_get_image(&registry, &scenario.request);
        let Some(batch) = &expected.success else { return Ok(()) };
        let Ok(response) = expected.answer(&profile) else { return Ok(()) };
        for image in response.images.unwrap_or_default() {
            let manifest = image.image_manifest.unwrap();
            let stored = batch.ids.iter().any(|e| matches!(&e.answer, IdAnswer::Found(f) if f.stored.bytes == manifest));
            if stored {
                let hex = format!("sha256:{:x}", Sha256::digest(manifest.as_bytes()));
                prop_assert_eq!(image.image_id.unwrap().image_digest.unwrap().to_lowercase(), hex);
            }
        }
    }

    /// The oracle catches a dropped entry, a changed digest and a flipped failure code in any
    /// answer of the model.
    #[test]
    fn mutated_answers_are_caught(scenario in arb_scenario(), profile in arb_profile()) {
        let expected = batch_get_image(&scenario.registry(), &scenario.request);
        let Ok(response) = expected.answer(&profile) else { return Ok(()) };
        let judge = |r: &wire::BatchGetImageResponse| check(&expected, &ecr_contract::oracle::Observed::from_answer(&Ok(r.clone())));
        let images = response.images.clone().unwrap_or_default();
        let failures = response.failures.clone().unwrap_or_default();
        let sent = |id: &Option<wire::ImageIdentifier>| scenario.request.image_ids.iter().flatten().filter(|i| Some(*i) == id.as_ref()).count();
        let also_answered = |id: &Option<wire::ImageIdentifier>| images.iter().any(|i| {
            let (got, id) = (i.image_id.as_ref().unwrap(), id.as_ref().unwrap());
            (id.image_tag.is_some() && got.image_tag == id.image_tag)
                || id.image_digest.as_deref().zip(got.image_digest.as_deref()).is_some_and(|(d, g)| d.eq_ignore_ascii_case(g))
        });
        if let Some(once) = failures.iter().position(|f| sent(&f.image_id) == 1 && !also_answered(&f.image_id)) {
            let mut r = response.clone();
            r.failures.as_mut().unwrap().remove(once);
            prop_assert!(judge(&r).iter().any(|v| v.rule == RuleId::IdAccounting), "dropped failure");
        }
        if let Some(first) = failures.first() {
            // Flip the code to a modelled one the expectation does not allow, if there is one.
            let allowed: Vec<&str> = expected.success.iter().flat_map(|b| &b.ids)
                .filter(|e| Some(&e.requested) == first.image_id.as_ref())
                .flat_map(|e| match &e.answer {
                    IdAnswer::Fails(f) => f.codes.clone(),
                    IdAnswer::Found(f) => f.or_fails.iter().flat_map(|o| o.codes.clone()).collect(),
                })
                .collect();
            if let Some(other) = ecr_contract::model::FAILURE_CODES.iter().find(|c| !allowed.contains(c)) {
                let mut r = response.clone();
                r.failures.as_mut().unwrap()[0].failure_code = Some((*other).to_owned());
                prop_assert!(!judge(&r).is_empty(), "flipped code {:?}", r.failures);
            }
        }
        if let Some(first) = images.first() {
            let mut r = response.clone();
            let digest = first.image_id.as_ref().unwrap().image_digest.clone().unwrap();
            r.images.as_mut().unwrap()[0].image_id.as_mut().unwrap().image_digest = Some(format!("{}0", &digest[..digest.len() - 1]).replace(&digest[digest.len() - 1..], if digest.ends_with('0') { "1" } else { "0" }));
            prop_assert!(!judge(&r).is_empty(), "changed digest");
            let id = first.image_id.as_ref().unwrap();
            let alike = images[1..].iter().any(|i| {
                let other = i.image_id.as_ref().unwrap();
                other.image_tag.is_some() && other.image_tag == id.image_tag
                    || other.image_digest.as_deref().zip(id.image_digest.as_deref()).is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            });
            if !alike {
                let mut r = response.clone();
                r.images.as_mut().unwrap().remove(0);
                prop_assert!(!judge(&r).is_empty(), "dropped image");
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
