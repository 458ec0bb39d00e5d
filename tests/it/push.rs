//! The push path of `serve` (spec `registry-api.md` section 6): its answers with ECR's quirks
//! and with the distribution spec's (`--push-as distribution`), its bounds, and real push
//! clients (`oci-client` here, the ORAS Python SDK through the project's environment), each
//! push visible through BatchGetImage at once.

use ecr_contract::model::{ImageDigest, Limits, MAX_UPLOADS};
use ecr_contract::serve::{Config, MAX_CHUNK_BYTES, PushAs, STATE_LIMITS, Server, spawn};
use ecr_contract::wire::Operation;
use ecr_contract::wire::registry::registry_error_codes;
use oci_client::client::{ClientConfig, ClientProtocol, Config as ImageConfig, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};

use crate::support::pull::{call, registry_credentials};

const REPO: &str = "team/app";
const MIB: usize = 1024 * 1024;

/// A server with `REPO` created, and a registry-API client holding its token.
struct Pusher {
    server: Server,
    http: reqwest::Client,
    basic: (String, String),
}

impl Pusher {
    async fn start(config: Config) -> Self {
        let server = spawn(config).await.expect("serve starts");
        let url = server.url();
        call(
            &url,
            Operation::CreateRepository,
            json!({"repositoryName": REPO}),
        )
        .await;
        let basic = registry_credentials(&url).await;
        Self {
            server,
            http: reqwest::Client::new(),
            basic,
        }
    }

    /// Sends `method` to `path` (a path, or a location as answered) with `headers` and `body`.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        let url = match path.starts_with('/') {
            true => format!("{}{path}", self.server.url()),
            false => path.to_owned(),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.basic.0, Some(&self.basic.1))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("serve answers")
    }

    /// Starts an upload into `repo`: the location answered with `202`.
    async fn start_upload(&self, repo: &str) -> String {
        let started = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                Vec::new(),
            )
            .await;
        assert_eq!(started.status(), 202);
        header(&started, "location")
    }

    async fn chunk(&self, location: &str, start: usize, bytes: &[u8]) -> reqwest::Response {
        let range = format!("{start}-{}", start + bytes.len() - 1);
        let headers = [("content-range", range.as_str())];
        self.send("PATCH", location, &headers, bytes.to_vec()).await
    }

    async fn complete(&self, location: &str, digest: &str) -> reqwest::Response {
        let url = format!("{location}?digest={digest}");
        self.send("PUT", &url, &[], Vec::new()).await
    }

    /// Uploads `bytes` in one chunk and completes it; panics unless it is stored.
    async fn upload(&self, bytes: &[u8]) -> String {
        let location = self.start_upload(REPO).await;
        let chunk = self.chunk(&location, 0, bytes).await;
        assert!(chunk.status().is_success(), "{}", chunk.status());
        let digest = ImageDigest::of(bytes).to_string();
        let done = self.complete(&header(&chunk, "location"), &digest).await;
        assert_eq!(
            done.status(),
            201,
            "{}",
            done.text().await.unwrap_or_default()
        );
        digest
    }

    async fn put_manifest(&self, repo: &str, reference: &str, manifest: &str) -> reqwest::Response {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let headers = [("content-type", "application/vnd.oci.image.manifest.v1+json")];
        self.send("PUT", &path, &headers, manifest.as_bytes().to_vec())
            .await
    }

    /// BatchGetImage of `reference` (a tag or a digest) in `REPO`: its images.
    async fn batch_get(&self, reference: &str) -> Vec<Value> {
        let id = match reference.contains(':') {
            true => json!({"imageDigest": reference}),
            false => json!({"imageTag": reference}),
        };
        let answer = call(
            &self.server.url(),
            Operation::BatchGetImage,
            json!({"repositoryName": REPO, "imageIds": [id]}),
        )
        .await;
        answer["images"].as_array().cloned().unwrap_or_default()
    }

    async fn layer_available(&self, digest: &str) -> bool {
        let answer = call(
            &self.server.url(),
            Operation::BatchCheckLayerAvailability,
            json!({"repositoryName": REPO, "layerDigests": [digest]}),
        )
        .await;
        answer["layers"][0]["layerAvailability"] == "AVAILABLE"
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a {name} header on a {}", response.status()))
        .to_owned()
}

async fn codes(response: reqwest::Response) -> Vec<String> {
    registry_error_codes(&response.bytes().await.expect("a body"))
}

/// An OCI image manifest of `config` and `layers` (digests of uploaded blobs).
fn manifest(config: &str, layers: &[&str]) -> String {
    let descriptor =
        |media: &str, digest: &str| json!({"mediaType": media, "digest": digest, "size": 1});
    let layers: Vec<Value> = layers
        .iter()
        .map(|d| descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d))
        .collect();
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", config),
        "layers": layers,
    })
    .to_string()
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn a_chunked_upload_is_answered_with_ecrs_201_and_the_blob_is_available_on_both_apis() {
    let pusher = Pusher::start(Config::default()).await;
    let blob = bytes(1, 6 * MIB + 123);
    let location = pusher.start_upload(REPO).await;
    let first = pusher.chunk(&location, 0, &blob[..5 * MIB]).await;
    assert_eq!(first.status(), 201, "ECR answers a chunk 201");
    assert_eq!(header(&first, "range"), format!("0-{}", 5 * MIB - 1));
    let location = header(&first, "location");
    let second = pusher.chunk(&location, 5 * MIB, &blob[5 * MIB..]).await;
    assert_eq!(second.status(), 201);
    let digest = ImageDigest::of(&blob).to_string();
    let done = pusher.complete(&header(&second, "location"), &digest).await;
    assert_eq!(done.status(), 201);
    assert_eq!(header(&done, "docker-content-digest"), digest);
    assert!(
        pusher.layer_available(&digest).await,
        "AVAILABLE through the AWS JSON API"
    );
    let fetched = pusher
        .send(
            "GET",
            &format!("/v2/{REPO}/blobs/{digest}"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(
        fetched.bytes().await.expect("bytes").as_ref(),
        blob.as_slice()
    );
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn ecrs_chunk_refusals_out_of_order_too_small_wrong_digest_and_empty() {
    let pusher = Pusher::start(Config::default()).await;
    let location = pusher.start_upload(REPO).await;
    let first = pusher.chunk(&location, 0, &bytes(2, 10)).await;
    assert_eq!(first.status(), 201);
    let gap = pusher.chunk(&location, 20, &bytes(2, 10)).await;
    assert_eq!(gap.status(), 416);
    let text = gap.text().await.expect("a body");
    assert!(text.contains("BLOB_UPLOAD_INVALID"), "{text}");
    assert!(
        text.contains("First byte of the layer part is 20 instead of 10"),
        "{text}"
    );
    let after_small = pusher.chunk(&location, 10, &bytes(2, 10)).await;
    assert!(
        after_small.status().is_client_error(),
        "a chunk after one under 5 MiB"
    );
    let wrong = pusher
        .complete(&location, ImageDigest::of(b"other").as_ref())
        .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(codes(wrong).await, ["BLOB_UPLOAD_INVALID"]);
    let right = ImageDigest::of(&bytes(2, 10)).to_string();
    assert!(!pusher.layer_available(&right).await, "nothing stored");
    let empty = pusher.start_upload(REPO).await;
    let completed = pusher.complete(&empty, &right).await;
    assert_eq!(completed.status(), 400);
    let text = completed.text().await.expect("a body");
    assert!(text.contains("does not have any parts"), "{text}");
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn the_distribution_option_answers_202_takes_small_chunks_and_says_digest_invalid() {
    let pusher = Pusher::start(Config {
        push_as: PushAs::Distribution,
        ..Config::default()
    })
    .await;
    let blob = bytes(3, 3 * MIB);
    let location = pusher.start_upload(REPO).await;
    for (i, part) in blob.chunks(MIB).enumerate() {
        let answer = pusher.chunk(&location, i * MIB, part).await;
        assert_eq!(answer.status(), 202, "the distribution spec's answer");
    }
    let wrong = pusher
        .complete(&location, ImageDigest::of(b"x").as_ref())
        .await;
    assert_eq!(codes(wrong).await, ["DIGEST_INVALID"]);
    let digest = ImageDigest::of(&blob).to_string();
    assert_eq!(pusher.complete(&location, &digest).await.status(), 201);
    assert!(pusher.layer_available(&digest).await);
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn a_manifest_put_by_tag_and_by_digest_lands_as_the_same_bytes_on_both_apis() {
    let pusher = Pusher::start(Config::default()).await;
    let config = pusher.upload(b"{\"os\":\"linux\"}").await;
    let layer = pusher.upload(&bytes(4, 100)).await;
    let text = manifest(&config, &[&layer]);
    let digest = ImageDigest::of(text.as_bytes()).to_string();
    let put = pusher.put_manifest(REPO, "v1", &text).await;
    assert_eq!(put.status(), 201);
    assert_eq!(header(&put, "docker-content-digest"), digest);
    let images = pusher.batch_get("v1").await;
    assert_eq!(images[0]["imageManifest"], text.as_str());
    assert_eq!(images[0]["imageId"]["imageDigest"], digest.as_str());
    assert_eq!(
        images[0]["imageManifestMediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let untagged = manifest(&config, &[]);
    let untagged_digest = ImageDigest::of(untagged.as_bytes()).to_string();
    let wrong = pusher.put_manifest(REPO, &digest, &untagged).await;
    assert!(
        wrong.status().is_client_error(),
        "a digest that is not the body's"
    );
    let by_digest = pusher.put_manifest(REPO, &untagged_digest, &untagged).await;
    assert_eq!(by_digest.status(), 201);
    assert_eq!(pusher.batch_get(&untagged_digest).await.len(), 1);
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn manifests_ecr_cannot_take_are_refused_and_store_nothing() {
    let pusher = Pusher::start(Config::default()).await;
    let invalid = pusher.put_manifest(REPO, "bad", "{not json").await;
    assert_eq!(invalid.status(), 405, "ECR's UNSUPPORTED");
    assert_eq!(codes(invalid).await, ["UNSUPPORTED"]);
    let missing = manifest(ImageDigest::of(b"never").as_ref(), &[]);
    let unknown = pusher.put_manifest(REPO, "missing", &missing).await;
    assert!(unknown.status().is_client_error());
    assert_eq!(codes(unknown).await, ["MANIFEST_BLOB_UNKNOWN"]);
    assert!(pusher.batch_get("bad").await.is_empty());
    assert!(pusher.batch_get("missing").await.is_empty());
    let absent = pusher
        .send("POST", "/v2/no/such/blobs/uploads/", &[], Vec::new())
        .await;
    assert_eq!(absent.status(), 404);
    assert_eq!(codes(absent).await, ["NAME_UNKNOWN"]);
    let config = pusher.upload(b"{}").await;
    let absent = pusher
        .put_manifest("no/such", "v1", &manifest(&config, &[]))
        .await;
    assert_eq!(absent.status(), 404);
    assert!(
        pusher
            .server
            .endpoint()
            .registry()
            .repository("123456789012", "no/such")
            .is_none()
    );
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn an_immutable_tag_is_never_moved_and_the_same_manifest_again_succeeds() {
    let pusher = Pusher::start(Config::default()).await;
    let url = pusher.server.url();
    call(
        &url,
        Operation::CreateRepository,
        json!({"repositoryName": "team/fixed", "imageTagMutability": "IMMUTABLE"}),
    )
    .await;
    let location = pusher.start_upload("team/fixed").await;
    let chunk = pusher.chunk(&location, 0, b"{}").await;
    let config = ImageDigest::of(b"{}").to_string();
    assert_eq!(
        pusher
            .complete(&header(&chunk, "location"), &config)
            .await
            .status(),
        201
    );
    let first = manifest(&config, &[]);
    let second = format!("{first}\n");
    assert_eq!(
        pusher
            .put_manifest("team/fixed", "v1", &first)
            .await
            .status(),
        201
    );
    assert_eq!(
        pusher
            .put_manifest("team/fixed", "v1", &first)
            .await
            .status(),
        201
    );
    let moved = pusher.put_manifest("team/fixed", "v1", &second).await;
    assert_eq!(moved.status(), 400);
    assert_eq!(codes(moved).await, ["TAG_INVALID"]);
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn a_manifest_deleted_by_digest_is_gone_from_both_apis() {
    let pusher = Pusher::start(Config::default()).await;
    let config = pusher.upload(b"{}").await;
    let text = manifest(&config, &[]);
    let digest = ImageDigest::of(text.as_bytes()).to_string();
    assert_eq!(pusher.put_manifest(REPO, "v1", &text).await.status(), 201);
    let path = format!("/v2/{REPO}/manifests/{digest}");
    assert_eq!(
        pusher.send("DELETE", &path, &[], Vec::new()).await.status(),
        202
    );
    assert!(pusher.batch_get(&digest).await.is_empty());
    assert_eq!(
        pusher.send("GET", &path, &[], Vec::new()).await.status(),
        404
    );
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn a_refused_mount_is_a_202_upload_and_the_distribution_option_mounts() {
    for push_as in [PushAs::Ecr, PushAs::Distribution] {
        let pusher = Pusher::start(Config {
            push_as,
            ..Config::default()
        })
        .await;
        let url = pusher.server.url();
        call(
            &url,
            Operation::CreateRepository,
            json!({"repositoryName": "team/other"}),
        )
        .await;
        let digest = pusher.upload(b"mounted").await;
        let path = format!("/v2/team/other/blobs/uploads/?mount={digest}&from={REPO}");
        let mounted = pusher.send("POST", &path, &[], Vec::new()).await;
        let expected = match push_as {
            PushAs::Ecr => 202,
            _ => 201,
        };
        assert_eq!(mounted.status(), expected, "{push_as:?}");
        pusher.server.shutdown().await;
    }
}

#[tokio::test]
async fn upload_bounds_the_byte_budget_the_uploads_kept_and_the_body_size() {
    let pusher = Pusher::start(Config {
        limits: Limits {
            stored_bytes: 1000,
            ..STATE_LIMITS
        },
        ..Config::default()
    })
    .await;
    let location = pusher.start_upload(REPO).await;
    let at_budget = pusher.chunk(&location, 0, &bytes(5, 1000)).await;
    assert!(at_budget.status().is_success(), "a chunk at the budget");
    let past = pusher.start_upload(REPO).await;
    let refused = pusher.chunk(&past, 0, &bytes(5, 1)).await;
    assert!(refused.status().is_client_error(), "a byte past the budget");
    assert_eq!(
        pusher.server.endpoint().registry().usage().stored_bytes,
        1000
    );
    let mut locations = vec![location];
    for _ in 0..MAX_UPLOADS {
        locations.push(pusher.start_upload(REPO).await);
    }
    let forgotten = pusher.send("GET", &locations[0], &[], Vec::new()).await;
    assert_eq!(
        forgotten.status(),
        404,
        "the oldest upload past the cap is forgotten"
    );
    let kept = pusher
        .send("GET", &locations[MAX_UPLOADS], &[], Vec::new())
        .await;
    assert_eq!(kept.status(), 204);
    let url = format!("{}{}", pusher.server.url(), locations[MAX_UPLOADS]);
    let over = pusher
        .http
        .patch(url)
        .basic_auth(&pusher.basic.0, Some(&pusher.basic.1))
        .body(vec![0; MAX_CHUNK_BYTES + 1])
        .send()
        .await;
    // Refused: answered with a 4xx, or the connection closed before the body was all sent.
    if let Ok(over) = over {
        assert!(over.status().is_client_error(), "a body over the bound");
    }
    let still = pusher
        .send("GET", &locations[MAX_UPLOADS], &[], Vec::new())
        .await;
    assert_eq!(header(&still, "range"), "0-0", "nothing of it stored");
    pusher.server.shutdown().await;
}

fn oci(server: &Server, tag: &str) -> Reference {
    let registry = server.url().trim_start_matches("http://").to_owned();
    Reference::with_tag(registry, REPO.into(), tag.into())
}

#[tokio::test]
async fn oci_client_pushes_an_image_that_batch_get_image_and_a_pull_return() {
    for push_as in [PushAs::Ecr, PushAs::Distribution] {
        let pusher = Pusher::start(Config {
            push_as,
            ..Config::default()
        })
        .await;
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        });
        let auth = RegistryAuth::Basic(pusher.basic.0.clone(), pusher.basic.1.clone());
        let layers = vec![
            ImageLayer::oci_v1(bytes(6, 9 * MIB), None),
            ImageLayer::oci_v1(bytes(7, 300), None),
        ];
        let config = ImageConfig::oci_v1(b"{\"os\":\"linux\"}".to_vec(), None);
        let image_manifest = OciImageManifest::build(&layers, &config, None);
        let at = oci(&pusher.server, "v1");
        client
            .push(&at, &layers, config, &auth, Some(image_manifest))
            .await
            .unwrap_or_else(|e| panic!("oci-client pushes ({push_as:?}): {e}"));
        let (pulled, digest) = client
            .pull_manifest_raw(&at, &auth, &["application/vnd.oci.image.manifest.v1+json"])
            .await
            .expect("oci-client pulls");
        let images = pusher.batch_get("v1").await;
        assert_eq!(
            images[0]["imageManifest"].as_str().map(str::as_bytes),
            Some(&pulled[..])
        );
        assert_eq!(images[0]["imageId"]["imageDigest"], digest.as_str());
        for layer in &layers {
            let mut fetched = Vec::new();
            client
                .pull_blob(&at, layer.sha256_digest().as_str(), &mut fetched)
                .await
                .expect("a layer");
            assert_eq!(fetched, layer.data, "{push_as:?}");
        }
        pusher.server.shutdown().await;
    }
}

#[test]
fn the_oras_python_sdk_pushes_and_pulls_an_artifact_that_batch_get_image_returns() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let pusher = runtime.block_on(Pusher::start(Config::default()));
    let work = crate::support::tempdir().join("oras");
    std::fs::create_dir_all(&work).expect("a work folder");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/oras_push.py");
    let output = std::process::Command::new(crate::support::python::bin().join("python"))
        .arg(script)
        .arg(pusher.server.url())
        .args([&pusher.basic.0, &pusher.basic.1])
        .arg(format!("{REPO}:oras"))
        .arg(&work)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "oras: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    for tag in ["oras", "oras-chunked"] {
        let images = runtime.block_on(pusher.batch_get(tag));
        assert_eq!(images.len(), 1, "{tag} through BatchGetImage");
        let manifest: Value =
            serde_json::from_str(images[0]["imageManifest"].as_str().expect("a manifest"))
                .expect("JSON");
        for layer in manifest["layers"].as_array().expect("layers") {
            let digest = layer["digest"].as_str().expect("a digest");
            assert!(runtime.block_on(pusher.layer_available(digest)), "{digest}");
        }
    }
    let images = runtime.block_on(pusher.batch_get("oras"));
    assert_eq!(images[0]["imageId"]["imageDigest"], printed["digest"]);
    runtime.block_on(pusher.server.shutdown());
}

/// The `REG-PUSH-*` findings of a whole `check` against `serve` pushing as `push_as`, after
/// asserting that every `REG-PUSH-*` rule was exercised.
async fn push_findings(push_as: PushAs) -> Vec<String> {
    use ecr_contract::oracle::RULES;
    let server = spawn(Config {
        push_as,
        ..crate::support::broken::reference_config()
    })
    .await
    .expect("serve starts");
    let report = crate::support::check_url(&server.url(), 0).await;
    server.shutdown().await;
    for rule in RULES
        .iter()
        .filter(|r| r.id.as_str().starts_with("REG-PUSH-"))
    {
        assert!(
            report.exercised.contains(&rule.id),
            "{push_as:?}: {} not exercised",
            rule.id
        );
    }
    report
        .findings
        .iter()
        .filter(|f| f.violation.rule.as_str().starts_with("REG-PUSH-"))
        .map(|f| f.violation.rule.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_every_push_rule_against_serve_and_reports_only_as_ecr_for_the_distribution_option()
 {
    assert_eq!(push_findings(PushAs::Ecr).await, Vec::<String>::new());
    let distribution = push_findings(PushAs::Distribution).await;
    assert!(
        !distribution.is_empty(),
        "the distribution answers are not ECR's"
    );
    assert!(
        distribution.iter().all(|rule| rule == "REG-PUSH-AS-ECR"),
        "{distribution:?}"
    );
}

#[tokio::test]
async fn a_manifest_a_list_references_is_not_deleted_until_the_list_is() {
    let pusher = Pusher::start(Config::default()).await;
    let config = pusher.upload(b"{}").await;
    let child = manifest(&config, &[]);
    let child_digest = ImageDigest::of(child.as_bytes()).to_string();
    assert_eq!(
        pusher.put_manifest(REPO, "child", &child).await.status(),
        201
    );
    let list = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": child_digest, "size": child.len()}]})
    .to_string();
    let path = format!("/v2/{REPO}/manifests/list");
    let headers = [("content-type", "application/vnd.oci.image.index.v1+json")];
    let put = pusher
        .send("PUT", &path, &headers, list.clone().into_bytes())
        .await;
    assert_eq!(put.status(), 201);
    let child_path = format!("/v2/{REPO}/manifests/{child_digest}");
    let refused = pusher.send("DELETE", &child_path, &[], Vec::new()).await;
    assert!(refused.status().is_client_error());
    assert_eq!(pusher.batch_get(&child_digest).await.len(), 1, "kept");
    let list_digest = ImageDigest::of(list.as_bytes()).to_string();
    let list_path = format!("/v2/{REPO}/manifests/{list_digest}");
    assert_eq!(
        pusher
            .send("DELETE", &list_path, &[], Vec::new())
            .await
            .status(),
        202
    );
    assert_eq!(
        pusher
            .send("DELETE", &child_path, &[], Vec::new())
            .await
            .status(),
        202
    );
    pusher.server.shutdown().await;
}

#[tokio::test]
async fn upload_bodies_in_flight_are_bounded_and_a_request_finding_no_room_is_told_to_retry() {
    use ecr_contract::serve::ConnectionLimits;
    use tokio::io::AsyncWriteExt;
    let pusher = Pusher::start(Config {
        connection: ConnectionLimits {
            upload_bytes_in_flight: MIB,
            body_timeout: std::time::Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
        ..Config::default()
    })
    .await;
    let location = pusher.start_upload(REPO).await;
    // Two clients that each announce a body of the whole room and send one byte of it: the
    // first holds the room until its body times out, the second (queued first) then takes it.
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", pusher.basic.0, pusher.basic.1),
    );
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\ncontent-length: {MIB}\r\n\r\nx"
    );
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut holder = tokio::net::TcpStream::connect(pusher.server.addr())
            .await
            .expect("a connection");
        holder.write_all(head.as_bytes()).await.expect("sent");
        holders.push(holder);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let waiting = pusher.chunk(&location, 0, b"small").await;
    assert_eq!(waiting.status(), 429, "no room while the bodies are held");
    assert_eq!(codes(waiting).await, ["TOOMANYREQUESTS"]);
    drop(holders);
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let after = pusher.chunk(&location, 0, b"small").await;
    assert!(
        after.status().is_success(),
        "room again: {}",
        after.status()
    );
    pusher.server.shutdown().await;
}
