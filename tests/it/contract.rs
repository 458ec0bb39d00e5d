//! The contract cases of `tests/cases/`: at least one per row of the spec's tables in
//! sections 2, 4, 5 and 7 (and sections 1 and 3), each checking the model's expectation, that
//! the oracle accepts every acceptable answer, and that it names the rule a broken one breaks.

use crate::support::cases::check_file;

#[test]
fn section_1_wire_protocol() {
    assert!(check_file("section-1-wire.json") >= 4);
}

#[test]
fn section_2_request_validation() {
    assert!(check_file("section-2-validation.json") >= 15);
}

#[test]
fn section_3_repository_lookup() {
    assert!(check_file("section-3-lookup.json") >= 3);
}

#[test]
fn section_4_resolving_each_image_id() {
    assert!(check_file("section-4-ids.json") >= 10);
}

#[test]
fn section_5_manifest_digest_and_media_type() {
    assert!(check_file("section-5-manifests.json") >= 12);
}

#[test]
fn section_7_operations_that_build_state() {
    assert!(check_file("section-7-state.json") >= 10);
}
