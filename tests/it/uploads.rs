//! The layer upload's limits and bounds in the model (ECR's part sizes, no arithmetic
//! overflow on any integer, a bounded number of uploads in progress), and GetAuthorizationToken.

use base64::Engine as _;
use ecr_contract::model::{
    ImageDigest, MAX_PART_BLOB, MAX_UPLOADS, MIN_PART_SIZE, OpError, PART_SIZE, Registry,
    TOKEN_LIFETIME_SECONDS, TokenKey,
};
use ecr_contract::wire::{
    Blob, CompleteLayerUploadRequest, GetAuthorizationTokenRequest, InitiateLayerUploadRequest,
    UploadLayerPartRequest,
};

const REPO: &str = "team/app";

fn registry() -> Registry {
    Registry::builder()
        .repository(REPO)
        .build()
        .expect("a registry")
}

fn start(registry: &mut Registry) -> String {
    registry
        .initiate_layer_upload(&InitiateLayerUploadRequest {
            repository_name: Some(REPO.into()),
            ..Default::default()
        })
        .expect("an upload")
        .upload_id
        .expect("an id")
}

fn part(
    registry: &mut Registry,
    id: &str,
    first: i64,
    last: i64,
    bytes: Vec<u8>,
) -> Result<(), OpError> {
    registry
        .upload_layer_part(&UploadLayerPartRequest {
            repository_name: Some(REPO.into()),
            upload_id: Some(id.into()),
            part_first_byte: Some(first),
            part_last_byte: Some(last),
            layer_part_blob: Some(Blob(bytes)),
            ..Default::default()
        })
        .map(drop)
}

/// Uploads `parts` in order, each where the last ended.
fn upload(registry: &mut Registry, id: &str, parts: &[Vec<u8>]) -> Result<(), OpError> {
    let mut first = 0i64;
    for bytes in parts {
        let len = i64::try_from(bytes.len()).expect("a size");
        part(registry, id, first, first + len - 1, bytes.clone())?;
        first += len;
    }
    Ok(())
}

fn complete(registry: &mut Registry, id: &str, parts: &[Vec<u8>]) -> Result<(), OpError> {
    let digest = ImageDigest::of(&parts.concat()).to_string();
    registry
        .complete_layer_upload(&CompleteLayerUploadRequest {
            repository_name: Some(REPO.into()),
            upload_id: Some(id.into()),
            layer_digests: Some(vec![digest]),
            ..Default::default()
        })
        .map(drop)
}

fn code<T>(r: Result<T, OpError>) -> &'static str {
    r.err().map_or("none", |e| e.code)
}

#[test]
fn extreme_part_offsets_are_answered_never_a_panic() {
    let mut registry = registry();
    let extremes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
    for first in extremes {
        for last in extremes {
            for bytes in [vec![], vec![7u8]] {
                let id = start(&mut registry);
                let answer = part(&mut registry, &id, first, last, bytes.clone());
                let valid = first == 0 && last == 0 && bytes.len() == 1;
                assert_eq!(
                    answer.is_ok(),
                    valid,
                    "{first}..{last} with {} bytes",
                    bytes.len()
                );
            }
        }
    }
    // i64::MIN with an empty blob, the reported panic, is refused as out of range.
    let fresh = start(&mut registry);
    assert_eq!(
        code(part(&mut registry, &fresh, i64::MIN, -1, vec![])),
        "InvalidParameterException"
    );
    let fresh = start(&mut registry);
    assert_eq!(
        code(part(&mut registry, &fresh, 0, -1, vec![])),
        "InvalidParameterException"
    );
    assert_eq!(
        code(part(&mut registry, &fresh, 0, 0, vec![])),
        "InvalidLayerPartException"
    );
}

#[test]
fn every_part_but_the_last_must_be_five_mib() {
    let small = vec![1u8; 1024];
    let five = vec![2u8; MIN_PART_SIZE];
    let mut registry = registry();
    for (parts, expected) in [
        (vec![small.clone()], "none"),
        (vec![five.clone(), small.clone()], "none"),
        (vec![five.clone(), five.clone(), small.clone()], "none"),
        (
            vec![small.clone(), five.clone()],
            "LayerPartTooSmallException",
        ),
        (
            vec![five.clone(), small.clone(), small.clone()],
            "LayerPartTooSmallException",
        ),
    ] {
        let id = start(&mut registry);
        upload(&mut registry, &id, &parts).expect("parts accepted as they arrive");
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(
            code(complete(&mut registry, &id, &parts)),
            expected,
            "parts {sizes:?}"
        );
    }
}

#[test]
fn parts_over_the_maximum_are_refused() {
    let mut registry = registry();
    let id = start(&mut registry);
    let max = usize::try_from(PART_SIZE).expect("a size");
    assert_eq!(code(upload(&mut registry, &id, &[vec![0; max]])), "none");
    let id = start(&mut registry);
    assert_eq!(
        code(upload(&mut registry, &id, &[vec![0; max + 1]])),
        "InvalidLayerPartException"
    );
    // At the service model's blob limit the shape is valid and the part is too large; past
    // it, the shape is not.
    assert_eq!(
        code(upload(&mut registry, &id, &[vec![0; MAX_PART_BLOB]])),
        "InvalidLayerPartException"
    );
    assert_eq!(
        code(upload(&mut registry, &id, &[vec![0; MAX_PART_BLOB + 1]])),
        "InvalidParameterException"
    );
}

#[test]
fn uploads_in_progress_are_bounded_and_the_oldest_is_forgotten() {
    let mut registry = registry();
    let ids: Vec<String> = (0..=MAX_UPLOADS).map(|_| start(&mut registry)).collect();
    let repository = registry.repository("123456789012", REPO).expect("repo");
    assert_eq!(repository.uploads.len(), MAX_UPLOADS);
    assert_eq!(
        code(upload(&mut registry, &ids[0], &[vec![1]])),
        "UploadNotFoundException"
    );
    for id in &ids[1..] {
        assert_eq!(code(upload(&mut registry, id, &[vec![1]])), "none");
    }
    // A completed upload is forgotten at once.
    assert_eq!(code(complete(&mut registry, &ids[1], &[vec![1]])), "none");
    assert_eq!(
        code(complete(&mut registry, &ids[1], &[vec![1]])),
        "UploadNotFoundException"
    );
}

#[test]
fn get_authorization_token_is_aws_and_a_password_for_twelve_hours() {
    let registry = registry();
    let now = 1_700_000_000.0;
    let key = TokenKey::new([7; 32]);
    let answer = registry
        .get_authorization_token(&GetAuthorizationTokenRequest::default(), now, &key)
        .expect("a token");
    let data = answer.authorization_data.expect("data");
    assert_eq!(data.len(), 1);
    let token = data[0].authorization_token.as_deref().expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64");
    let text = String::from_utf8(decoded).expect("text");
    let password = text.strip_prefix("AWS:").expect("user AWS");
    assert!(!password.is_empty() && !password.contains(':'));
    assert_eq!(data[0].expires_at, Some(now + TOKEN_LIFETIME_SECONDS));
    assert_eq!(
        data[0].proxy_endpoint.as_deref(),
        Some("https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
    );
    let two = registry
        .get_authorization_token(
            &GetAuthorizationTokenRequest {
                registry_ids: Some(vec!["123456789012".into(), "210987654321".into()]),
            },
            now,
            &key,
        )
        .expect("tokens");
    let endpoints: Vec<String> = two
        .authorization_data
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| d.proxy_endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "https://210987654321.dkr.ecr.us-east-1.amazonaws.com"
        ]
    );
    // At most ten registries (`GetAuthorizationTokenRegistryIdList`): ten get ten tokens.
    let ten = registry
        .get_authorization_token(
            &GetAuthorizationTokenRequest {
                registry_ids: Some(vec!["123456789012".into(); 10]),
            },
            now,
            &key,
        )
        .expect("ten tokens");
    assert_eq!(ten.authorization_data.map(|d| d.len()), Some(10));
    for ids in [
        vec![],
        vec!["123456789012".to_owned(); 11],
        vec!["12345".to_owned()],
    ] {
        let answer = registry.get_authorization_token(
            &GetAuthorizationTokenRequest {
                registry_ids: Some(ids.clone()),
            },
            now,
            &key,
        );
        assert_eq!(code(answer), "InvalidParameterException", "{ids:?}");
    }
}
