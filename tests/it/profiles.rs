//! The embedded server's profile: each choice a conforming server may make shows in `serve`'s
//! answer as [`Profile`]'s documentation says. The oracle accepts every one of these answers,
//! so only a test of the answer itself tells that a choice is honoured.

use ecr_contract::model::manifest::{OCI, S1};
use ecr_contract::model::{DigestTags, ImageDigest, Profile, batch_get_image};
use ecr_contract::wire::{BatchGetImageRequest, Image, ImageFailure, ImageIdentifier};

use super::support::fixture_registry;

/// What a server following `profile` answers for `ids` in `team/app`: its images and failures,
/// or the whole-request error's name.
fn answer(
    profile: &Profile,
    ids: Vec<ImageIdentifier>,
    accepted: Option<&[&str]>,
) -> Result<(Vec<Image>, Vec<ImageFailure>), &'static str> {
    let (_, registry) = fixture_registry();
    let request = BatchGetImageRequest {
        registry_id: None,
        repository_name: Some("team/app".into()),
        image_ids: Some(ids),
        accepted_media_types: accepted.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
    };
    let response = batch_get_image(&registry, &request)
        .answer(profile)
        .map_err(|e| e.code)?;
    Ok((
        response.images.unwrap_or_default(),
        response.failures.unwrap_or_default(),
    ))
}

fn digest(name: &str) -> String {
    let (fixture, _) = fixture_registry();
    fixture.image(name).expect("a fixture image").digest.clone()
}

fn tags(images: &[Image]) -> Vec<Option<String>> {
    images
        .iter()
        .map(|i| i.image_id.as_ref().and_then(|id| id.image_tag.clone()))
        .collect()
}

fn owned(tags: &[Option<&str>]) -> Vec<Option<String>> {
    tags.iter().map(|t| t.map(str::to_owned)).collect()
}

fn codes(failures: &[ImageFailure]) -> Vec<&str> {
    failures
        .iter()
        .filter_map(|f| f.failure_code.as_deref())
        .collect()
}

#[test]
fn a_malformed_digest_fails_the_id_or_the_whole_request() {
    let ids = || vec![ImageIdentifier::digest("sha256:xyz")];
    let (images, failures) = answer(&Profile::default(), ids(), None).expect("an answer");
    assert!(images.is_empty());
    assert_eq!(codes(&failures), ["InvalidImageDigest"]);
    let rejecting = Profile {
        reject_invalid_digest: true,
        ..Profile::default()
    };
    assert_eq!(
        answer(&rejecting, ids(), None),
        Err("InvalidParameterException")
    );
}

#[test]
fn a_tag_that_names_another_image_fails_with_the_chosen_code() {
    let ids = || vec![ImageIdentifier::tag_and_digest("v1", digest("oci"))];
    let (_, failures) = answer(&Profile::default(), ids(), None).expect("an answer");
    assert_eq!(codes(&failures), ["ImageTagDoesNotMatchDigest"]);
    let not_found = Profile {
        mismatch_as_not_found: true,
        ..Profile::default()
    };
    let (_, failures) = answer(&not_found, ids(), None).expect("an answer");
    assert_eq!(codes(&failures), ["ImageNotFound"]);
}

#[test]
fn a_repeated_id_is_answered_once_per_repetition_or_once() {
    let ids = || vec![ImageIdentifier::tag("v1"); 2];
    let (images, _) = answer(&Profile::default(), ids(), None).expect("an answer");
    assert_eq!(tags(&images), owned(&[Some("v1"), Some("v1")]));
    let deduping = Profile {
        dedupe_ids: true,
        ..Profile::default()
    };
    let (images, _) = answer(&deduping, ids(), None).expect("an answer");
    assert_eq!(tags(&images), owned(&[Some("v1")]));
}

#[test]
fn an_image_asked_for_by_digest_is_answered_with_no_tag_its_first_or_each() {
    let ids = || vec![ImageIdentifier::digest(digest("s2"))];
    let with = |digest_tags| Profile {
        digest_tags,
        ..Profile::default()
    };
    let seen = |profile: &Profile| {
        let (images, _) = answer(profile, ids(), None).expect("an answer");
        tags(&images)
    };
    assert_eq!(seen(&with(DigestTags::None)), owned(&[None]));
    assert_eq!(seen(&with(DigestTags::First)), owned(&[Some("latest")]));
    assert_eq!(
        seen(&with(DigestTags::Each)),
        owned(&[Some("latest"), Some("v1")])
    );
    // An untagged image has no tag to give, whatever the choice.
    let (images, _) = answer(
        &with(DigestTags::Each),
        vec![ImageIdentifier::digest(digest("orphan"))],
        None,
    )
    .expect("an answer");
    assert_eq!(tags(&images), [None]);
}

#[test]
fn an_image_no_accepted_type_can_carry_is_served_as_stored_or_fails() {
    // Section 5: OCI accepted, schema 1 stored: as stored, or the id fails.
    let ids = || vec![ImageIdentifier::tag("s1")];
    let (images, failures) = answer(&Profile::default(), ids(), Some(&[OCI])).expect("an answer");
    assert!(failures.is_empty());
    let stored = images[0].image_manifest.as_deref();
    let (fixture, _) = fixture_registry();
    let s1 = fixture.image("s1").expect("the s1 image");
    assert_eq!(stored, Some(s1.manifest.as_str()));
    let failing = Profile {
        fail_untranslatable: true,
        ..Profile::default()
    };
    let (images, failures) = answer(&failing, ids(), Some(&[OCI])).expect("an answer");
    assert!(images.is_empty());
    assert_eq!(codes(&failures), ["ImageNotFound"]);
}

#[test]
fn a_translated_manifest_carries_the_stored_digest_or_its_own() {
    // Section 5: schema 1 accepted, schema 2 stored: translated to schema 1.
    let ids = || vec![ImageIdentifier::tag("v1")];
    let digest_of = |profile: &Profile| {
        let (images, _) = answer(profile, ids(), Some(&[S1])).expect("an answer");
        let image = images.into_iter().next().expect("one image");
        let bytes = image.image_manifest.expect("a manifest");
        let digest = image.image_id.and_then(|id| id.image_digest);
        (bytes, digest.expect("a digest"))
    };
    let (bytes, stored) = digest_of(&Profile::default());
    assert_eq!(stored, digest("s2"));
    assert_ne!(ImageDigest::of(bytes.as_bytes()).to_string(), stored);
    let own = Profile {
        digest_of_translation: true,
        ..Profile::default()
    };
    let (bytes, translated) = digest_of(&own);
    assert_eq!(translated, ImageDigest::of(bytes.as_bytes()).to_string());
}
