//! The Rust SDK (`aws-sdk-ecr`) as a real client of `serve`: the push path, BatchGetImage,
//! the paginators, typed errors, session tokens, clock skew and retries against faults. The
//! client is configured explicitly (endpoint, static credentials, region, rustls on ring): no
//! credential chain, no network beyond loopback.

use std::time::{Duration, SystemTime};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{EncryptionType, ImageFailureCode, ImageIdentifier};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use base64::Engine as _;
use ecr_contract::model::ImageDigest;
use ecr_contract::serve::{self, Config, Fault, Server, always, first};
use ecr_contract::wire::{Operation, parse_amz_date};

const DOCKER_SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A clock `offset` seconds from the real one (negative: behind).
#[derive(Debug, Clone, Copy)]
struct OffsetClock(i64);

impl aws_smithy_async::time::TimeSource for OffsetClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let by = Duration::from_secs(self.0.unsigned_abs());
        if self.0 < 0 { now - by } else { now + by }
    }
}

/// A client of `url` signing with `credentials`, its clock off by `clock` seconds, retrying up
/// to three attempts with short backoffs.
fn client_with(url: &str, credentials: Credentials, clock: OffsetClock) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .http_client(http)
        .time_source(clock)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build();
    Client::from_conf(config)
}

fn static_credentials(token: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDSDKTEST",
        "sdk-test-secret",
        token.map(str::to_owned),
        None,
        "tests",
    )
}

fn client(server: &Server) -> Client {
    client_with(&server.url(), static_credentials(None), OffsetClock(0))
}

async fn strict_server() -> Server {
    serve::spawn(Config {
        require_blobs: true,
        ..Config::default()
    })
    .await
    .expect("serve starts")
}

/// Uploads `bytes` as one layer through InitiateLayerUpload, UploadLayerPart and
/// CompleteLayerUpload; returns its digest.
async fn upload(client: &Client, repository: &str, bytes: &[u8]) -> String {
    let started = client
        .initiate_layer_upload()
        .repository_name(repository)
        .send()
        .await
        .expect("InitiateLayerUpload");
    let upload_id = started.upload_id().expect("an upload id");
    assert!(started.part_size().is_some_and(|n| n > 0));
    let len = i64::try_from(bytes.len()).expect("a size");
    let part = client
        .upload_layer_part()
        .repository_name(repository)
        .upload_id(upload_id)
        .part_first_byte(0)
        .part_last_byte(len - 1)
        .layer_part_blob(Blob::new(bytes))
        .send()
        .await
        .expect("UploadLayerPart");
    assert_eq!(part.last_byte_received(), Some(len - 1));
    let digest = ImageDigest::of(bytes).to_string();
    let done = client
        .complete_layer_upload()
        .repository_name(repository)
        .upload_id(upload_id)
        .layer_digests(&digest)
        .send()
        .await
        .expect("CompleteLayerUpload");
    assert_eq!(done.layer_digest(), Some(digest.as_str()));
    digest
}

/// A Docker schema 2 manifest of the config and layer given (digest, size).
fn schema2(config: (&str, usize), layer: (&str, usize)) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_SCHEMA2}","config":{{"mediaType":"{DOCKER_CONFIG}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{DOCKER_LAYER}","size":{},"digest":"{}"}}]}}"#,
        config.1, config.0, layer.1, layer.0
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_creates_uploads_pushes_and_pulls_with_every_member_ecr_sends() {
    let server = strict_server().await;
    let ecr = client(&server);
    let created = ecr
        .create_repository()
        .repository_name("sdk/app")
        .send()
        .await
        .expect("CreateRepository");
    let repository = created.repository().expect("a repository");
    assert_eq!(repository.repository_name(), Some("sdk/app"));
    let encryption = repository.encryption_configuration().expect("encryption");
    assert_eq!(encryption.encryption_type(), &EncryptionType::Aes256);
    let scanning = repository.image_scanning_configuration().expect("scanning");
    assert!(!scanning.scan_on_push());
    let (config, layer) = (br#"{"architecture":"amd64"}"#.to_vec(), vec![7u8; 3000]);
    let config_digest = upload(&ecr, "sdk/app", &config).await;
    let layer_digest = upload(&ecr, "sdk/app", &layer).await;
    let manifest = schema2((&config_digest, config.len()), (&layer_digest, layer.len()));
    let pushed = ecr
        .put_image()
        .repository_name("sdk/app")
        .image_manifest(&manifest)
        .image_tag("v1")
        .send()
        .await
        .expect("PutImage");
    let digest = ImageDigest::of(manifest.as_bytes()).to_string();
    let pushed_id = pushed.image().and_then(|i| i.image_id()).expect("an id");
    assert_eq!(pushed_id.image_digest(), Some(digest.as_str()));
    let checked = ecr
        .batch_check_layer_availability()
        .repository_name("sdk/app")
        .layer_digests(&layer_digest)
        .layer_digests(format!("sha256:{}", "0".repeat(64)))
        .send()
        .await
        .expect("BatchCheckLayerAvailability");
    assert_eq!(checked.layers().len(), 1);
    assert_eq!(checked.layers()[0].media_type(), Some(DOCKER_LAYER));
    assert_eq!(checked.layers()[0].layer_size(), Some(3000));
    assert_eq!(checked.failures().len(), 1);
    let detail = ecr
        .describe_images()
        .repository_name("sdk/app")
        .send()
        .await
        .expect("DescribeImages");
    let detail = &detail.image_details()[0];
    assert_eq!(detail.artifact_media_type(), Some(DOCKER_CONFIG));
    let size = i64::try_from(config.len() + layer.len()).expect("a size");
    assert_eq!(detail.image_size_in_bytes(), Some(size));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_image_by_tag_digest_and_media_type_with_failures() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    ecr.create_repository()
        .repository_name("sdk/get")
        .send()
        .await
        .expect("CreateRepository");
    let digest_of = |s: &str| ImageDigest::of(s.as_bytes()).to_string();
    let manifest = schema2((&digest_of("config"), 6), (&digest_of("layer"), 5));
    ecr.put_image()
        .repository_name("sdk/get")
        .image_manifest(&manifest)
        .image_tag("v1")
        .send()
        .await
        .expect("PutImage");
    let digest = digest_of(&manifest);
    let got = ecr
        .batch_get_image()
        .repository_name("sdk/get")
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .image_ids(ImageIdentifier::builder().image_digest(&digest).build())
        .image_ids(ImageIdentifier::builder().image_tag("absent").build())
        .accepted_media_types(DOCKER_SCHEMA2)
        .send()
        .await
        .expect("BatchGetImage");
    assert_eq!(got.images().len(), 2);
    for image in got.images() {
        assert_eq!(image.image_manifest(), Some(manifest.as_str()));
        assert_eq!(image.image_manifest_media_type(), Some(DOCKER_SCHEMA2));
        let id = image.image_id().expect("an id");
        assert_eq!(id.image_digest(), Some(digest.as_str()));
    }
    assert_eq!(got.failures().len(), 1);
    let failure = &got.failures()[0];
    assert_eq!(
        failure.failure_code(),
        Some(&ImageFailureCode::ImageNotFound)
    );
    assert_eq!(
        failure.image_id().and_then(|i| i.image_tag()),
        Some("absent")
    );
    let missing = ecr
        .batch_get_image()
        .repository_name("sdk/none")
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect_err("no such repository")
        .into_service_error();
    assert!(missing.is_repository_not_found_exception(), "{missing:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paginators_of_the_three_listings_see_every_page() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    for n in 0..32 {
        ecr.create_repository()
            .repository_name(format!("page/r{n:02}"))
            .send()
            .await
            .expect("CreateRepository");
    }
    for n in 0..25 {
        let manifest = schema2(
            (&format!("sha256:{n:064x}"), n),
            (&format!("sha256:{:064x}", n + 100), 1),
        );
        ecr.put_image()
            .repository_name("page/r00")
            .image_manifest(manifest)
            .image_tag(format!("t{n:02}"))
            .send()
            .await
            .expect("PutImage");
    }
    let pages = ecr
        .describe_repositories()
        .max_results(10)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page");
    let sizes: Vec<usize> = pages.iter().map(|p| p.repositories().len()).collect();
    assert_eq!(sizes, [10, 10, 10, 2]);
    assert_eq!(
        server.endpoint().requests(Operation::DescribeRepositories),
        4
    );
    let mut names: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.repositories())
        .filter_map(|r| r.repository_name())
        .collect();
    names.dedup();
    assert_eq!(names.len(), 32, "each repository once");
    let ids = ecr
        .list_images()
        .repository_name("page/r00")
        .into_paginator()
        .page_size(7)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every id");
    assert_eq!(ids.len(), 25);
    assert_eq!(server.endpoint().requests(Operation::ListImages), 4);
    let details = ecr
        .describe_images()
        .repository_name("page/r00")
        .into_paginator()
        .page_size(10)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every detail");
    assert_eq!(details.len(), 25);
    assert_eq!(server.endpoint().requests(Operation::DescribeImages), 3);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pagination_is_a_typed_invalid_parameter_exception() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    for name in ["bad/a", "bad/b", "bad/c"] {
        ecr.create_repository()
            .repository_name(name)
            .send()
            .await
            .expect("CreateRepository");
    }
    let first = ecr
        .describe_repositories()
        .max_results(1)
        .send()
        .await
        .expect("a page");
    let token = first.next_token().expect("a token").to_owned();
    let foreign = ecr
        .list_images()
        .repository_name("bad/a")
        .next_token(&token)
        .send()
        .await
        .expect_err("a DescribeRepositories token in ListImages")
        .into_service_error();
    assert!(foreign.is_invalid_parameter_exception(), "{foreign:?}");
    let requests = [
        ecr.describe_repositories().max_results(0),
        ecr.describe_repositories().max_results(1001),
        ecr.describe_repositories().next_token("garbage"),
        ecr.describe_repositories()
            .repository_names("bad/a")
            .max_results(10),
        ecr.describe_repositories()
            .repository_names("bad/a")
            .next_token(&token),
    ];
    for (n, request) in requests.into_iter().enumerate() {
        let error = request
            .send()
            .await
            .expect_err("refused")
            .into_service_error();
        assert!(
            error.is_invalid_parameter_exception(),
            "request {n}: {error:?}"
        );
    }
    let error = ecr
        .describe_images()
        .repository_name("bad/a")
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .max_results(5)
        .send()
        .await
        .expect_err("imageIds with maxResults")
        .into_service_error();
    assert!(error.is_invalid_parameter_exception(), "{error:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modelled_errors_arrive_as_their_typed_exceptions() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    ecr.create_repository()
        .repository_name("typed/app")
        .send()
        .await
        .expect("CreateRepository");
    let again = ecr
        .create_repository()
        .repository_name("typed/app")
        .send()
        .await
        .expect_err("exists")
        .into_service_error();
    assert!(again.is_repository_already_exists_exception(), "{again:?}");
    // Two parts, the first under 5 MiB: refused when the upload completes.
    let upload_id = ecr
        .initiate_layer_upload()
        .repository_name("typed/app")
        .send()
        .await
        .expect("InitiateLayerUpload")
        .upload_id()
        .expect("an id")
        .to_owned();
    for (first, bytes) in [(0, vec![1u8; 10]), (10, vec![2u8; 10])] {
        ecr.upload_layer_part()
            .repository_name("typed/app")
            .upload_id(&upload_id)
            .part_first_byte(first)
            .part_last_byte(first + 9)
            .layer_part_blob(Blob::new(bytes))
            .send()
            .await
            .expect("UploadLayerPart");
    }
    let digest = ImageDigest::of(&[vec![1u8; 10], vec![2u8; 10]].concat()).to_string();
    let small = ecr
        .complete_layer_upload()
        .repository_name("typed/app")
        .upload_id(&upload_id)
        .layer_digests(digest)
        .send()
        .await
        .expect_err("a part too small")
        .into_service_error();
    assert!(small.is_layer_part_too_small_exception(), "{small:?}");
    let out_of_order = ecr
        .upload_layer_part()
        .repository_name("typed/app")
        .upload_id(&upload_id)
        .part_first_byte(i64::MAX)
        .part_last_byte(i64::MAX)
        .layer_part_blob(Blob::new(vec![]))
        .send()
        .await
        .expect_err("out of order")
        .into_service_error();
    assert!(
        out_of_order.is_invalid_layer_part_exception(),
        "{out_of_order:?}"
    );
    let not_found = ecr
        .describe_images()
        .repository_name("typed/app")
        .image_ids(ImageIdentifier::builder().image_tag("nope").build())
        .send()
        .await
        .expect_err("no image")
        .into_service_error();
    assert!(not_found.is_image_not_found_exception(), "{not_found:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_authorization_token_gives_a_docker_login_for_twelve_hours() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    let answer = ecr
        .get_authorization_token()
        .send()
        .await
        .expect("GetAuthorizationToken");
    let data = &answer.authorization_data()[0];
    let token = data.authorization_token().expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64");
    assert!(
        String::from_utf8(decoded)
            .expect("text")
            .starts_with("AWS:")
    );
    let expires = data.expires_at().expect("expiresAt").secs();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let now = i64::try_from(now).expect("seconds");
    assert!((expires - now - 12 * 3600).abs() < 60, "{expires} vs {now}");
    assert_eq!(
        data.proxy_endpoint(),
        Some("https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
    );
    // `registryIds` is deprecated in the service model, but still validated.
    #[allow(deprecated)]
    let bad = ecr
        .get_authorization_token()
        .registry_ids("not-an-account")
        .send()
        .await
        .expect_err("a bad registry id")
        .into_service_error();
    assert!(bad.is_invalid_parameter_exception(), "{bad:?}");
    server.shutdown().await;
}

async fn signing_server(token: Option<&str>) -> Server {
    serve::spawn(Config {
        verify_signatures: Some(ecr_contract::wire::Credentials::new(
            "AKIDSDKTEST",
            "sdk-test-secret",
            token.map(str::to_owned),
        )),
        ..Config::default()
    })
    .await
    .expect("serve starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_session_token_works_and_any_other_is_unrecognized() {
    let server = signing_server(Some("session-token-for-tests")).await;
    let url = server.url();
    let good = client_with(
        &url,
        static_credentials(Some("session-token-for-tests")),
        OffsetClock(0),
    );
    good.create_repository()
        .repository_name("temp/app")
        .send()
        .await
        .expect("signed with the configured token");
    for token in [Some("another-token"), None] {
        let ecr = client_with(&url, static_credentials(token), OffsetClock(0));
        let error = ecr
            .describe_repositories()
            .send()
            .await
            .expect_err("an unknown token");
        let status = error.raw_response().map(|r| r.status().as_u16());
        let error = error.into_service_error();
        assert_eq!(status, Some(400));
        assert_eq!(
            error.code(),
            Some("UnrecognizedClientException"),
            "{token:?}"
        );
        assert_eq!(
            error.message(),
            Some("The security token included in the request is invalid.")
        );
    }
    server.shutdown().await;
    // Without a configured token, a client's token is unknown too.
    let server = signing_server(None).await;
    let ecr = client_with(&server.url(), static_credentials(Some("t")), OffsetClock(0));
    let error = ecr
        .describe_repositories()
        .send()
        .await
        .expect_err("a token");
    assert_eq!(
        error.into_service_error().code(),
        Some("UnrecognizedClientException")
    );
    client(&server)
        .describe_repositories()
        .send()
        .await
        .expect("no token, none configured");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_gets_signature_expired_and_the_server_time_to_correct_it() {
    let server = signing_server(None).await;
    let url = server.url();
    let behind = client_with(&url, static_credentials(None), OffsetClock(-3600));
    let error = behind
        .describe_repositories()
        .send()
        .await
        .expect_err("signed an hour ago");
    let date = error
        .raw_response()
        .and_then(|r| r.headers().get("date"))
        .map(str::to_owned)
        .expect("a Date header");
    let error = error.into_service_error();
    assert_eq!(error.code(), Some("InvalidSignatureException"));
    let message = error.message().expect("a message");
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(
        message.contains(" is now earlier than ") && message.ends_with(" - 5 min.)"),
        "{message}"
    );
    // aws-sdk-ecr does not retry it: one attempt.
    assert_eq!(
        server.endpoint().requests(Operation::DescribeRepositories),
        1
    );
    // The server's time, as the message states it, is within seconds of the Date header's
    // and an hour ahead of the client's; correcting the clock by it makes the next call work.
    let server_time = message
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(parse_amz_date)
        .expect("the server's time in the message");
    let skew = server_time
        .duration_since(SystemTime::now() - Duration::from_secs(3600))
        .expect("the server is ahead")
        .as_secs();
    assert!((3590..=3610).contains(&skew), "skew {skew}s, Date: {date}");
    let corrected = client_with(
        &url,
        static_credentials(None),
        OffsetClock(-3600 + i64::try_from(skew).expect("seconds")),
    );
    corrected
        .describe_repositories()
        .send()
        .await
        .expect("a corrected clock is accepted");
    // Ahead by ten minutes: not yet current.
    let ahead = client_with(&url, static_credentials(None), OffsetClock(600));
    let error = ahead
        .describe_repositories()
        .send()
        .await
        .expect_err("ahead");
    let error = error.into_service_error();
    assert_eq!(error.code(), Some("InvalidSignatureException"));
    assert!(
        error
            .message()
            .is_some_and(|m| m.starts_with("Signature not yet current: "))
    );
    // Within five minutes: accepted.
    client_with(&url, static_credentials(None), OffsetClock(-240))
        .describe_repositories()
        .send()
        .await
        .expect("four minutes behind is within the limit");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_retries_throttling_and_server_errors_as_the_counters_show() {
    let server = serve::spawn(Config::default()).await.expect("serve starts");
    let ecr = client(&server);
    let endpoint = server.endpoint();
    endpoint.fault_on(Operation::CreateRepository, first(2), Fault::Throttle);
    ecr.create_repository()
        .repository_name("retry/app")
        .send()
        .await
        .expect("the third attempt succeeds");
    assert_eq!(endpoint.requests(Operation::CreateRepository), 3);
    endpoint.fault_on(Operation::BatchGetImage, first(2), Fault::ServerError);
    ecr.batch_get_image()
        .repository_name("retry/app")
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect("the third attempt succeeds");
    assert_eq!(endpoint.requests(Operation::BatchGetImage), 3);
    endpoint.fault_on(Operation::DescribeRepositories, always(), Fault::Throttle);
    let error = ecr
        .describe_repositories()
        .send()
        .await
        .expect_err("throttled every time");
    assert_eq!(
        error.into_service_error().code(),
        Some("ThrottlingException")
    );
    assert_eq!(
        endpoint.requests(Operation::DescribeRepositories),
        3,
        "three attempts"
    );
    // A modelled client error is not retried.
    let error = ecr
        .create_repository()
        .repository_name("retry/app")
        .send()
        .await
        .expect_err("exists");
    assert!(
        error
            .into_service_error()
            .is_repository_already_exists_exception()
    );
    assert_eq!(endpoint.requests(Operation::CreateRepository), 4);
    server.shutdown().await;
}
