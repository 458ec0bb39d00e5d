//! The `REG-*` rules judged directly (spec `registry-api.md`): each oracle function of the pull
//! path given a hand-made answer. The conforming answers, with the variations the spec allows,
//! pass; each way out of the rule is reported under it. `check` against `serve` and the broken
//! servers covers the same rules end to end; these pin each clause on its own.

use std::collections::BTreeSet;

use base64::Engine as _;
use ecr_contract::model::manifest::{OCI, S1, S2};
use ecr_contract::model::{ImageDigest, Registry, batch_get_image, manifest_request};
use ecr_contract::oracle::{
    PullObserved, Violation, check_blob, check_blob_head, check_blob_unknown, check_challenge,
    check_denied, check_gone_after_delete, check_head, check_manifest, check_ping, check_tags,
    check_tags_limit, check_token, check_visible_after_put, has_registry_api,
};
use ecr_contract::strategy::Fixture;
use ecr_contract::wire::registry::{ErrorCode, Reference, encode_registry_error};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::support::fixture_registry;

const ACCOUNT: &str = "123456789012";
/// Where the harness reached the registry API: an emulator's own address.
const REGISTRY: &str = "http://127.0.0.1:5000";
const VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");
const CHALLENGE: &str = r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#;

/// No violation.
const PASS: [&str; 0] = [];

/// An answer with `status`, `headers` and `body`.
fn answer(status: u16, headers: &[(&str, &str)], body: &[u8]) -> PullObserved {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    PullObserved {
        status,
        headers: map,
        body: body.to_vec(),
    }
}

/// A distribution error envelope with `code`.
fn envelope(code: ErrorCode) -> Vec<u8> {
    encode_registry_error(code, "as ECR says it")
}

/// Each violation as `RULE (level)`, with the rule whose check fired after `via`.
fn shown(violations: &[Violation]) -> Vec<String> {
    violations
        .iter()
        .map(|v| match v.via {
            Some(via) => format!("{} ({}) via {via}", v.rule, v.level),
            None => format!("{} ({})", v.rule, v.level),
        })
        .collect()
}

/// The rules broken, one per violation.
fn rules(violations: &[Violation]) -> Vec<String> {
    violations.iter().map(|v| v.rule.to_string()).collect()
}

#[test]
fn a_registry_api_is_told_apart_from_a_server_without_one() {
    let aws_error = br#"{"__type":"UnknownOperationException"}"#;
    let with_api = [
        answer(401, &[("www-authenticate", CHALLENGE)], b""),
        answer(404, &[VERSION], b""),
        answer(200, &[], b"{}"),
        answer(401, &[("www-authenticate", "Bearer realm=\"x\"")], b""),
    ];
    for ping in &with_api {
        assert!(has_registry_api(ping), "{ping:?}");
    }
    let without = [
        answer(404, &[], b"Not Found"),
        answer(
            400,
            &[("content-type", "application/x-amz-json-1.1")],
            aws_error,
        ),
        answer(401, &[], b""),
        answer(204, &[], b""),
    ];
    for ping in &without {
        assert!(!has_registry_api(ping), "{ping:?}");
    }
}

#[test]
fn the_challenge_is_ecrs_basic_one_whatever_the_order_spacing_case_and_region() {
    let accepted = [
        CHALLENGE,
        r#"Basic service="ecr.amazonaws.com", realm="https://123456789012.dkr.ecr.us-west-2.amazonaws.com/""#,
        r#"BASIC realm="https://123456789012.dkr.ecr.eu-west-3.amazonaws.com/" , Service="ecr.amazonaws.com""#,
        r#"basic realm="https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/",service="ecr.amazonaws.com""#,
        // A server not at ECR's host may name its own URL (section 1).
        r#"Basic realm="http://127.0.0.1:5000/",service="ecr.amazonaws.com""#,
        r#"Basic realm="http://127.0.0.1:5000",service="ecr.amazonaws.com""#,
    ];
    for challenge in accepted {
        let ping = answer(401, &[("www-authenticate", challenge), VERSION], b"");
        assert_eq!(
            rules(&check_challenge(&ping, ACCOUNT, REGISTRY)),
            PASS,
            "{challenge}"
        );
    }
    let refused = [
        // Another scheme, account, region spelling, domain or service; a realm cut short.
        r#"Bearer realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://210987654321.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://123456789012.dkr.ecr..amazonaws.com/",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://123456789012.dkr.ecr.us_east_1.amazonaws.com/",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.example.com/",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com",service="ecr.amazonaws.com""#,
        r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="registry""#,
        r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/""#,
        r#"Basic realm="http://127.0.0.1:5001/",service="ecr.amazonaws.com""#,
        r#"Basic"#,
    ];
    for challenge in refused {
        let ping = answer(401, &[("www-authenticate", challenge), VERSION], b"");
        assert_eq!(
            rules(&check_challenge(&ping, ACCOUNT, REGISTRY)),
            ["REG-AUTH-CHALLENGE"],
            "{challenge}"
        );
    }
    let without_version = answer(401, &[("www-authenticate", CHALLENGE)], b"");
    let forbidden = answer(403, &[("www-authenticate", CHALLENGE), VERSION], b"");
    let no_challenge = answer(401, &[VERSION], b"");
    for ping in [without_version, forbidden, no_challenge] {
        assert_eq!(
            rules(&check_challenge(&ping, ACCOUNT, REGISTRY)),
            ["REG-AUTH-CHALLENGE"],
            "{ping:?}"
        );
    }
}

#[test]
fn the_token_is_base64_of_aws_and_a_password_and_lasts_twelve_hours_give_or_take_a_minute() {
    let token = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let asked_at = 1_800_000_000.0;
    let twelve_hours = asked_at + 43_200.0;
    for expires_at in [twelve_hours, twelve_hours - 59.0, twelve_hours + 59.0] {
        let found = check_token(&token("AWS:secret"), Some(expires_at), asked_at);
        assert_eq!(rules(&found), PASS, "expiresAt {expires_at}");
    }
    for bad in [
        token("AWS:"),
        token("aws:secret"),
        token("ECR:secret"),
        "not base64!".into(),
    ] {
        let found = check_token(&bad, Some(twelve_hours), asked_at);
        assert_eq!(rules(&found), ["REG-AUTH-TOKEN"], "{bad}");
    }
    for (expires_at, said) in [
        (Some(twelve_hours + 61.0), "43261 seconds after it"),
        (Some(twelve_hours - 61.0), "43139 seconds after it"),
        (Some(asked_at), "0 seconds after it"),
        (None, "no expiresAt"),
    ] {
        let found = check_token(&token("AWS:secret"), expires_at, asked_at);
        let found: Vec<&str> = found.iter().map(|v| v.found.as_str()).collect();
        assert_eq!(found, [said]);
    }
}

#[test]
fn the_ping_with_the_token_is_200_with_the_version_header() {
    assert_eq!(rules(&check_ping(&answer(200, &[VERSION], b"{}"))), PASS);
    let cases = [
        (
            answer(401, &[VERSION], b""),
            vec!["REG-AUTH-TOKEN", "REG-PING"],
        ),
        (answer(403, &[], b""), vec!["REG-AUTH-TOKEN", "REG-PING"]),
        (answer(200, &[], b"{}"), vec!["REG-PING"]),
        (
            answer(200, &[(VERSION.0, "registry/3.0")], b"{}"),
            vec!["REG-PING"],
        ),
        (answer(500, &[VERSION], b""), vec!["REG-PING"]),
    ];
    for (ping, want) in cases {
        assert_eq!(rules(&check_ping(&ping)), want, "{ping:?}");
    }
}

#[test]
fn a_token_never_valid_is_403_denied_without_a_challenge() {
    let denied = answer(
        403,
        &[("content-type", "application/json")],
        &envelope(ErrorCode::Denied),
    );
    assert_eq!(rules(&check_denied(&denied)), PASS);
    let wrong = [
        answer(
            401,
            &[("www-authenticate", CHALLENGE)],
            &envelope(ErrorCode::Denied),
        ),
        answer(
            403,
            &[("www-authenticate", CHALLENGE)],
            &envelope(ErrorCode::Denied),
        ),
        answer(403, &[], &envelope(ErrorCode::Unauthorized)),
        answer(403, &[], b"forbidden"),
    ];
    for answer in wrong {
        let found = check_denied(&answer);
        assert_eq!(shown(&found), ["REG-AUTH-DENIED (should)"], "{answer:?}");
    }
}

/// The GET of `reference` in `name` with `accept`, answered with `answer`.
fn judge_get(
    registry: &Registry,
    name: &str,
    reference: Reference,
    accept: &[&str],
    answer: &PullObserved,
) -> Vec<Violation> {
    let accepted: Vec<String> = accept.iter().map(|t| (*t).to_owned()).collect();
    let request = manifest_request(name, &reference, &accepted);
    check_manifest(&batch_get_image(registry, &request), &request, answer)
}

/// A 200 with `body` of `media_type`, and its digest in `Docker-Content-Digest`.
fn manifest_answer(media_type: &str, body: &str) -> PullObserved {
    let digest = ImageDigest::of(body.as_bytes()).to_string();
    answer(
        200,
        &[
            ("content-type", media_type),
            ("docker-content-digest", &digest),
        ],
        body.as_bytes(),
    )
}

fn tag(t: &str) -> Reference {
    Reference::Tag(t.to_owned())
}

fn digest_of(fixture: &Fixture, image: &str) -> Reference {
    Reference::Digest(
        fixture
            .image(image)
            .expect("a fixture image")
            .digest
            .clone(),
    )
}

#[test]
fn a_manifest_get_passes_when_it_is_what_batch_get_image_answers() {
    let (fixture, registry) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    let exact = manifest_answer(S2, &s2.manifest);
    let with_charset = answer(
        200,
        &[("content-type", &format!("{S2}; charset=utf-8"))],
        s2.manifest.as_bytes(),
    );
    for reference in [tag("v1"), digest_of(&fixture, "s2")] {
        for accept in [&[S2][..], &[OCI, S2], &[]] {
            for answer in [&exact, &with_charset] {
                let found = judge_get(&registry, "team/app", reference.clone(), accept, answer);
                assert_eq!(shown(&found), PASS, "{reference:?} {accept:?}");
            }
        }
    }
}

#[test]
fn a_manifest_get_files_what_it_breaks_under_the_reg_rule_with_the_check_that_fired() {
    let (fixture, registry) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    let changed = format!("{} ", s2.manifest);
    let mut wrong_digest = manifest_answer(S2, &s2.manifest);
    let other = ImageDigest::of(b"other").to_string();
    wrong_digest.headers.insert(
        "docker-content-digest",
        HeaderValue::from_str(&other).expect("a header value"),
    );
    let oci_typed = manifest_answer(OCI, &s2.manifest);
    let cases = [
        (tag("v1"), wrong_digest, vec!["REG-DIGEST-HEADER (must)"]),
        (
            tag("v1"),
            manifest_answer(S2, &changed),
            vec![
                "REG-MANIFEST-AS-BATCHGETIMAGE (must) via MAN-BYTES",
                "REG-MANIFEST-AS-BATCHGETIMAGE (must) via MAN-DIGEST",
            ],
        ),
        // By digest in the stored format, a changed manifest is not a translation: it answers
        // another digest than the one asked for.
        (
            digest_of(&fixture, "s2"),
            manifest_answer(S2, &changed),
            vec![
                "REG-MANIFEST-AS-BATCHGETIMAGE (must) via ID-ACCOUNTING",
                "REG-MANIFEST-AS-BATCHGETIMAGE (must) via ID-ACCOUNTING",
            ],
        ),
        // The wrong type is MAN-MEDIA-TYPE (should), filed under the REG rule (must).
        (
            tag("v1"),
            oci_typed.clone(),
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must) via MAN-MEDIA-TYPE"],
        ),
        // By digest, an answer claiming another format than the stored one is a translation.
        (
            digest_of(&fixture, "s2"),
            oci_typed,
            vec!["REG-ACCEPT-BY-DIGEST (must) via MAN-MEDIA-TYPE"],
        ),
        (
            tag("nope"),
            manifest_answer(S2, &s2.manifest),
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must) via ID-NOT-FOUND"],
        ),
    ];
    for (reference, answer, want) in cases {
        let found = judge_get(
            &registry,
            "team/app",
            reference.clone(),
            &[S2, OCI],
            &answer,
        );
        assert_eq!(shown(&found), want, "{reference:?}");
    }
    // A tag whose stored format is not accepted must be translated where ECR can; OCI has no
    // schema 1 translation, so it is answered as stored.
    let oci = fixture.image("oci").expect("oci");
    for accept in [&[S1][..], &[OCI]] {
        let stored = manifest_answer(S2, &s2.manifest);
        let found = judge_get(&registry, "team/app", tag("v1"), accept, &stored);
        let want = ["REG-ACCEPT-NEGOTIATION (must) via MAN-TRANSLATION"];
        assert_eq!(shown(&found), want, "{accept:?}");
    }
    let stored = manifest_answer(OCI, &oci.manifest);
    let found = judge_get(&registry, "team/app", tag("oci"), &[S1], &stored);
    assert_eq!(shown(&found), PASS);
    // A repository BatchGetImage does not know has no manifest to answer.
    let found = judge_get(&registry, "absent", tag("v1"), &[S2], &stored);
    assert_eq!(shown(&found), ["REG-MANIFEST-AS-BATCHGETIMAGE (must)"]);
}

/// Repository, reference and Accept list of a GET; its answer; the violations expected.
type ErrorCase<'a> = (
    &'a str,
    Reference,
    &'a [&'a str],
    &'a PullObserved,
    Vec<&'a str>,
);

#[test]
fn a_manifest_get_that_fails_fails_as_batch_get_image_does_with_the_distribution_error() {
    let (fixture, registry) = fixture_registry();
    let unknown = answer(404, &[], &envelope(ErrorCode::ManifestUnknown));
    let name_unknown = answer(404, &[], &envelope(ErrorCode::NameUnknown));
    let bare_404 = answer(404, &[], b"");
    let refused = answer(400, &[], &envelope(ErrorCode::ManifestInvalid));
    let not_acceptable = answer(406, &[], &envelope(ErrorCode::ManifestUnknown));
    let server_error = answer(500, &[], &envelope(ErrorCode::ManifestUnknown));
    // Not one of the distribution spec's codes.
    let odd_code = answer(
        404,
        &[],
        br#"{"errors":[{"code":"UNKNOWN","message":"as ECR says it"}]}"#,
    );
    let s2_by_digest = || digest_of(&fixture, "s2");
    let cases: Vec<ErrorCase<'_>> = vec![
        ("team/app", tag("nope"), &[S2], &unknown, vec![]),
        (
            "team/app",
            tag("nope"),
            &[S2],
            &name_unknown,
            vec!["REG-MANIFEST-UNKNOWN (must)"],
        ),
        (
            "team/app",
            tag("nope"),
            &[S2],
            &server_error,
            vec!["REG-MANIFEST-UNKNOWN (must)"],
        ),
        (
            "team/app",
            tag("nope"),
            &[S2],
            &odd_code,
            vec!["REG-ERROR-ENVELOPE (should)", "REG-MANIFEST-UNKNOWN (must)"],
        ),
        (
            "team/app",
            tag("nope"),
            &[S2],
            // No body, so no envelope to judge (REG-ERROR-ENVELOPE covers errors that carry
            // one); the code MANIFEST_UNKNOWN is still missing.
            &bare_404,
            vec!["REG-MANIFEST-UNKNOWN (must)"],
        ),
        ("absent", tag("v1"), &[S2], &name_unknown, vec![]),
        (
            "absent",
            tag("v1"),
            &[S2],
            &unknown,
            vec!["REG-NAME-UNKNOWN (must)"],
        ),
        // A tag BatchGetImage refuses as invalid may fail with any 4xx.
        ("team/app", tag("a+b"), &[S2], &refused, vec![]),
        ("team/app", tag("a+b"), &[S2], &unknown, vec![]),
        (
            "team/app",
            tag("a+b"),
            &[S2],
            &server_error,
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must)"],
        ),
        // A request BatchGetImage refuses whole, for another reason than the repository:
        // any 4xx.
        ("Team/App", tag("v1"), &[S2], &refused, vec![]),
        (
            "Team/App",
            tag("v1"),
            &[S2],
            &server_error,
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must)"],
        ),
        // A present image is answered.
        (
            "team/app",
            tag("v1"),
            &[S2],
            &unknown,
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must)"],
        ),
        // By digest with the stored type not accepted, ECR may refuse: 404, 406 or 400.
        ("team/app", s2_by_digest(), &[OCI], &unknown, vec![]),
        ("team/app", s2_by_digest(), &[OCI], &not_acceptable, vec![]),
        ("team/app", s2_by_digest(), &[OCI], &refused, vec![]),
        (
            "team/app",
            s2_by_digest(),
            &[OCI],
            &server_error,
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must)"],
        ),
        // Accepted, the stored type has no reason to be refused.
        (
            "team/app",
            s2_by_digest(),
            &[S2],
            &not_acceptable,
            vec!["REG-MANIFEST-AS-BATCHGETIMAGE (must)"],
        ),
    ];
    for (name, reference, accept, answer, want) in cases {
        let found = judge_get(&registry, name, reference.clone(), accept, answer);
        assert_eq!(
            shown(&found),
            want,
            "{name} {reference:?} {accept:?} {answer:?}"
        );
    }
}

#[test]
fn a_head_has_the_gets_type_length_and_digest_and_no_body() {
    let (fixture, _) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    let get = manifest_answer(S2, &s2.manifest);
    let length = s2.manifest.len().to_string();
    let head = |status, body: &[u8], media_type: &str, length: &str, digest: &str| {
        let mut headers = vec![("content-type", media_type), ("content-length", length)];
        if !digest.is_empty() {
            headers.push(("docker-content-digest", digest));
        }
        answer(status, &headers, body)
    };
    let good = head(200, b"", S2, &length, &s2.digest);
    assert_eq!(rules(&check_head(&get, &good)), PASS);
    let other = ImageDigest::of(b"other").to_string();
    let cases = [
        (
            head(404, b"", S2, &length, &s2.digest),
            vec!["REG-MANIFEST-HEAD"],
        ),
        (
            head(200, b"{}", S2, &length, &s2.digest),
            vec!["REG-MANIFEST-HEAD"],
        ),
        (
            head(200, b"", OCI, &length, &s2.digest),
            vec!["REG-MANIFEST-HEAD"],
        ),
        (
            head(200, b"", S2, "0", &s2.digest),
            vec!["REG-MANIFEST-HEAD"],
        ),
        (head(200, b"", S2, &length, ""), vec!["REG-MANIFEST-HEAD"]),
        (
            head(200, b"", S2, &length, &other),
            vec!["REG-DIGEST-HEADER"],
        ),
    ];
    for (head, want) in cases {
        assert_eq!(rules(&check_head(&get, &head)), want, "{head:?}");
    }
    // Without a type on either, the HEAD does not say what the GET would answer.
    let untyped_get = answer(200, &[], s2.manifest.as_bytes());
    let untyped = answer(
        200,
        &[
            ("content-length", &length),
            ("docker-content-digest", &s2.digest),
        ],
        b"",
    );
    assert_eq!(
        rules(&check_head(&untyped_get, &untyped)),
        ["REG-MANIFEST-HEAD"]
    );
}

#[test]
fn a_blob_is_its_bytes_and_an_unknown_one_is_404() {
    let bytes = b"layer bytes";
    let digest = ImageDigest::of(bytes).to_string();
    assert_eq!(rules(&check_blob(&digest, &answer(200, &[], bytes))), PASS);
    for fetched in [
        answer(200, &[], b"other bytes"),
        answer(404, &[], bytes),
        answer(307, &[], b""),
    ] {
        assert_eq!(
            rules(&check_blob(&digest, &fetched)),
            ["REG-BLOB-BYTES"],
            "{fetched:?}"
        );
    }
    for unknown in [
        answer(404, &[], b""),
        answer(404, &[], &envelope(ErrorCode::BlobUnknown)),
    ] {
        assert_eq!(rules(&check_blob_unknown(&unknown)), PASS, "{unknown:?}");
    }
    let cases = [
        (
            answer(404, &[], b"no such blob"),
            vec!["REG-ERROR-ENVELOPE"],
        ),
        (
            answer(404, &[], br#"{"errors":[]}"#),
            vec!["REG-ERROR-ENVELOPE"],
        ),
        (
            answer(404, &[], br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#),
            vec!["REG-ERROR-ENVELOPE"],
        ),
        (answer(200, &[], bytes), vec!["REG-BLOB-UNKNOWN"]),
        (answer(500, &[], b""), vec!["REG-BLOB-UNKNOWN"]),
        (
            answer(400, &[], b"?"),
            vec!["REG-ERROR-ENVELOPE", "REG-BLOB-UNKNOWN"],
        ),
    ];
    for (unknown, want) in cases {
        assert_eq!(rules(&check_blob_unknown(&unknown)), want, "{unknown:?}");
    }
}

#[test]
fn the_tag_list_pages_hold_every_tag_once_for_the_repository_asked() {
    let tags: BTreeSet<String> = ["latest", "v1", "v2"].map(String::from).into();
    let page = |status, name: &str, tags: &[&str]| {
        let body = serde_json::json!({"name": name, "tags": tags}).to_string();
        answer(
            status,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    };
    let whole = [page(200, "team/app", &["latest", "v1", "v2"])];
    let paged = [
        page(200, "team/app", &["v2"]),
        page(200, "team/app", &["latest", "v1"]),
    ];
    for pages in [&whole[..], &paged] {
        assert_eq!(rules(&check_tags("team/app", &tags, pages)), PASS);
    }
    let wrong = [
        vec![page(200, "team/app", &["latest", "v1"])],
        vec![page(200, "team/app", &["latest", "v1", "v2", "v3"])],
        vec![
            page(200, "team/app", &["latest", "v1", "v2"]),
            page(200, "team/app", &["v2"]),
        ],
        vec![page(200, "other", &["latest", "v1", "v2"])],
        vec![
            page(200, "team/app", &["v2"]),
            page(500, "team/app", &["latest", "v1"]),
        ],
        vec![answer(200, &[], b"[]")],
    ];
    for pages in wrong {
        assert_eq!(
            rules(&check_tags("team/app", &tags, &pages)),
            ["REG-TAGS-LIST"],
            "{pages:?}"
        );
    }
}

#[test]
fn the_registry_api_sees_a_push_and_a_delete_at_once() {
    let manifest = r#"{"schemaVersion":2}"#;
    let visible = answer(200, &[], manifest.as_bytes());
    assert_eq!(rules(&check_visible_after_put(manifest, &visible)), PASS);
    for stale in [
        answer(404, &[], b""),
        answer(200, &[], b"{}"),
        answer(304, &[], manifest.as_bytes()),
    ] {
        assert_eq!(
            rules(&check_visible_after_put(manifest, &stale)),
            ["REG-SAME-STATE"]
        );
    }
    assert_eq!(
        rules(&check_gone_after_delete(&answer(404, &[], b""))),
        PASS
    );
    for still in [answer(200, &[], manifest.as_bytes()), answer(500, &[], b"")] {
        assert_eq!(
            rules(&check_gone_after_delete(&still)),
            ["REG-SAME-STATE"],
            "{still:?}"
        );
    }
}

/// A GET by digest answered with a translation is REG-ACCEPT-BY-DIGEST: ECR never translates
/// by digest. The translation does not hash to the digest asked for, so the check that fires is
/// ID-ACCOUNTING (the id unanswered, the answer for no id), never MAN-NO-TRANSLATION-BY-DIGEST.
#[test]
fn a_translation_answered_by_digest_is_reg_accept_by_digest() {
    let (fixture, registry) = fixture_registry();
    let accept = [OCI.to_owned()];
    let by_tag = manifest_request("team/app", &tag("v1"), &accept);
    let mut translation = batch_get_image(&registry, &by_tag)
        .answer(&Default::default())
        .expect("an answer");
    let translated = translation.images.as_mut().expect("images")[0]
        .image_manifest
        .take()
        .expect("schema 2 translated to OCI by tag");
    let by_digest = manifest_request("team/app", &digest_of(&fixture, "s2"), &accept);
    let answer = manifest_answer(OCI, &translated);
    let found = check_manifest(&batch_get_image(&registry, &by_digest), &by_digest, &answer);
    assert_eq!(
        shown(&found),
        [
            "REG-ACCEPT-BY-DIGEST (must) via ID-ACCOUNTING",
            "REG-ACCEPT-BY-DIGEST (must) via ID-ACCOUNTING"
        ]
    );
}

#[test]
fn a_blob_head_is_200_with_the_digest_and_anything_else_breaks_reg_blob_head() {
    let digest = ImageDigest::of(b"layer").to_string();
    let ok = answer(200, &[("docker-content-digest", &digest)], b"");
    assert_eq!(rules(&check_blob_head(&digest, &ok)), PASS);
    let other = ImageDigest::of(b"other").to_string();
    for head in [
        answer(200, &[], b""),
        answer(200, &[("docker-content-digest", &other)], b""),
        answer(404, &[("docker-content-digest", &digest)], b""),
    ] {
        assert_eq!(
            rules(&check_blob_head(&digest, &head)),
            ["REG-BLOB-HEAD"],
            "{head:?}"
        );
    }
}

#[test]
fn tag_pages_stay_within_n_or_a_hundred_and_an_n_over_a_thousand_is_a_4xx() {
    let page = |count: usize| {
        let tags: Vec<String> = (0..count).map(|i| format!("t{i}")).collect();
        let body = serde_json::json!({"name": "team/app", "tags": tags}).to_string();
        answer(200, &[], body.as_bytes())
    };
    assert_eq!(rules(&check_tags_limit(None, &page(100))), PASS);
    assert_eq!(rules(&check_tags_limit(Some(1), &page(1))), PASS);
    assert_eq!(rules(&check_tags_limit(Some(1000), &page(1000))), PASS);
    assert_eq!(
        rules(&check_tags_limit(None, &page(101))),
        ["REG-TAGS-LIMITS"]
    );
    assert_eq!(
        rules(&check_tags_limit(Some(1), &page(2))),
        ["REG-TAGS-LIMITS"]
    );
    // A page that is no tag list is REG-TAGS-LIST's business, not this rule's.
    assert_eq!(
        rules(&check_tags_limit(None, &answer(500, &[], b"x"))),
        PASS
    );
    let unsupported = encode_registry_error(ErrorCode::Unsupported, "n too large");
    for refused in [answer(400, &[], &unsupported), answer(404, &[], b"")] {
        assert_eq!(rules(&check_tags_limit(Some(1001), &refused)), PASS);
    }
    assert_eq!(
        rules(&check_tags_limit(Some(1001), &page(3))),
        ["REG-TAGS-LIMITS"]
    );
}

#[test]
fn a_malformed_digest_may_be_a_400_with_a_distribution_code_or_a_404_and_nothing_else() {
    let (_, registry) = fixture_registry();
    let reference = Reference::Digest("sha256:bad".into());
    let request = manifest_request("team/app", &reference, &[]);
    let expected = batch_get_image(&registry, &request);
    let json = [("content-type", "application/json")];
    for (status, code) in [
        (400, ErrorCode::DigestInvalid),
        (404, ErrorCode::ManifestUnknown),
    ] {
        let body = encode_registry_error(code, "a malformed digest");
        let observed = answer(status, &json, &body);
        assert_eq!(rules(&check_manifest(&expected, &request, &observed)), PASS);
    }
    assert_eq!(
        rules(&check_manifest(&expected, &request, &answer(404, &[], b""))),
        PASS
    );
    let no_code = answer(400, &json, b"{}");
    assert!(!check_manifest(&expected, &request, &no_code).is_empty());
    assert!(!check_manifest(&expected, &request, &answer(500, &[], b"")).is_empty());
}
