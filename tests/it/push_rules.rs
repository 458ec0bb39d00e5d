//! The `REG-PUSH-*` rules judged directly (spec `registry-api.md` section 6): each oracle
//! function of the push path given hand-made answers. Every outcome the spec allows passes;
//! each way out of a rule is reported under it. `check` against `serve` and the broken
//! servers covers the same rules end to end (`push.rs`, `check.rs`).

use ecr_contract::model::ImageDigest;
use ecr_contract::oracle::{
    PullObserved, PushedImage, Violation, check_absent_repository, check_chunk, check_chunk_order,
    check_completed, check_delete_refused, check_deleted, check_empty_completion, check_immutable,
    check_manifest_pushed, check_manifest_type, check_refused, check_refused_mount,
    check_small_chunk, check_upload_start, check_wrong_digest,
};
use http::{HeaderMap, HeaderName, HeaderValue};

fn answer(status: u16, headers: &[(&str, &str)], body: &[u8]) -> PullObserved {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a name"),
            HeaderValue::from_str(value).expect("a value"),
        );
    }
    PullObserved {
        status,
        headers: map,
        body: body.to_vec(),
    }
}

fn error(status: u16, code: &str) -> PullObserved {
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#);
    answer(status, &[], body.as_bytes())
}

fn rules(violations: &[Violation]) -> Vec<String> {
    violations.iter().map(|v| v.rule.to_string()).collect()
}

const LOCATION: (&str, &str) = ("location", "/v2/a/blobs/uploads/1");

#[test]
fn a_chunk_may_be_201_or_202_and_only_202_is_reported_as_not_ecrs() {
    assert!(check_chunk(&answer(201, &[LOCATION], b"")).is_empty());
    assert_eq!(
        rules(&check_chunk(&answer(202, &[LOCATION], b""))),
        ["REG-PUSH-AS-ECR"]
    );
    assert_eq!(
        rules(&check_chunk(&answer(200, &[LOCATION], b""))),
        ["REG-PUSH-UPLOAD"]
    );
    assert!(check_upload_start(&answer(202, &[LOCATION], b"")).is_empty());
    assert_eq!(
        rules(&check_upload_start(&answer(202, &[], b""))),
        ["REG-PUSH-UPLOAD"]
    );
}

#[test]
fn a_completed_upload_must_fetch_back_and_be_available() {
    let bytes = b"blob";
    let digest = ImageDigest::of(bytes).to_string();
    let done = answer(201, &[], b"");
    let fetched = answer(200, &[], bytes);
    assert!(check_completed(&digest, &done, &fetched, true).is_empty());
    assert_eq!(
        rules(&check_completed(&digest, &done, &fetched, false)),
        ["REG-PUSH-UPLOAD"]
    );
    let other = answer(200, &[], b"other");
    assert_eq!(
        rules(&check_completed(&digest, &done, &other, true)),
        ["REG-PUSH-UPLOAD"]
    );
}

#[test]
fn either_code_passes_a_wrong_digest_and_a_stored_blob_never_does() {
    for code in ["BLOB_UPLOAD_INVALID", "DIGEST_INVALID"] {
        assert!(check_wrong_digest(&error(400, code), false).is_empty());
    }
    assert_eq!(
        rules(&check_wrong_digest(&error(400, "DIGEST_INVALID"), true)),
        ["REG-PUSH-DIGEST"]
    );
    assert_eq!(
        rules(&check_wrong_digest(
            &error(404, "BLOB_UPLOAD_UNKNOWN"),
            false
        )),
        ["REG-PUSH-DIGEST"]
    );
}

#[test]
fn a_small_chunk_may_be_refused_at_the_next_chunk_or_at_completion() {
    let ok = answer(201, &[LOCATION], b"");
    let refused = error(400, "BLOB_UPLOAD_INVALID");
    assert!(check_small_chunk(&refused, &refused, false).is_empty());
    assert!(check_small_chunk(&ok, &refused, false).is_empty());
    assert_eq!(
        rules(&check_small_chunk(&ok, &answer(201, &[], b""), true)),
        ["REG-PUSH-AS-ECR"]
    );
    assert!(check_empty_completion(&refused).is_empty());
    assert_eq!(
        rules(&check_empty_completion(&error(400, "DIGEST_INVALID"))),
        ["REG-PUSH-AS-ECR"]
    );
}

#[test]
fn order_mount_refusals_immutability_absence_and_deletes() {
    assert!(check_chunk_order(&error(416, "BLOB_UPLOAD_INVALID")).is_empty());
    assert_eq!(
        rules(&check_chunk_order(&error(400, "BLOB_UPLOAD_INVALID"))),
        ["REG-PUSH-CHUNK-ORDER"]
    );
    assert!(check_refused_mount(&answer(202, &[LOCATION], b"")).is_empty());
    assert_eq!(
        rules(&check_refused_mount(&error(404, "BLOB_UNKNOWN"))),
        ["REG-PUSH-MOUNT"]
    );
    for refusal in [error(405, "UNSUPPORTED"), error(400, "MANIFEST_INVALID")] {
        assert!(check_refused("x", &refusal, false).is_empty());
    }
    assert_eq!(
        rules(&check_refused("x", &answer(201, &[], b""), false)),
        ["REG-PUSH-REFUSED"]
    );
    let created = answer(201, &[], b"");
    assert!(check_immutable(&created, &error(400, "TAG_INVALID"), true).is_empty());
    assert_eq!(
        rules(&check_immutable(
            &created,
            &error(400, "TAG_INVALID"),
            false
        )),
        ["REG-PUSH-IMMUTABLE"]
    );
    assert!(check_absent_repository(Some(&error(404, "NAME_UNKNOWN")), false).is_empty());
    assert!(
        check_absent_repository(None, false).is_empty(),
        "a dropped connection"
    );
    assert_eq!(
        rules(&check_absent_repository(
            Some(&answer(202, &[], b"")),
            false
        )),
        ["REG-PUSH-NAME-UNKNOWN"]
    );
    assert!(check_deleted(&answer(202, &[], b""), true).is_empty());
    assert!(check_delete_refused(&error(400, "DENIED"), true).is_empty());
    assert_eq!(
        rules(&check_delete_refused(&answer(202, &[], b""), false)),
        ["REG-PUSH-DELETE"]
    );
    assert_eq!(
        rules(&check_deleted(&answer(202, &[], b""), false)),
        ["REG-PUSH-DELETE"]
    );
}

#[test]
fn a_pushed_manifest_comes_back_verbatim_with_its_media_type() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let digest = ImageDigest::of(body).to_string();
    let put = answer(201, &[("docker-content-digest", &digest)], b"");
    let image = PushedImage {
        manifest: String::from_utf8(body.to_vec()).expect("text"),
        digest: digest.clone(),
        media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
    };
    assert!(check_manifest_pushed(body, &put, Some(&image)).is_empty());
    assert_eq!(
        rules(&check_manifest_pushed(body, &put, None)),
        ["REG-PUSH-MANIFEST"]
    );
    let oci = "application/vnd.oci.image.manifest.v1+json";
    assert!(check_manifest_type(Some(oci), "application/json", &image).is_empty());
    assert_eq!(
        rules(&check_manifest_type(None, "application/json", &image)),
        ["REG-PUSH-MANIFEST-TYPE"]
    );
}
