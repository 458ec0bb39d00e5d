//! For client authors, the minimal form: a mocked ECR answered by the reference model, in the
//! tests of a client written with reqwest alone.
//!
//! The client under test is `pull_manifest` below, a few lines of reqwest that fetch a
//! manifest by tag and retry throttling. For an AWS SDK client, see `client_author.rs`.
//! Runs as it is: `cargo test --example minimal_client`.

use std::time::Duration;

use serde_json::{Value, json};

// ---- the client under test ------------------------------------------------------------------

/// Why a pull failed.
#[derive(Debug, PartialEq)]
pub enum PullError {
    /// The image is not there: its failure code.
    Missing(String),
    /// The request failed: HTTP status and error name.
    Refused(u16, String),
    /// No answer in time.
    Timeout,
    /// An answer that is not what ECR sends.
    Garbled,
}

/// Reads a BatchGetImage answer: the first image's manifest, or why there is none.
pub fn read_answer(status: u16, body: &[u8]) -> Result<String, PullError> {
    let json: Value = serde_json::from_slice(body).map_err(|_| PullError::Garbled)?;
    if status != 200 {
        let code = json["__type"].as_str().unwrap_or_default();
        return Err(PullError::Refused(status, code.to_owned()));
    }
    if let Some(manifest) = json["images"][0]["imageManifest"].as_str() {
        return Ok(manifest.to_owned());
    }
    match json["failures"][0]["failureCode"].as_str() {
        Some(code) => Err(PullError::Missing(code.to_owned())),
        None => Err(PullError::Garbled),
    }
}

/// Fetches the manifest of `repository:tag`, retrying throttling three times.
pub async fn pull_manifest(
    endpoint: &str,
    repository: &str,
    tag: &str,
) -> Result<String, PullError> {
    let body = json!({"repositoryName": repository, "imageIds": [{"imageTag": tag}]});
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .map_err(|_| PullError::Timeout)?;
    let mut retries = 0;
    loop {
        let response = client
            .post(endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AmazonEC2ContainerRegistry_V20150921.BatchGetImage",
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|_| PullError::Timeout)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|_| PullError::Timeout)?;
        match read_answer(status, &bytes) {
            Err(PullError::Refused(400, code)) if code == "ThrottlingException" && retries < 3 => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(10 << retries)).await;
            }
            outcome => return outcome,
        }
    }
}

// ---- its tests ------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ecr_contract::model::Registry;
    use ecr_contract::serve::{Config, Fault, Responder, always, first, nth, spawn};
    use ecr_contract::strategy::arb_answer;
    use ecr_contract::strategy::manifests::{ContentBlob, Layout, schema2};
    use ecr_contract::wire::Operation;
    use proptest::prelude::*;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer};

    use super::{PullError, pull_manifest, read_answer};

    /// `team/app:v1`, built through the model's own CreateRepository and PutImage; and the
    /// manifest `v1` points at.
    fn registry() -> (Registry, String) {
        let manifest = schema2(
            &ContentBlob::from_seed("config"),
            &[ContentBlob::from_seed("layer")],
            Layout::Docker,
        );
        let registry = Registry::builder()
            .repository("team/app")
            .image(manifest.as_str())
            .tag("v1")
            .build()
            .expect("the model accepts these calls");
        (registry, manifest)
    }

    /// The in-process server, on a free loopback port.
    #[tokio::test]
    async fn pulls_a_manifest_by_tag() {
        let (registry, manifest) = registry();
        let server = spawn(Config::with_registry(registry))
            .await
            .expect("serve starts");
        let url = server.url();
        assert_eq!(pull_manifest(&url, "team/app", "v1").await, Ok(manifest));
        assert_eq!(
            pull_manifest(&url, "team/app", "v9").await,
            Err(PullError::Missing("ImageNotFound".into()))
        );
        assert_eq!(
            pull_manifest(&url, "team/absent", "v1").await,
            Err(PullError::Refused(
                400,
                "RepositoryNotFoundException".into()
            ))
        );
        server.shutdown().await;
    }

    /// The wiremock responder, with the first two reads throttled.
    #[tokio::test]
    async fn retries_throttling_then_gets_the_manifest() {
        let (registry, manifest) = registry();
        let mock = MockServer::start().await;
        let responder = Responder::from_registry(registry).fault_on(
            Operation::BatchGetImage,
            first(2),
            Fault::Throttle,
        );
        Mock::given(method("POST"))
            .respond_with(responder.clone())
            .mount(&mock)
            .await;
        assert_eq!(
            pull_manifest(&mock.uri(), "team/app", "v1").await,
            Ok(manifest)
        );
        assert_eq!(responder.endpoint().requests(Operation::BatchGetImage), 3);
    }

    /// Faults added to a running server: endless throttling, a 500, a slow answer, a cut body.
    #[tokio::test]
    async fn gives_up_cleanly_on_faults() {
        let (registry, _) = registry();
        let server = spawn(Config::with_registry(registry))
            .await
            .expect("serve starts");
        let (url, endpoint) = (server.url(), server.endpoint());
        let pull = || pull_manifest(&url, "team/app", "v1");
        endpoint.fault_on(Operation::BatchGetImage, always(), Fault::Throttle);
        let throttled = Err(PullError::Refused(400, "ThrottlingException".into()));
        assert_eq!(pull().await, throttled);
        assert_eq!(
            endpoint.requests(Operation::BatchGetImage),
            4,
            "three retries"
        );
        endpoint.clear_faults();
        endpoint.fault_on(Operation::BatchGetImage, nth(1), Fault::ServerError);
        let server_error = Err(PullError::Refused(500, "ServerException".into()));
        assert_eq!(pull().await, server_error);
        let slow = Fault::Delay(Duration::from_secs(2));
        endpoint.fault_on(Operation::BatchGetImage, nth(1), slow);
        assert_eq!(pull().await, Err(PullError::Timeout));
        endpoint.fault_on(Operation::BatchGetImage, nth(1), Fault::Truncate);
        assert_eq!(pull().await, Err(PullError::Garbled));
        assert!(pull().await.is_ok(), "each fault hit one request only");
        server.shutdown().await;
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The reader handles every answer a conforming server may give: a manifest exactly when
        /// the answer has an image, never "garbled".
        #[test]
        fn reads_every_answer_a_conforming_server_may_give(answered in arb_answer()) {
            let (status, body) = answered.to_http();
            let first_manifest = answered.answer.as_ref().ok().and_then(|response| {
                response.images.as_ref()?.first()?.image_manifest.clone()
            });
            match read_answer(status, &body) {
                Ok(manifest) => prop_assert_eq!(Some(manifest), first_manifest),
                Err(PullError::Garbled) => prop_assert!(false, "garbled: {}", String::from_utf8_lossy(&body)),
                Err(_) => prop_assert_eq!(first_manifest, None),
            }
        }
    }
}
