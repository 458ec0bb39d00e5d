//! The bodies of the fuzz targets. Each panics on a finding and returns quietly otherwise.

use std::fmt::Debug;

use arbitrary::{Arbitrary, Unstructured};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;
use serde_json::Value;

use crate::strategy::{arb_profile, arb_scenario};
use crate::wire::{self, Decode, Input, Reply, Request, clean_error_name, decode_body};

use super::input;
use super::scenario::check_scenario;

/// `parse_response`: any status, headers and body into the response decoder of the operation
/// the selector byte names. A decoded success must re-encode and decode to the same value.
pub fn parse_response(data: &[u8]) {
    let message = input::read(data);
    let m = &message;
    match m.selector % 10 {
        0..=2 => response_round_trips::<wire::BatchGetImageResponse>(m),
        3 => response_round_trips::<wire::CreateRepositoryResponse>(m),
        4 => response_round_trips::<wire::InitiateLayerUploadResponse>(m),
        5 => response_round_trips::<wire::UploadLayerPartResponse>(m),
        6 => response_round_trips::<wire::CompleteLayerUploadResponse>(m),
        7 => response_round_trips::<wire::PutImageResponse>(m),
        8 => response_round_trips::<wire::BatchDeleteImageResponse>(m),
        _ => response_round_trips::<wire::DeleteRepositoryResponse>(m),
    }
}

fn response_round_trips<O: Decode + Serialize + PartialEq + Debug>(m: &input::Message<'_>) {
    if let Ok(Reply::Success(decoded)) = wire::parse_response::<O>(m.status, &m.headers, m.body) {
        assert_re_decodes(&decoded.value);
    }
}

/// Encodes `value` and decodes it: the result is clean and equal.
fn assert_re_decodes<T: Decode + Serialize + PartialEq + Debug>(value: &T) {
    let bytes = serde_json::to_vec(value).expect("a decoded value encodes");
    let again = decode_body::<T>(&bytes).expect("a re-encoded value decodes");
    assert!(again.is_clean(), "re-encoded value is not clean: {again:?}");
    assert_eq!(&again.value, value, "re-encoding changed the value");
}

/// `parse_request`: any headers and body into the request decoder the embedded server uses.
/// A decoded request must re-encode and decode to the same value.
pub fn parse_request(data: &[u8]) {
    let m = input::read(data);
    let Ok(request) = wire::decode_request(&m.headers, m.body) else {
        return;
    };
    match &request {
        Request::BatchGetImage(d) => assert_re_decodes(&d.value),
        Request::CreateRepository(d) => assert_re_decodes(&d.value),
        Request::InitiateLayerUpload(d) => assert_re_decodes(&d.value),
        Request::UploadLayerPart(d) => assert_re_decodes(&d.value),
        Request::CompleteLayerUpload(d) => assert_re_decodes(&d.value),
        Request::PutImage(d) => assert_re_decodes(&d.value),
        Request::BatchDeleteImage(d) => assert_re_decodes(&d.value),
        Request::DeleteRepository(d) => assert_re_decodes(&d.value),
        Request::DescribeRepositories(d) => assert_re_decodes(&d.value),
        Request::ListImages(d) => assert_re_decodes(&d.value),
        Request::DescribeImages(d) => assert_re_decodes(&d.value),
        Request::BatchCheckLayerAvailability(d) => assert_re_decodes(&d.value),
        Request::GetAuthorizationToken(d) => assert_re_decodes(&d.value),
    }
}

/// `roundtrip`: a structure-aware wire value (the first byte picks the shape) encodes and
/// decodes to itself.
pub fn roundtrip(data: &[u8]) {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let u = &mut Unstructured::new(rest);
    match selector % 13 {
        0 => input_round_trips::<wire::BatchGetImageRequest>(u),
        1 => input_round_trips::<wire::CreateRepositoryRequest>(u),
        2 => input_round_trips::<wire::InitiateLayerUploadRequest>(u),
        3 => input_round_trips::<wire::UploadLayerPartRequest>(u),
        4 => input_round_trips::<wire::CompleteLayerUploadRequest>(u),
        5 => input_round_trips::<wire::PutImageRequest>(u),
        6 => input_round_trips::<wire::BatchDeleteImageRequest>(u),
        7 => input_round_trips::<wire::DeleteRepositoryRequest>(u),
        8 => input_round_trips::<wire::DescribeRepositoriesRequest>(u),
        9 => input_round_trips::<wire::ListImagesRequest>(u),
        10 => input_round_trips::<wire::DescribeImagesRequest>(u),
        11 => input_round_trips::<wire::BatchCheckLayerAvailabilityRequest>(u),
        _ => input_round_trips::<wire::GetAuthorizationTokenRequest>(u),
    }
}

fn input_round_trips<I>(u: &mut Unstructured<'_>)
where
    I: Input + PartialEq + Debug + for<'a> Arbitrary<'a>,
    I::Output: PartialEq + Debug + for<'a> Arbitrary<'a>,
{
    if let Ok(input) = I::arbitrary(u) {
        assert_re_decodes(&input);
    }
    if let Ok(output) = I::Output::arbitrary(u) {
        // JSON has no NaN or infinity: serde_json writes them as null.
        if !contains_null(&serde_json::to_value(&output).unwrap_or(Value::Null)) {
            assert_re_decodes(&output);
        }
    }
}

fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

/// `model_oracle`: a registry state, setup sequence, request and profile drawn from the
/// project's generators (the fuzz bytes drive their random choices): the model's answer
/// passes the oracle, accounting holds, digests are content addresses, and mutated answers
/// are caught.
pub fn model_oracle(data: &[u8]) {
    let mut runner = TestRunner::new_with_rng(Config::default(), pass_through(data));
    let (Ok(scenario), Ok(profile)) = (
        arb_scenario().new_tree(&mut runner),
        arb_profile().new_tree(&mut runner),
    ) else {
        return;
    };
    let (scenario, profile) = (scenario.current(), profile.current());
    if let Err(finding) = check_scenario(&scenario, &profile) {
        panic!("{finding}\nscenario: {scenario:#?}\nprofile: {profile:?}");
    }
}

/// The bytes a pass-through RNG serves the generators: the fuzz input, then a tail derived
/// from it. A depleted pass-through RNG returns zeros forever, on which rand's rejection
/// sampling of ranges never terminates; the tail keeps it supplied.
pub fn pass_through(data: &[u8]) -> TestRng {
    const LEN: usize = 1 << 12;
    let mut seed = Vec::with_capacity(data.len() + LEN);
    seed.extend_from_slice(data);
    let mut state = data.iter().fold(0x243f_6a88_85a3_08d3_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    while seed.len() < data.len() + LEN {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        seed.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::PassThrough, &seed)
}

/// `differential`: the typed decoder and a generic `serde_json::Value` reading of the same
/// bytes agree on whether the body is a JSON object, on the error name, and on every member
/// both can see.
pub fn differential(data: &[u8]) {
    let typed = decode_body::<wire::BatchGetImageResponse>(data);
    let generic = serde_json::from_slice::<Value>(data);
    match (&typed, &generic) {
        (Ok(t), Ok(Value::Object(map))) => {
            agree_on_members(&t.value, map, t.shape_issues.is_empty())
        }
        (Err(_), Ok(Value::Object(_))) => panic!("typed decoder refuses an object: {typed:?}"),
        (Ok(_), Ok(other)) => panic!("typed decoder accepts a non-object: {other}"),
        (Ok(_), Err(e)) if !e.to_string().contains("recursion limit") => {
            panic!("typed decoder accepts invalid JSON: {e}")
        }
        _ => {}
    }
    if let Ok(Reply::Error(e)) =
        wire::parse_response::<wire::BatchGetImageResponse>(400, &http::HeaderMap::new(), data)
    {
        let name = |key: &str| {
            generic
                .as_ref()
                .ok()
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
        };
        let want = name("__type")
            .or_else(|| name("code"))
            .map(clean_error_name);
        assert_eq!(e.code.as_deref(), want, "error names differ");
    }
}

fn agree_on_members(
    typed: &wire::BatchGetImageResponse,
    map: &serde_json::Map<String, Value>,
    clean: bool,
) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if let (Some(images), Some(Value::Array(generic))) = (&typed.images, map.get("images"))
        && clean
    {
        assert_eq!(images.len(), generic.len(), "image counts differ");
        for (t, g) in images.iter().zip(generic) {
            assert_eq!(
                t.image_manifest,
                text(g, "imageManifest"),
                "manifests differ"
            );
            assert_eq!(t.registry_id, text(g, "registryId"), "registry ids differ");
            let id = g.get("imageId").cloned().unwrap_or(Value::Null);
            assert_eq!(
                t.image_id.as_ref().and_then(|i| i.image_tag.clone()),
                text(&id, "imageTag"),
                "tags differ"
            );
        }
    }
    if let (Some(failures), Some(Value::Array(generic))) = (&typed.failures, map.get("failures"))
        && clean
    {
        assert_eq!(failures.len(), generic.len(), "failure counts differ");
        for (t, g) in failures.iter().zip(generic) {
            assert_eq!(
                t.failure_code,
                text(g, "failureCode"),
                "failure codes differ"
            );
        }
    }
    assert_eq!(
        typed.images.is_some(),
        map.get("images").is_some_and(Value::is_array),
        "presence of images differs"
    );
}
