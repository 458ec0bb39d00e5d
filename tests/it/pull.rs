//! The pull path of `serve` (spec `registry-api.md`): the ORAS project's `oci-client` pulls
//! what was pushed through the AWS JSON API, and plain requests pin the answers it does not
//! look at (challenge, HEAD, errors, paging, bad input).

use ecr_contract::model::ImageDigest;
use ecr_contract::model::manifest::{OCI, S2};
use ecr_contract::serve::{Config, MAX_HEAD_BYTES, Server, spawn};
use ecr_contract::strategy::manifests::{ContentBlob, Layout, oci, schema2};
use ecr_contract::wire::registry::MAX_ACCEPT_BYTES;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

use crate::support::pull::{push, registry_credentials};

const REPO: &str = "team/app";

struct Pushed {
    server: Server,
    config: ContentBlob,
    layer: ContentBlob,
    manifest: String,
    digest: String,
    auth: RegistryAuth,
    basic: (String, String),
}

/// A server holding one image of `format` (S2 or OCI) as `team/app:v1`, blobs uploaded.
async fn pushed(format: &str, config: Config) -> Pushed {
    let server = spawn(config).await.expect("serve starts");
    let (blob_config, layer) = (
        ContentBlob::from_seed("pull config"),
        ContentBlob::from_seed("pull layer"),
    );
    let manifest = match format {
        OCI => oci(&blob_config, std::slice::from_ref(&layer), Layout::Docker),
        _ => schema2(&blob_config, std::slice::from_ref(&layer), Layout::Docker),
    };
    let url = server.url();
    let digest = push(&url, REPO, "v1", &manifest, &[&blob_config, &layer]).await;
    let basic = registry_credentials(&url).await;
    Pushed {
        auth: RegistryAuth::Basic(basic.0.clone(), basic.1.clone()),
        server,
        config: blob_config,
        layer,
        manifest,
        digest,
        basic,
    }
}

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

fn reference(server: &Server, at: &str) -> Reference {
    let registry = server.addr().to_string();
    match at.strip_prefix('@') {
        Some(digest) => Reference::with_digest(registry, REPO.into(), digest.into()),
        None => Reference::with_tag(registry, REPO.into(), at.into()),
    }
}

#[tokio::test]
async fn oci_client_pulls_the_pushed_bytes_by_tag_and_by_digest_with_the_token_of_get_authorization_token()
 {
    let image = pushed(S2, Config::default()).await;
    assert_eq!(image.basic.0, "AWS");
    let client = client();
    for at in ["v1".to_owned(), format!("@{}", image.digest)] {
        let (bytes, digest) = client
            .pull_manifest_raw(&reference(&image.server, &at), &image.auth, &[S2])
            .await
            .unwrap_or_else(|e| panic!("pulling {at}: {e}"));
        assert_eq!(
            bytes,
            image.manifest.as_bytes(),
            "the bytes pushed, at {at}"
        );
        assert_eq!(digest, image.digest, "the image's digest, at {at}");
    }
    image.server.shutdown().await;
}

#[tokio::test]
async fn oci_client_pulls_every_blob_whether_inline_or_through_a_redirect() {
    for redirect in [false, true] {
        let image = pushed(
            S2,
            Config {
                blob_redirect: redirect,
                ..Config::default()
            },
        )
        .await;
        let client = client();
        let at = reference(&image.server, "v1");
        client
            .auth(&at, &image.auth, oci_client::RegistryOperation::Pull)
            .await
            .expect("auth");
        for blob in [&image.config, &image.layer] {
            let mut bytes = Vec::new();
            client
                .pull_blob(&at, blob.digest.as_str(), &mut bytes)
                .await
                .unwrap_or_else(|e| panic!("pulling {} (redirect: {redirect}): {e}", blob.digest));
            assert_eq!(bytes, blob.bytes, "redirect: {redirect}");
        }
        image.server.shutdown().await;
    }
}

#[tokio::test]
async fn a_tag_is_translated_when_only_another_format_is_accepted_and_a_digest_never_is() {
    let image = pushed(OCI, Config::default()).await;
    let client = client();
    let (bytes, digest) = client
        .pull_manifest_raw(&reference(&image.server, "v1"), &image.auth, &[S2])
        .await
        .expect("a translated manifest");
    let translated: Value = serde_json::from_slice(&bytes).expect("JSON");
    let stored: Value = serde_json::from_str(&image.manifest).expect("JSON");
    assert_eq!(translated["mediaType"], S2);
    assert_eq!(translated["config"]["digest"], stored["config"]["digest"]);
    assert_eq!(
        translated["layers"][0]["digest"],
        stored["layers"][0]["digest"]
    );
    assert_eq!(
        digest,
        ImageDigest::of(&bytes).to_string(),
        "the body's digest"
    );
    assert_ne!(digest, image.digest);
    let by_digest = format!("@{}", image.digest);
    let (bytes, _) = client
        .pull_manifest_raw(&reference(&image.server, &by_digest), &image.auth, &[S2])
        .await
        .expect("the stored manifest");
    assert_eq!(bytes, image.manifest.as_bytes(), "by digest: as stored");
    image.server.shutdown().await;
}

/// A plain GET (or `method`) of `path` with the given headers.
async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
        .request(method, format!("{}{path}", server.url()));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("serve answers")
}

fn basic(image: &Pushed) -> (&'static str, String) {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", image.basic.0, image.basic.1));
    ("authorization", format!("Basic {token}"))
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("the error envelope");
    body["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn without_credentials_the_answer_is_ecrs_basic_challenge_and_a_bad_token_is_denied() {
    let image = pushed(S2, Config::default()).await;
    let response = send(&image.server, reqwest::Method::GET, "/v2/", &[]).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        r#"Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#
    );
    assert_eq!(
        header(&response, "docker-distribution-api-version"),
        "registry/2.0"
    );
    let ping = send(
        &image.server,
        reqwest::Method::GET,
        "/v2/",
        &[basic(&image)],
    )
    .await;
    assert_eq!(ping.status(), 200);
    let forged = ("authorization", "Basic QVdTOm5vdC1hLXRva2Vu".to_owned());
    let denied = send(&image.server, reqwest::Method::GET, "/v2/", &[forged]).await;
    assert_eq!(denied.status(), 403);
    assert_eq!(header(&denied, "www-authenticate"), "");
    assert_eq!(error_code(denied).await, "DENIED");
    image.server.shutdown().await;
}

#[tokio::test]
async fn head_of_a_manifest_has_the_get_bodys_length_and_digest_and_no_body() {
    let image = pushed(S2, Config::default()).await;
    let path = format!("/v2/{REPO}/manifests/v1");
    let accept = ("accept", S2.to_owned());
    let response = send(
        &image.server,
        reqwest::Method::HEAD,
        &path,
        &[basic(&image), accept],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), S2);
    assert_eq!(
        header(&response, "content-length"),
        image.manifest.len().to_string()
    );
    assert_eq!(header(&response, "docker-content-digest"), image.digest);
    assert!(response.bytes().await.expect("a body").is_empty());
    image.server.shutdown().await;
}

#[tokio::test]
async fn every_accept_line_counts_and_q_zero_refuses_a_type() {
    let image = pushed(OCI, Config::default()).await;
    let path = format!("/v2/{REPO}/manifests/v1");
    let lines = [
        basic(&image),
        ("accept", format!("{S2};q=0.9")),
        ("accept", format!("application/json, {OCI}")),
    ];
    let response = send(&image.server, reqwest::Method::GET, &path, &lines).await;
    assert_eq!(
        header(&response, "content-type"),
        OCI,
        "the second line counts"
    );
    let refused = [basic(&image), ("accept", format!("{S2}, {OCI};q=0"))];
    let response = send(&image.server, reqwest::Method::GET, &path, &refused).await;
    assert_eq!(header(&response, "content-type"), S2, "q=0 refuses OCI");
    image.server.shutdown().await;
}

#[tokio::test]
async fn unknown_tags_repositories_and_blobs_get_the_distribution_errors() {
    let image = pushed(S2, Config::default()).await;
    let auth = [basic(&image)];

    let cases = [
        (
            format!("/v2/{REPO}/manifests/nope"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        (
            format!("/v2/{REPO}/manifests/{}", ImageDigest::of(b"none")),
            404,
            "MANIFEST_UNKNOWN",
        ),
        (
            "/v2/team/absent/manifests/v1".to_owned(),
            404,
            "NAME_UNKNOWN",
        ),
        (
            format!("/v2/{REPO}/blobs/{}", ImageDigest::of(b"none")),
            404,
            "BLOB_UNKNOWN",
        ),
        (
            format!("/v2/{REPO}/manifests/sha256:not-hex"),
            400,
            "DIGEST_INVALID",
        ),
        (
            format!("/v2/{}/manifests/v1", "a".repeat(300)),
            400,
            "NAME_INVALID",
        ),
        (format!("/v2/{REPO}/tags/list?n=1001"), 400, "UNSUPPORTED"),
    ];
    for (path, status, code) in cases {
        let response = send(&image.server, reqwest::Method::GET, &path, &auth).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(error_code(response).await, code, "{path}");
    }
    // HTTP clients resolve dot segments before sending: the endpoint is asked directly.
    let mut headers = http::HeaderMap::new();
    let (name, value) = basic(&image);
    headers.insert(name, value.parse().expect("a header"));
    for path in [
        format!("/v2/{REPO}/../x/manifests/v1"),
        "/v2/a/%2e%2e/blobs/x".into(),
    ] {
        let reply = image.server.endpoint().handle("GET", &path, &headers, b"");
        assert_eq!(reply.status, 400, "{path}");
    }
    // Over the Accept lists the endpoint reads, under the head the connection reads (past
    // that, the connection answers 431 before the endpoint sees the request).
    let accept = format!("{S2},").repeat(MAX_ACCEPT_BYTES / S2.len() + 1);
    assert!(accept.len() > MAX_ACCEPT_BYTES && accept.len() < MAX_HEAD_BYTES - 1024);
    let huge = [basic(&image), ("accept", accept)];
    let path = format!("/v2/{REPO}/manifests/v1");
    let response = send(&image.server, reqwest::Method::GET, &path, &huge).await;
    assert_eq!(response.status(), 400, "a huge Accept header");
    image.server.shutdown().await;
}

#[tokio::test]
async fn tags_list_pages_through_link_headers_to_every_tag() {
    let image = pushed(S2, Config::default()).await;
    let url = image.server.url();
    for tag in ["v2", "v3", "latest"] {
        crate::support::pull::call(
            &url,
            ecr_contract::wire::Operation::PutImage,
            serde_json::json!({"repositoryName": REPO, "imageTag": tag, "imageManifest": image.manifest}),
        )
        .await;
    }
    let mut path = format!("/v2/{REPO}/tags/list?n=3");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let response = send(&image.server, reqwest::Method::GET, &path, &[basic(&image)]).await;
        assert_eq!(response.status(), 200);
        let link = header(&response, "link");
        let body: Value = response.json().await.expect("a tag list");
        assert_eq!(body["name"], REPO);
        seen.extend(
            body["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| t.to_string()),
        );
        pages += 1;
        match ecr_contract::wire::registry::next_link(&link) {
            Some(next) => {
                assert!(!next.contains("last=v"), "the token is opaque: {next}");
                path = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    seen.sort();
    assert_eq!(seen, ["\"latest\"", "\"v1\"", "\"v2\"", "\"v3\""]);
    image.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_every_reg_rule_whichever_outcomes_the_server_chooses() {
    use ecr_contract::model::{DigestTags, Profile};
    use ecr_contract::oracle::RULES;
    let choices = [
        Profile::default(),
        Profile {
            fail_untranslatable: true,
            ..Profile::default()
        },
        Profile {
            digest_of_translation: true,
            ..Profile::default()
        },
        Profile {
            reject_invalid_digest: true,
            mismatch_as_not_found: true,
            ..Profile::default()
        },
        Profile {
            digest_tags: DigestTags::Each,
            dedupe_ids: true,
            ..Profile::default()
        },
    ];
    for profile in choices {
        let config = Config {
            profile: profile.clone(),
            blob_redirect: profile.fail_untranslatable,
            ..crate::support::broken::reference_config()
        };
        let server = spawn(config).await.expect("serve starts");
        let report = crate::support::check_url(&server.url(), 0).await;
        let registry_findings: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.violation.rule.as_str().starts_with("REG-"))
            .map(|f| f.message.clone())
            .collect();
        assert!(
            registry_findings.is_empty(),
            "{profile:?}: {registry_findings:#?}"
        );
        for rule in RULES.iter().filter(|r| r.id.as_str().starts_with("REG-")) {
            assert!(
                report.exercised.contains(&rule.id),
                "{profile:?}: {} not exercised",
                rule.id
            );
        }
        server.shutdown().await;
    }
}

#[test]
fn a_registry_password_is_valid_until_its_token_expires_and_only_for_its_registry() {
    use base64::Engine as _;
    use ecr_contract::model::{Registry, TOKEN_LIFETIME_SECONDS, TokenKey, TokenRefusal};
    use ecr_contract::wire::GetAuthorizationTokenRequest;
    let registry = Registry::builder()
        .repository(REPO)
        .build()
        .expect("a registry");
    let now = 1_700_000_000.0;
    let key = TokenKey::new([7; 32]);
    let answer = registry
        .get_authorization_token(&GetAuthorizationTokenRequest::default(), now, &key)
        .expect("a token");
    let token = answer.authorization_data.expect("data")[0]
        .authorization_token
        .clone()
        .expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64");
    let text = String::from_utf8(decoded).expect("text");
    let password = text.strip_prefix("AWS:").expect("AWS:<password>");
    assert_eq!(
        registry.check_registry_password(password, now, &key),
        Ok(())
    );
    // Good until its `expiresAt`, expired from that second on.
    let expires_at = now + TOKEN_LIFETIME_SECONDS;
    assert_eq!(
        registry.check_registry_password(password, expires_at - 1.0, &key),
        Ok(())
    );
    for later in [expires_at, expires_at + 1.0] {
        assert_eq!(
            registry.check_registry_password(password, later, &key),
            Err(TokenRefusal::Expired)
        );
    }
    let tampered = format!("{password}x");
    assert_eq!(
        registry.check_registry_password(&tampered, now, &key),
        Err(TokenRefusal::Invalid)
    );
    let other = Registry::builder()
        .account("210987654321")
        .repository(REPO)
        .build()
        .expect("another registry");
    assert_eq!(
        other.check_registry_password(password, now, &key),
        Err(TokenRefusal::Invalid)
    );
}
