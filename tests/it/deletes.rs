//! BatchDeleteImage in the model (spec section 7): by tag removes the tag, by digest the image
//! and all its tags, and an id that names nothing deletable fails with BatchGetImage's codes.
//! The harness judges every setup delete against this model, so the model is tested here.

use ecr_contract::model::{Registry, batch_get_image};
use ecr_contract::wire::{
    BatchDeleteImageRequest, BatchGetImageRequest, DescribeImagesRequest, ImageIdentifier,
};

use super::support::fixture_registry;

const REPO: &str = "team/app";

/// The ids a delete removed, as `(digest, tag)`, or the code it failed with.
type Outcome = Result<Vec<(String, Option<String>)>, String>;

/// Deletes `id` from a fresh fixture registry: the outcome, and the registry after.
fn delete(id: ImageIdentifier) -> (Outcome, Registry) {
    let (_, mut registry) = fixture_registry();
    let answer = registry
        .batch_delete_image(&BatchDeleteImageRequest {
            repository_name: Some(REPO.into()),
            image_ids: Some(vec![id]),
            ..Default::default()
        })
        .expect("no whole-request error");
    let deleted: Vec<(String, Option<String>)> = answer
        .image_ids
        .unwrap_or_default()
        .into_iter()
        .map(|id| (id.image_digest.unwrap_or_default(), id.image_tag))
        .collect();
    let failures: Vec<String> = answer
        .failures
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.failure_code)
        .collect();
    let outcome = match (deleted.is_empty(), failures.as_slice()) {
        (false, []) => Ok(deleted),
        (true, [code]) => Err(code.clone()),
        _ => panic!("one id, one outcome: {deleted:?} {failures:?}"),
    };
    (outcome, registry)
}

/// Whether BatchGetImage finds `id` in `registry`.
fn found(registry: &Registry, id: ImageIdentifier) -> bool {
    let request = BatchGetImageRequest {
        repository_name: Some(REPO.into()),
        image_ids: Some(vec![id]),
        ..Default::default()
    };
    let answer = batch_get_image(registry, &request)
        .answer(&Default::default())
        .expect("an answer");
    !answer.images.unwrap_or_default().is_empty()
}

fn digest(name: &str) -> String {
    let (fixture, _) = fixture_registry();
    fixture.image(name).expect("a fixture image").digest.clone()
}

#[test]
fn an_id_that_names_nothing_deletable_fails_with_the_code_of_its_form() {
    let upper = format!("sha256:{}", digest("s2b")[7..].to_uppercase());
    let absent = format!("sha256:{}", "0".repeat(64));
    let cases = [
        (ImageIdentifier::default(), "MissingDigestAndTag"),
        (ImageIdentifier::digest("sha256:xyz"), "InvalidImageDigest"),
        (
            ImageIdentifier::tag_and_digest("v2", digest("oci")),
            "ImageTagDoesNotMatchDigest",
        ),
        (
            ImageIdentifier::tag_and_digest("v2", upper),
            "ImageTagDoesNotMatchDigest",
        ),
        (ImageIdentifier::tag("absent"), "ImageNotFound"),
        (ImageIdentifier::digest(absent.clone()), "ImageNotFound"),
        (
            ImageIdentifier::tag_and_digest("absent", absent),
            "ImageNotFound",
        ),
        // s2 is in the manifest list `list`: deleting it would leave the list dangling.
        (
            ImageIdentifier::digest(digest("s2")),
            "ImageReferencedByManifestList",
        ),
    ];
    for (id, code) in cases {
        let (outcome, after) = delete(id.clone());
        assert_eq!(outcome, Err(code.to_owned()), "{id:?}");
        let (_, before) = fixture_registry();
        assert_eq!(after, before, "a failed delete changes nothing: {id:?}");
    }
}

#[test]
fn by_tag_removes_the_tag_and_by_digest_the_image_and_every_tag() {
    let s2 = digest("s2");
    // One of two tags: the image stays under the other.
    let (outcome, after) = delete(ImageIdentifier::tag_and_digest("v1", s2.clone()));
    assert_eq!(outcome, Ok(vec![(s2.clone(), Some("v1".to_owned()))]));
    assert!(!found(&after, ImageIdentifier::tag("v1")));
    assert!(found(&after, ImageIdentifier::tag("latest")));
    assert!(found(&after, ImageIdentifier::digest(s2.clone())));
    let described = after
        .describe_images(&DescribeImagesRequest {
            repository_name: Some(REPO.into()),
            image_ids: Some(vec![ImageIdentifier::digest(s2)]),
            ..Default::default()
        })
        .expect("the image");
    let tags: Vec<Vec<String>> = described
        .image_details
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.image_tags.unwrap_or_default())
        .collect();
    assert_eq!(tags, [["latest".to_owned()]]);
    // Its last tag: the image goes.
    let s2b = digest("s2b");
    let (outcome, after) = delete(ImageIdentifier::tag("v2"));
    assert_eq!(outcome, Ok(vec![(s2b.clone(), Some("v2".to_owned()))]));
    assert!(!found(&after, ImageIdentifier::digest(s2b.clone())));
    // Nor does the tag linger in another case (`V2` no longer differs from a tag by case).
    let repository = after.repositories().find(|r| r.name.as_str() == REPO);
    let repository = repository.expect("the repository");
    assert!(!repository.has_tag_ignoring_case("V2"));
    assert!(repository.has_tag_ignoring_case("LATEST"));
    // By digest: the image, answered with its tag.
    let (outcome, after) = delete(ImageIdentifier::digest(s2b.clone()));
    assert_eq!(outcome, Ok(vec![(s2b.clone(), Some("v2".to_owned()))]));
    assert!(!found(&after, ImageIdentifier::tag("v2")));
    // An untagged image by digest: answered without a tag.
    let orphan = digest("orphan");
    let (outcome, after) = delete(ImageIdentifier::digest(orphan.clone()));
    assert_eq!(outcome, Ok(vec![(orphan.clone(), None)]));
    assert!(!found(&after, ImageIdentifier::digest(orphan)));
}
