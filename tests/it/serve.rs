//! `serve` over HTTP: bad input gets the AWS error a real endpoint gives, never a crash; the
//! outcome choices (`serve --outcomes`) pick among the acceptable answers; the wiremock
//! responder answers the same.

use ecr_contract::model::DigestTags;
use ecr_contract::serve::{Config, Responder, parse_profile, spawn};
use ecr_contract::wire::{MAX_REQUEST_BYTES, TARGET_PREFIX};
use serde_json::{Value, json};

use crate::support::binary;

async fn post(url: &str, target: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .body(body);
    if let Some(target) = target {
        request = request.header("x-amz-target", format!("{TARGET_PREFIX}.{target}"));
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.1"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    (
        status,
        serde_json::from_slice(&response.bytes().await.expect("a body")).expect("a JSON body"),
    )
}

async fn call(url: &str, target: &str, body: Value) -> (u16, Value) {
    post(url, Some(target), serde_json::to_vec(&body).expect("JSON")).await
}

#[tokio::test]
async fn bad_input_gets_the_aws_error_with_status_400() {
    let server = spawn(Config::default()).await.expect("serve starts");
    let url = server.url();
    let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
        (None, b"{}".to_vec(), "UnknownOperationException"),
        (
            Some("NoSuchOperation"),
            b"{}".to_vec(),
            "UnknownOperationException",
        ),
        (
            Some("BatchGetImage"),
            b"{not json".to_vec(),
            "SerializationException",
        ),
        (
            Some("BatchGetImage"),
            b"[1, 2]".to_vec(),
            "SerializationException",
        ),
        (
            Some("BatchGetImage"),
            br#"{"repositoryName": 7, "imageIds": []}"#.to_vec(),
            "SerializationException",
        ),
        (
            Some("BatchGetImage"),
            br#"{"repositoryName": "team/app"}"#.to_vec(),
            "InvalidParameterException",
        ),
        (
            Some("PutImage"),
            br#"{"repositoryName": "team/app", "imageManifest": "x"}"#.to_vec(),
            "RepositoryNotFoundException",
        ),
        (
            Some("BatchGetImage"),
            vec![b' '; MAX_REQUEST_BYTES + 1],
            "SerializationException",
        ),
    ];
    for (target, body, code) in cases {
        let (status, body) = post(&url, target, body).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some(code)),
            "{target:?}: {body}"
        );
        assert!(body["message"].is_string());
    }
    // The server is still up and consistent after all of that.
    let (status, _) = call(
        &url,
        "CreateRepository",
        json!({"repositoryName": "still/up"}),
    )
    .await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn the_profile_chooses_among_acceptable_outcomes() {
    let config = Config {
        profile: parse_profile("digest-tags=each,mismatch-as-not-found").expect("a profile"),
        ..Config::default()
    };
    assert_eq!(config.profile.digest_tags, DigestTags::Each);
    assert!(parse_profile("nonsense").is_err());
    let server = spawn(config).await.expect("serve starts");
    let url = server.url();
    call(&url, "CreateRepository", json!({"repositoryName": "p/app"})).await;
    let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","size":1,"digest":"sha256:00"},"layers":[]}"#;
    for tag in ["a", "b"] {
        call(
            &url,
            "PutImage",
            json!({"repositoryName": "p/app", "imageManifest": manifest, "imageTag": tag}),
        )
        .await;
    }
    let digest = ecr_contract::model::ImageDigest::of(manifest.as_bytes()).to_string();
    let (_, answer) = call(&url, "BatchGetImage", json!({"repositoryName": "p/app", "imageIds": [
        {"imageDigest": digest}, {"imageTag": "a", "imageDigest": format!("sha256:{}", "0".repeat(64))}]})).await;
    let tags: Vec<&str> = answer["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["imageId"]["imageTag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["a", "b"], "one entry per tag");
    assert_eq!(
        answer["failures"][0]["failureCode"], "ImageNotFound",
        "mismatch answered as not found"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_wiremock_responder_answers_like_the_server() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer};
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Responder::new(Config::default().endpoint()))
        .mount(&mock)
        .await;
    let (status, created) = call(
        &mock.uri(),
        "CreateRepository",
        json!({"repositoryName": "mocked/app"}),
    )
    .await;
    assert_eq!(
        (status, created["repository"]["repositoryName"].as_str()),
        (200, Some("mocked/app"))
    );
    let (status, error) = call(
        &mock.uri(),
        "BatchGetImage",
        json!({"repositoryName": "absent/x", "imageIds": [{"imageTag": "v1"}]}),
    )
    .await;
    assert_eq!(
        (status, error["__type"].as_str()),
        (400, Some("RepositoryNotFoundException"))
    );
}

#[test]
fn serve_prints_its_url_and_stops_cleanly_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ecr-contract"))
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    assert!(line.contains("listening on http://127.0.0.1:"), "{line}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("serve exits");
    assert_eq!(exit.code(), Some(0), "a clean shutdown on Ctrl-C");
}

#[test]
fn amz_dates_are_written_as_they_are_read() {
    use ecr_contract::wire::{format_amz_date, parse_amz_date};
    for text in [
        "19700101T000000Z",
        "20000229T235959Z",
        "20261201T071003Z",
        "21000301T120000Z",
    ] {
        let time = parse_amz_date(text).expect("a date");
        assert_eq!(format_amz_date(time), text);
    }
}

#[test]
fn serve_names_its_outcome_choices_outcomes_and_explains_a_bad_one() {
    let output = binary()
        .args(["serve", "--outcomes", "digest-tags=each,nonsense"])
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: --outcomes: unknown outcome choice \"nonsense\"; comma-separated: digest-tags="
        ),
        "{stderr}"
    );
    // `--profile` is the AWS credentials profile's name everywhere else: serve has none.
    let output = binary()
        .args(["serve", "--profile", "digest-tags=each"])
        .output()
        .expect("serve runs");
    assert_eq!(output.status.code(), Some(2));
}
