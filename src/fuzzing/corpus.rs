//! The seed corpus: deterministic inputs for each target, from the fixture, the spec's
//! examples and the project's generators.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::model::{Call, OpError, Profile, batch_get_image};
use crate::strategy::{arb_profile, arb_scenario, build_registry, fixture};
use crate::wire::{self, BatchGetImageRequest, ImageIdentifier, encode_request};

use super::input::write;

/// How many generated scenarios seed `model_oracle`.
const GENERATED_SCENARIOS: u32 = 64;

/// The seed inputs of `target`, or `None` for an unknown target.
pub fn seeds(target: &str) -> Option<Vec<Vec<u8>>> {
    Some(match target {
        "parse_response" => response_seeds(),
        "parse_request" => request_seeds(),
        "roundtrip" => roundtrip_seeds(),
        "model_oracle" => scenario_seeds(),
        "endpoint" => endpoint_seeds(),
        "differential" => response_seeds()
            .into_iter()
            .map(|s| super::input::read(&s).body.to_vec())
            .collect(),
        _ => return None,
    })
}

/// Model answers for fixture requests (the AWS API reference example among them), error
/// envelopes in each of the Smithy forms, and hostile bodies.
fn response_seeds() -> Vec<Vec<u8>> {
    let registry = build_registry(&fixture().calls());
    let json = [("content-type", wire::CONTENT_TYPE)];
    let mut out = Vec::new();
    for request in fixture_requests() {
        let answer = batch_get_image(&registry, &request).answer(&Profile::default());
        let (status, body) = OpError::to_http(&answer);
        out.push(write(status, 0, &json, &body));
    }
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let errors: [(Headers<'_>, &[u8]); 5] = [
        (
            &json,
            br#"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"m"}"#,
        ),
        (
            &json,
            br#"{"code":"InvalidParameterException:http://internal.amazon.com/","Message":"m"}"#,
        ),
        (
            &[("x-amzn-errortype", "ThrottlingException:http://x")],
            br#"{"message":"slow down"}"#,
        ),
        (
            &[("content-type", "text/html")],
            b"<html><body>502 Bad Gateway</body></html>",
        ),
        (&json, b""),
    ];
    out.extend(
        errors
            .iter()
            .map(|(headers, body)| write(400, 0, headers, body)),
    );
    out.push(write(
        200,
        0,
        &json,
        br#"{"images":[{"imageId":{"imageTag":7}}],"failures":{},"extra":[[[]]]}"#,
    ));
    out.push(write(
        200,
        3,
        &json,
        br#"{"repository":{"registryId":"123456789012","createdAt":1.7e9}}"#,
    ));
    out
}

fn fixture_requests() -> Vec<BatchGetImageRequest> {
    let fixture = fixture();
    let s2 = fixture
        .image("s2")
        .map(|i| i.digest.clone())
        .unwrap_or_default();
    let get =
        |name: &str, ids: Vec<ImageIdentifier>, accepted: Option<&str>| BatchGetImageRequest {
            repository_name: Some(name.into()),
            image_ids: Some(ids),
            accepted_media_types: accepted.map(|a| vec![a.to_owned()]),
            ..Default::default()
        };
    vec![
        get("ubuntu", vec![ImageIdentifier::tag("precise")], None),
        get(
            "team/app",
            vec![
                ImageIdentifier::tag("v1"),
                ImageIdentifier::digest(&s2),
                ImageIdentifier::tag("nope"),
            ],
            None,
        ),
        get(
            "team/app",
            vec![
                ImageIdentifier::tag_and_digest("v2", &s2),
                ImageIdentifier::default(),
            ],
            None,
        ),
        get(
            "team/app",
            vec![ImageIdentifier::tag("v1")],
            Some(crate::model::manifest::OCI),
        ),
        get(
            "team/app",
            vec![ImageIdentifier::tag("oci")],
            Some(crate::model::manifest::S1),
        ),
        get("absent/repo", vec![ImageIdentifier::tag("v1")], None),
    ]
}

/// Every request the harness sends, with its target header.
fn request_seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = fixture_requests()
        .iter()
        .map(|r| http_request(&encode_request(r)))
        .collect();
    for call in fixture().calls().iter().take(6) {
        let request = match call {
            Call::CreateRepository(r) => encode_request(r),
            Call::PutImage(r) => encode_request(r),
            _ => continue,
        };
        out.push(http_request(&request));
    }
    out.push(write(
        0,
        0,
        &[(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.Unknown",
        )],
        b"{}",
    ));
    out.push(write(
        0,
        0,
        &[(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.BatchGetImage",
        )],
        b"{\"imageIds\": \"v1\"",
    ));
    out
}

fn http_request(request: &wire::HttpRequest) -> Vec<u8> {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let lower: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    let headers: Vec<(&str, &str)> = lower.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    write(0, 0, &headers, &request.body)
}

/// Deterministic byte strings, one per shape selector.
fn roundtrip_seeds() -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0u8..16)
        .map(|selector| {
            let mut bytes = vec![selector];
            bytes.extend((0..256).map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            }));
            bytes
        })
        .collect()
}

/// The bytes the generators consumed for scenarios drawn with fixed seeds: replayed through
/// the pass-through RNG of `model_oracle`, each gives the same scenario again.
fn scenario_seeds() -> Vec<Vec<u8>> {
    (0..GENERATED_SCENARIOS)
        .filter_map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::Recorder, &seed),
            );
            arb_scenario().new_tree(&mut runner).ok()?;
            arb_profile().new_tree(&mut runner).ok()?;
            Some(runner.rng().bytes_used())
        })
        .collect()
}

/// Deterministic byte strings of several lengths: `Arbitrary` reads any bytes as a sequence of
/// requests, so each is a different sequence. Some open with `0xff` four times, which picks the
/// last kind of request, one through the HTTP adapter, first.
fn endpoint_seeds() -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let lengths = [16usize, 64, 256, 1024, 4096];
    let random = lengths
        .iter()
        .flat_map(|len| std::iter::repeat_n((*len, false), 4));
    let http_first = lengths.iter().map(|len| (*len, true));
    random
        .chain(http_first)
        .map(|(len, http)| {
            let prefix = if http { &[0xff; 4][..] } else { &[] };
            let bytes = (prefix.len()..len).map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            });
            prefix.iter().copied().chain(bytes).collect()
        })
        .collect()
}
