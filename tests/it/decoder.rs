//! The response decoder is strict but total: any bytes give a decoded value or a precise
//! `DecodeError`, never a panic, and what a conformance check needs is kept.

use ecr_contract::wire::{
    BatchGetImageResponse, CodeSource, DecodeError, ErrorBody, MAX_BODY_BYTES, MessageMember,
    Reply, parse_response,
};
use http::HeaderMap;
use proptest::prelude::*;

fn parse(status: u16, body: &[u8]) -> Result<Reply<BatchGetImageResponse>, DecodeError> {
    parse_response(status, &HeaderMap::new(), body)
}

fn success(body: &[u8]) -> ecr_contract::wire::Decoded<BatchGetImageResponse> {
    match parse(200, body) {
        Ok(Reply::Success(d)) => d,
        other => panic!("expected a success, got {other:?}"),
    }
}

#[test]
fn truncated_body_is_a_decode_error_at_its_end() {
    let body = br#"{"images": [{"imageId": {"imageTag": "v1"#;
    assert_eq!(
        parse(200, body),
        Err(DecodeError::Truncated { offset: body.len() })
    );
}

#[test]
fn deeply_nested_body_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(matches!(
        parse(200, body.as_bytes()),
        Err(DecodeError::NotAnObject { .. } | DecodeError::TooDeep { .. })
    ));
    // Skipped values are validated as they are skipped, so nesting meets the parser's
    // recursion limit wherever it is, as it does for a generic JSON parser.
    for body in [
        format!(
            r#"{{"images": [{}{}], "failures": []}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        format!(
            r#"{{"images": [], "failures": [], "x": {}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        ),
    ] {
        assert!(matches!(
            parse(200, body.as_bytes()),
            Err(DecodeError::TooDeep { .. })
        ));
    }
    let shallow = format!(
        r#"{{"images": [], "failures": [], "x": {}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(success(shallow.as_bytes()).unknown_members, ["x"]);
    let d = success(br#"{"images": [[[1]]], "failures": []}"#);
    assert_eq!(
        (
            d.shape_issues[0].path.as_str(),
            d.shape_issues[0].found.as_str()
        ),
        ("images[0]", "an array")
    );
}

#[test]
fn body_over_the_limit_is_refused_before_parsing() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        parse(200, &body),
        Err(DecodeError::TooLarge {
            len: MAX_BODY_BYTES + 1,
            limit: MAX_BODY_BYTES
        })
    );
}

#[test]
fn invalid_utf8_is_refused_with_the_offset_of_the_first_bad_byte() {
    let body = b"{\"failures\": [], \"images\": [{\"imageManifest\": \"\xff\xfe\"}]}";
    assert_eq!(
        parse(200, body),
        Err(DecodeError::InvalidUtf8 { offset: 47 })
    );
}

#[test]
fn syntax_error_on_a_later_line_reports_the_byte_offset() {
    let body = b"{\n  \"images\": [],\n  \"failures\": [}\n}";
    match parse(200, body) {
        Err(DecodeError::Syntax { offset, .. }) => assert_eq!(body[offset], b'}'),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn success_that_is_not_an_object_is_a_decode_error() {
    assert_eq!(
        parse(200, b"[1, 2]"),
        Err(DecodeError::NotAnObject {
            found: "an array".into()
        })
    );
    assert_eq!(
        parse(200, b"\"text\""),
        Err(DecodeError::NotAnObject {
            found: "string \"text\"".into()
        })
    );
    assert!(matches!(
        parse(200, b""),
        Err(DecodeError::Truncated { offset: 0 })
    ));
}

#[test]
fn members_of_the_wrong_type_are_kept_as_shape_issues_with_their_path() {
    let d = success(
        br#"{"images": [{"imageId": {"imageTag": 7}, "imageManifest": "m"}], "failures": {}}"#,
    );
    let paths: Vec<(&str, String)> = d
        .shape_issues
        .iter()
        .map(|i| (i.path.as_str(), i.found.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            ("images[0].imageId.imageTag", "number 7".to_owned()),
            ("failures", "an object".to_owned())
        ]
    );
    assert_eq!(
        d.value.failures, None,
        "a list of the wrong type is not a list"
    );
    assert_eq!(d.value.images.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        d.value.images.as_ref().unwrap()[0]
            .image_manifest
            .as_deref(),
        Some("m")
    );
}

#[test]
fn unknown_members_are_reported_not_fatal() {
    let d = success(br#"{"images": [{"extra": {"deep": [1]}, "registryId": "123456789012"}], "failures": [], "next": null}"#);
    assert_eq!(d.unknown_members, ["images[0].extra", "next"]);
    assert!(d.shape_issues.is_empty());
}

#[test]
fn a_missing_list_is_absent_not_empty() {
    let d = success(br#"{"images": []}"#);
    assert_eq!(d.value.images, Some(vec![]));
    assert_eq!(d.value.failures, None);
}

#[test]
fn the_manifest_string_is_kept_exactly_as_received() {
    let manifest = "{\r\n \"schemaVersion\": 2,\t\"a\": \"\\u00e9\u{1F600}\"\n}";
    let body =
        serde_json::json!({"images": [{"imageManifest": manifest}], "failures": []}).to_string();
    let d = success(body.as_bytes());
    assert_eq!(
        d.value.images.unwrap()[0].image_manifest.as_deref(),
        Some(manifest)
    );
}

#[test]
fn errors_are_named_from_type_then_code_then_header_and_cleaned() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amzn-errortype",
        "HeaderError:http://internal".parse().unwrap(),
    );
    let cases: [(&[u8], &str, CodeSource); 4] = [
        (
            br#"{"__type": "com.amazonaws.ecr#RepositoryNotFoundException", "code": "Other"}"#,
            "RepositoryNotFoundException",
            CodeSource::BodyType,
        ),
        (
            br#"{"code": "RepositoryNotFoundException:http://internal.amazon.com/x"}"#,
            "RepositoryNotFoundException",
            CodeSource::BodyCode,
        ),
        (br#"{"message": "m"}"#, "HeaderError", CodeSource::Header),
        (b"<html>oops</html>", "HeaderError", CodeSource::Header),
    ];
    for (body, name, source) in cases {
        let Ok(Reply::Error(e)) = parse_response::<BatchGetImageResponse>(400, &headers, body)
        else {
            panic!("an error")
        };
        assert_eq!(
            (e.code.as_deref(), e.code_source),
            (Some(name), Some(source)),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn error_message_is_read_from_message_then_message_capitalised() {
    let Ok(Reply::Error(e)) = parse(400, br#"{"__type": "X", "Message": "upper"}"#) else {
        panic!("an error")
    };
    assert_eq!(
        (e.message.as_deref(), e.message_member),
        (Some("upper"), Some(MessageMember::Upper))
    );
    let Ok(Reply::Error(e)) = parse(
        400,
        br#"{"__type": "X", "Message": "upper", "message": "lower"}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (e.message.as_deref(), e.message_member),
        (Some("lower"), Some(MessageMember::Lower))
    );
}

#[test]
fn html_and_empty_error_bodies_are_classified() {
    let Ok(Reply::Error(e)) = parse(502, b"  <!DOCTYPE html><html></html>") else {
        panic!("an error")
    };
    assert_eq!((e.code, e.body), (None, ErrorBody::NotJson { html: true }));
    let Ok(Reply::Error(e)) = parse(500, b"") else {
        panic!("an error")
    };
    assert_eq!(e.body, ErrorBody::Empty);
}

proptest! {
    /// Any bytes under any status decode or give a `DecodeError`: the decoder never panics.
    #[test]
    fn any_bytes_decode_or_fail_cleanly(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(status, &body);
    }

    /// JSON-ish input (brackets, quotes, member names) also never panics the decoder.
    #[test]
    fn json_like_bytes_decode_or_fail_cleanly(
        body in proptest::collection::vec(proptest::sample::select(
            vec!["{", "}", "[", "]", ",", ":", "\"images\"", "\"failures\"", "\"imageId\"", "\"imageTag\"", "1", "null", "\"x\"", "true", "\\", "\"\\u12"]), 0..40)
    ) {
        let body = body.concat();
        let _ = parse(200, body.as_bytes());
        let _ = parse(400, body.as_bytes());
    }
}

#[test]
fn invalid_utf8_in_a_skipped_member_is_refused_too() {
    let body = b"{\"images\": [], \"failures\": [], \"code\": \"a\xff\xfeb\"}";
    assert_eq!(
        parse(200, body),
        Err(DecodeError::InvalidUtf8 { offset: 41 })
    );
}

#[test]
fn a_lone_surrogate_escape_in_a_skipped_member_is_refused_like_in_a_modelled_one() {
    let skipped = br#"{"images": [], "failures": [], "x": "\ud800"}"#;
    let modelled = br#"{"images": [{"imageManifest": "\ud800"}], "failures": []}"#;
    let generic = serde_json::from_slice::<serde_json::Value>(skipped).is_ok();
    assert_eq!(
        parse(200, skipped).is_ok(),
        generic,
        "typed and generic decoders agree on {skipped:?}"
    );
    assert!(matches!(
        parse(200, modelled),
        Err(DecodeError::Syntax { .. })
    ));
}
