//! `serve` against a hostile client: every answer is well formed (a media type that is no
//! header value is refused at the push), tokens and pre-signed URLs cannot be minted without
//! the server's key, and a SigV4 credential scope must be whole and right.

use std::time::SystemTime;

use base64::Engine as _;
use ecr_contract::model::manifest::S2;
use ecr_contract::model::{
    ImageManifest, Limits, PART_SIZE, Registry, TOKEN_LIFETIME_SECONDS, TokenKey, TokenRefusal,
};
use ecr_contract::serve::{Config, Responder, STATE_LIMITS, spawn};
use ecr_contract::strategy::manifests::{ContentBlob, Layout, schema2};
use ecr_contract::wire::{
    Blob, Credentials, GetAuthorizationTokenRequest, InitiateLayerUploadRequest, Operation,
    UploadLayerPartRequest, format_amz_date, sign_request,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::pull::{answer, push, registry_credentials};

const REPO: &str = "team/app";

/// Sends one AWS JSON call; the status and the error code (`None` on success).
async fn send(url: &str, operation: Operation, body: Value) -> (u16, Option<String>) {
    let (status, body) = answer(url, operation, body).await;
    (status, body["__type"].as_str().map(str::to_owned))
}

/// A registry GET of `path` with Basic `user:password`.
async fn registry_get(url: &str, path: &str, basic: &(String, String)) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
        .get(format!("{url}{path}"))
        .basic_auth(&basic.0, Some(&basic.1))
        .send()
        .await
        .expect("serve answers")
}

/// A media type with a control character, as issue 23 sent.
const WEIRD: &str = "application/x\u{1}weird";

/// PutImage of a manifest pushed with `media_type`, and of one carrying it as `mediaType`.
fn weird_pushes() -> [Value; 2] {
    let manifest = schema2(
        &ContentBlob::from_seed("weird config"),
        &[ContentBlob::from_seed("weird layer")],
        Layout::Docker,
    );
    let inner: Value = serde_json::from_str(&manifest).expect("a manifest");
    let mut inner = inner;
    inner["mediaType"] = json!(WEIRD);
    [
        json!({"repositoryName": REPO, "imageTag": "weird", "imageManifest": manifest,
               "imageManifestMediaType": WEIRD}),
        json!({"repositoryName": REPO, "imageTag": "weird", "imageManifest": inner.to_string()}),
    ]
}

async fn refuses_weird_media_types_and_serves_no_empty_200(url: &str) {
    let (status, _) = send(
        url,
        Operation::CreateRepository,
        json!({"repositoryName": REPO}),
    )
    .await;
    assert_eq!(status, 200);
    for put in weird_pushes() {
        let (status, code) = send(url, Operation::PutImage, put).await;
        assert_eq!(
            (status, code.as_deref()),
            (400, Some("InvalidParameterException"))
        );
    }
    let basic = registry_credentials(url).await;
    let response = registry_get(url, &format!("/v2/{REPO}/manifests/weird"), &basic).await;
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.headers().contains_key("content-type"));
    assert!(!response.bytes().await.expect("a body").is_empty());
}

#[tokio::test]
async fn a_media_type_that_is_no_header_value_is_refused_at_put_image_and_never_served() {
    let server = spawn(Config::default()).await.expect("serve starts");
    refuses_weird_media_types_and_serves_no_empty_200(&server.url()).await;
}

#[tokio::test]
async fn the_wiremock_responder_survives_a_media_type_that_is_no_header_value() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer};
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(Responder::new(Config::default().endpoint()))
        .mount(&mock)
        .await;
    refuses_weird_media_types_and_serves_no_empty_200(&mock.uri()).await;
}

#[test]
fn the_model_refuses_a_media_type_with_a_control_character_or_edge_blanks_only() {
    let manifest = schema2(
        &ContentBlob::from_seed("model config"),
        &[ContentBlob::from_seed("model layer")],
        Layout::Docker,
    );
    let refused = [
        WEIRD,
        "application/json\r\nx: y",
        " application/json",
        "a/b\t",
        "a\u{7f}",
    ];
    for media_type in refused {
        let built = Registry::builder()
            .repository(REPO)
            .image(ImageManifest::new(manifest.clone()).with_media_type(media_type))
            .tag("v1")
            .build();
        assert!(built.is_err(), "{media_type:?} was stored");
    }
    for media_type in [
        "application/vnd.custom+json; charset=utf-8",
        "a/b\tc",
        "a/é",
    ] {
        let built = Registry::builder()
            .repository(REPO)
            .image(ImageManifest::new(manifest.clone()).with_media_type(media_type))
            .tag("v1")
            .build();
        assert!(built.is_ok(), "{media_type:?} was refused: {built:?}");
    }
}

/// The password GetAuthorizationToken handed out before passwords were keyed: SHA-256 of
/// public data, which anyone can compute.
fn unkeyed_password(account: &str, expires: i64) -> String {
    let hash = Sha256::digest(format!("ecr-contract password\n{account}\n{expires}"));
    let checksum: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{account}.{expires}.{checksum}"))
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[tokio::test]
async fn a_registry_password_not_signed_with_the_servers_key_is_denied() {
    let server = spawn(Config::default()).await.expect("serve starts");
    let url = server.url();
    let later = now_seconds() + 3600;
    let zeros = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("123456789012.{later}.{}", "0".repeat(64)));
    for forged in [unkeyed_password("123456789012", later), zeros] {
        let basic = ("AWS".to_owned(), forged);
        let response = registry_get(&url, "/v2/_catalog", &basic).await;
        assert_eq!(response.status().as_u16(), 403);
    }
    let basic = registry_credentials(&url).await;
    let response = registry_get(&url, "/v2/_catalog", &basic).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn a_password_is_valid_only_under_its_key_and_until_it_expires() {
    let registry = Registry::builder()
        .repository(REPO)
        .build()
        .expect("a registry");
    let (key, other) = (TokenKey::new([7; 32]), TokenKey::new([8; 32]));
    let now = 1_700_000_000.0;
    let answer = registry
        .get_authorization_token(&GetAuthorizationTokenRequest::default(), now, &key)
        .expect("a token");
    let token = answer.authorization_data.expect("data")[0]
        .authorization_token
        .clone()
        .expect("a token");
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(token)
            .expect("base64"),
    )
    .expect("text");
    let password = text.strip_prefix("AWS:").expect("AWS:<password>");
    assert_eq!(
        registry.check_registry_password(password, now, &key),
        Ok(())
    );
    assert_eq!(
        registry.check_registry_password(password, now, &other),
        Err(TokenRefusal::Invalid)
    );
    let expires = (now + TOKEN_LIFETIME_SECONDS) as i64;
    assert_eq!(
        registry.check_registry_password(password, expires as f64, &key),
        Err(TokenRefusal::Expired)
    );
    // The same mac with a later expiry is no password at all.
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(password)
        .expect("base64");
    let inner = String::from_utf8(decoded).expect("text");
    let extended = inner.replace(&format!(".{expires}."), &format!(".{}.", expires + 3600));
    let extended = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(extended);
    assert_eq!(
        registry.check_registry_password(&extended, expires as f64, &key),
        Err(TokenRefusal::Invalid)
    );
    assert_eq!(
        registry.check_registry_password(&unkeyed_password("123456789012", expires), now, &key),
        Err(TokenRefusal::Invalid)
    );
}

#[tokio::test]
async fn a_pre_signed_blob_url_is_honoured_only_as_the_server_signed_it() {
    let config = Config {
        blob_redirect: true,
        ..Config::default()
    };
    let server = spawn(config).await.expect("serve starts");
    let url = server.url();
    let (blob_config, layer) = (
        ContentBlob::from_seed("signed config"),
        ContentBlob::from_seed("signed layer"),
    );
    let manifest = schema2(&blob_config, std::slice::from_ref(&layer), Layout::Docker);
    push(&url, REPO, "v1", &manifest, &[&blob_config, &layer]).await;
    let basic = registry_credentials(&url).await;
    let path = format!("/v2/{REPO}/blobs/{}", layer.digest);
    let redirect = registry_get(&url, &path, &basic).await;
    assert_eq!(redirect.status().as_u16(), 307);
    let location = redirect.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    let anonymous = |path: String| {
        let url = url.clone();
        async move {
            let response = reqwest::get(format!("{url}{path}")).await.expect("answers");
            (
                response.status().as_u16(),
                response.bytes().await.expect("a body"),
            )
        }
    };
    let (status, bytes) = anonymous(location.clone()).await;
    assert_eq!((status, bytes.as_ref()), (200, layer.bytes.as_slice()));
    let hash = Sha256::digest(format!(
        "ecr-contract blob download\n{REPO}\n{}",
        layer.digest
    ));
    let unkeyed: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let expires = location
        .split("expires=")
        .nth(1)
        .and_then(|e| e.split('&').next())
        .and_then(|e| e.parse::<i64>().ok())
        .expect("an expiry");
    let forged = [
        format!("{path}?download={unkeyed}"),
        location.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 1),
        ),
        location.replace("download=", "download=0"),
    ];
    for forged in forged {
        assert_eq!(anonymous(forged.clone()).await.0, 401, "{forged}");
    }
}

/// A signed CreateRepository whose `Authorization` header `rewrite` changes after signing for
/// `region`.
async fn signed_create(url: &str, region: &str, rewrite: impl Fn(&str) -> String) -> (u16, Value) {
    let body = json!({"repositoryName": "signed/app"}).to_string();
    let target = Operation::CreateRepository.target();
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", target.as_str()),
    ];
    let (added, _) = sign_request(
        &Credentials::placeholder(),
        region,
        "POST",
        &format!("{url}/"),
        &headers,
        body.as_bytes(),
        SystemTime::now(),
    )
    .expect("signs");
    let mut request = reqwest::Client::new().post(format!("{url}/")).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    for (name, value) in &added {
        let value = match name.as_str() {
            "authorization" => rewrite(value),
            _ => value.clone(),
        };
        request = request.header(name.as_str(), value);
    }
    let response = request.send().await.expect("serve answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// A change to an `Authorization` header.
type Rewrite = Box<dyn Fn(&str) -> String>;

#[tokio::test]
async fn a_credential_scope_must_name_the_day_ecr_and_aws4_request() {
    let config = Config {
        verify_signatures: Some(Credentials::placeholder()),
        ..Config::default()
    };
    let server = spawn(config).await.expect("serve starts");
    let url = server.url();
    let today = format_amz_date(SystemTime::now())[..8].to_owned();
    let yesterday =
        format_amz_date(SystemTime::now() - std::time::Duration::from_secs(86_400))[..8].to_owned();
    let wrong_day = move |a: &str| a.replace(&format!("/{today}/"), &format!("/{yesterday}/"));
    let refused: [(&str, Rewrite, &str); 3] = [
        ("us-east-1", Box::new(wrong_day), "Date in Credential scope"),
        (
            "us-east-1",
            Box::new(|a: &str| a.replace("/ecr/", "/s3/")),
            "correct service",
        ),
        (
            "us-east-1",
            Box::new(|a: &str| a.replace("/aws4_request", "/aws4_xxxxxxx")),
            "valid terminator",
        ),
    ];
    for (region, rewrite, message) in refused {
        let (status, body) = signed_create(&url, region, rewrite).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("InvalidSignatureException")),
            "{message}: {body}"
        );
        let text = body["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{text}");
    }
    // A signature for another region, checked with that region's key, is accepted: clients
    // of a mock sign with the region they are configured with.
    let (status, body) = signed_create(&url, "eu-west-1", str::to_owned).await;
    assert_eq!(status, 200, "{body}");
}

/// A server with `limits`, and its URL.
async fn limited(limits: Limits) -> (ecr_contract::serve::Server, String) {
    let server = spawn(Config {
        limits,
        ..Config::default()
    })
    .await
    .expect("serve starts");
    let url = server.url();
    (server, url)
}

/// Limits that refuse nothing but what a test sets.
const OPEN: Limits = Limits::ECR;

async fn create(url: &str, body: Value) -> (u16, Option<String>) {
    send(url, Operation::CreateRepository, body).await
}

const LIMIT: (u16, Option<&str>) = (400, Some("LimitExceededException"));

#[tokio::test]
async fn repositories_are_capped_per_registry_and_registries_in_all() {
    let (_server, url) = limited(Limits {
        repositories_per_registry: 2,
        registries: 2,
        ..OPEN
    })
    .await;
    for name in ["a/one", "a/two"] {
        assert_eq!(create(&url, json!({"repositoryName": name})).await.0, 200);
    }
    let (status, code) = create(&url, json!({"repositoryName": "a/three"})).await;
    assert_eq!((status, code.as_deref()), LIMIT);
    // An existing name is still RepositoryAlreadyExistsException, not the cap.
    let (_, code) = create(&url, json!({"repositoryName": "a/two"})).await;
    assert_eq!(code.as_deref(), Some("RepositoryAlreadyExistsException"));
    // A deleted repository frees its place.
    let deleted = send(
        &url,
        Operation::DeleteRepository,
        json!({"repositoryName": "a/two"}),
    )
    .await;
    assert_eq!(deleted.0, 200);
    assert_eq!(
        create(&url, json!({"repositoryName": "a/three"})).await.0,
        200
    );
    // A second registry id fits; a third does not.
    let other = |id: &str| json!({"registryId": id, "repositoryName": "b/one"});
    assert_eq!(create(&url, other("210987654321")).await.0, 200);
    let (status, code) = create(&url, other("111111111111")).await;
    assert_eq!((status, code.as_deref()), LIMIT);
}

/// PutImage of a distinct small manifest `n` as tag `t<n>` into `repository`.
async fn put_numbered(url: &str, repository: &str, n: usize) -> (u16, Option<String>) {
    let manifest = json!({"schemaVersion": 2, "mediaType": S2, "config": {"digest": format!("sha256:{n:064x}"), "size": n}, "layers": []});
    let body = json!({"repositoryName": repository, "imageTag": format!("t{n}"), "imageManifest": manifest.to_string()});
    send(url, Operation::PutImage, body).await
}

#[tokio::test]
async fn images_are_capped_per_repository_and_in_all() {
    let (_server, url) = limited(Limits {
        images_per_repository: 2,
        images: 3,
        ..OPEN
    })
    .await;
    for name in ["a/one", "a/two"] {
        assert_eq!(create(&url, json!({"repositoryName": name})).await.0, 200);
    }
    for n in 1..=2 {
        assert_eq!(put_numbered(&url, "a/one", n).await.0, 200);
    }
    let (status, code) = put_numbered(&url, "a/one", 3).await;
    assert_eq!((status, code.as_deref()), LIMIT);
    assert_eq!(put_numbered(&url, "a/two", 4).await.0, 200);
    let (status, code) = put_numbered(&url, "a/two", 5).await;
    assert_eq!((status, code.as_deref()), LIMIT);
}

/// One part of `len` bytes to a new upload in `repository`; its answer.
async fn upload_part(url: &str, repository: &str, len: usize) -> (u16, Option<String>) {
    let started = crate::support::pull::call(
        url,
        Operation::InitiateLayerUpload,
        json!({"repositoryName": repository}),
    )
    .await;
    let part = base64::engine::general_purpose::STANDARD.encode(vec![7u8; len]);
    let body = json!({"repositoryName": repository, "uploadId": started["uploadId"],
                      "partFirstByte": 0, "partLastByte": len - 1, "layerPartBlob": part});
    send(url, Operation::UploadLayerPart, body).await
}

#[tokio::test]
async fn uploads_blobs_and_manifests_share_one_byte_budget() {
    let (_server, url) = limited(Limits {
        stored_bytes: 1_000,
        ..OPEN
    })
    .await;
    assert_eq!(
        create(&url, json!({"repositoryName": "a/one"})).await.0,
        200
    );
    assert_eq!(upload_part(&url, "a/one", 600).await.0, 200);
    let (status, code) = upload_part(&url, "a/one", 401).await;
    assert_eq!((status, code.as_deref()), LIMIT);
    assert_eq!(upload_part(&url, "a/one", 400).await.0, 200);
    // Full to the byte: a manifest no longer fits either.
    let (status, code) = put_numbered(&url, "a/one", 1).await;
    assert_eq!((status, code.as_deref()), LIMIT);
}

#[test]
fn the_models_default_limits_are_ecrs_quotas() {
    let registry = Registry::builder()
        .repository(REPO)
        .build()
        .expect("a registry");
    assert_eq!(registry.limits, Limits::ECR);
    assert_eq!(Limits::ECR.repositories_per_registry, 100_000);
    assert_eq!(Limits::ECR.images_per_repository, 20_000);
    assert_eq!(Config::default().limits, STATE_LIMITS);
}

/// A registry with one upload of `parts` full-size parts in progress in [`REPO`]; its id.
fn with_large_upload(parts: usize) -> (Registry, String) {
    let mut registry = Registry::builder()
        .repository(REPO)
        .build()
        .expect("a registry");
    let started = registry
        .initiate_layer_upload(&InitiateLayerUploadRequest {
            repository_name: Some(REPO.into()),
            ..Default::default()
        })
        .expect("an upload");
    let id = started.upload_id.expect("an id");
    let size = PART_SIZE as usize;
    for n in 0..parts {
        let first = (n * size) as i64;
        registry
            .upload_layer_part(&UploadLayerPartRequest {
                repository_name: Some(REPO.into()),
                upload_id: Some(id.clone()),
                part_first_byte: Some(first),
                part_last_byte: Some(first + size as i64 - 1),
                layer_part_blob: Some(Blob(vec![n as u8; size])),
                ..Default::default()
            })
            .expect("a part");
    }
    (registry, id)
}

/// Other requests are answered while an upload of 200 MiB is joined and digested: the lock on
/// the state is not held for it. With the lock held throughout, a read sent meanwhile would
/// wait for most of the completion; here none waits a quarter of it.
#[test]
fn requests_are_answered_while_a_large_upload_is_digested() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let (registry, id) = with_large_upload(20);
    let endpoint = std::sync::Arc::new(ecr_contract::serve::Endpoint::from_registry(registry));
    let headers = |operation: Operation| {
        let mut headers = http::HeaderMap::new();
        let target = http::HeaderValue::from_str(&operation.target()).expect("a target");
        headers.insert("x-amz-target", target);
        headers
    };
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let completing = {
        let (endpoint, done) = (endpoint.clone(), done.clone());
        let body = json!({"repositoryName": REPO, "uploadId": id,
                          "layerDigests": [format!("sha256:{}", "0".repeat(64))]});
        let headers = headers(Operation::CompleteLayerUpload);
        std::thread::spawn(move || {
            let started = Instant::now();
            let reply = endpoint.handle("POST", "/", &headers, body.to_string().as_bytes());
            done.store(true, Ordering::SeqCst);
            (reply.status, started.elapsed())
        })
    };
    let read = headers(Operation::DescribeRepositories);
    let mut longest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        let sent = Instant::now();
        assert_eq!(endpoint.handle("POST", "/", &read, b"{}").status, 200);
        longest = longest.max(sent.elapsed());
    }
    let (status, took) = completing.join().expect("the completion ends");
    assert_eq!(
        status, 400,
        "InvalidLayerException: the digest given is not the upload's"
    );
    assert!(
        longest * 2 < took,
        "a read waited {longest:?} during a completion of {took:?}"
    );
}
