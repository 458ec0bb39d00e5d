//! How a violation reads and when it fails a run: the text a report prints for it, the
//! acceptable codes it names, and the threshold each level fails at.

use ecr_contract::model::{OpError, batch_get_image};
use ecr_contract::oracle::{Level, RuleId, Violation, check};
use ecr_contract::wire::{BatchGetImageRequest, ImageIdentifier};

use super::support::fixture_registry;
use super::support::spec_table::failure;
use ecr_contract::fuzzing::mutate::RawAnswer;

#[test]
fn a_must_fails_every_run_a_should_only_below_must_and_a_may_none() {
    use Level::{May, Must, Should};
    let fails = |level, threshold| {
        Violation {
            level,
            ..Violation::new(RuleId::IdAccounting, "", "", "")
        }
        .fails_at(threshold)
    };
    let table = [
        (Must, [(Must, true), (Should, true), (May, true)]),
        (Should, [(Must, false), (Should, true), (May, true)]),
        (May, [(Must, false), (Should, false), (May, false)]),
    ];
    for (level, at) in table {
        for (threshold, want) in at {
            assert_eq!(fails(level, threshold), want, "{level:?} at {threshold:?}");
        }
    }
}

#[test]
fn a_violation_reads_rule_level_the_check_that_fired_path_expected_and_found() {
    let mut v = Violation::new(
        RuleId::RegManifestAsBatchgetimage,
        "images[0].imageManifest",
        "the manifest byte for byte as pushed",
        "4 bytes",
    );
    assert_eq!(
        v.to_string(),
        "REG-MANIFEST-AS-BATCHGETIMAGE (must) at images[0].imageManifest: \
         expected the manifest byte for byte as pushed, found 4 bytes"
    );
    v.via = Some(RuleId::ManBytes);
    v.path = String::new();
    assert_eq!(
        v.to_string(),
        "REG-MANIFEST-AS-BATCHGETIMAGE (must) via MAN-BYTES: \
         expected the manifest byte for byte as pushed, found 4 bytes"
    );
}

fn request(repository: &str, ids: Vec<ImageIdentifier>) -> BatchGetImageRequest {
    BatchGetImageRequest {
        registry_id: None,
        repository_name: Some(repository.into()),
        image_ids: Some(ids),
        accepted_media_types: None,
    }
}

/// A wrong error or failure code is reported with every code the spec allows in its place.
#[test]
fn a_wrong_code_is_reported_with_the_codes_allowed_instead() {
    let (_, registry) = fixture_registry();
    let absent = request("absent", vec![ImageIdentifier::digest("sha256:xyz")]);
    let expected = batch_get_image(&registry, &absent);
    let raw = RawAnswer::of(&Err(OpError::new("LimitExceededException", "wrong")));
    let found: Vec<String> = check(&expected, &raw.observe())
        .iter()
        .map(|v| v.expected.clone())
        .collect();
    assert_eq!(
        found,
        ["one of RepositoryNotFoundException, InvalidParameterException"]
    );

    let invalid = vec![ImageIdentifier::tag("a/b")];
    let expected = batch_get_image(&registry, &request("team/app", invalid.clone()));
    let mut answer = expected.answer(&Default::default()).expect("an answer");
    answer.failures = Some(vec![failure(&invalid[0], "ImageTagDoesNotMatchDigest")]);
    let found: Vec<String> = check(&expected, &RawAnswer::of(&Ok(answer)).observe())
        .iter()
        .map(|v| v.expected.clone())
        .collect();
    assert_eq!(found, ["one of InvalidImageTag, ImageNotFound"]);
}
