//! For client authors: your AWS SDK client against a mocked ECR answered by the reference
//! model, in your client's tests.
//!
//! The client under test is `pull_manifest` below, written with the Rust SDK (`aws-sdk-ecr`);
//! put yours in its place. `ecr_client` shows the configuration a test needs: the mock's URL,
//! static credentials, a region, and an explicit HTTP client, so nothing is read from the
//! environment and nothing leaves the machine. Runs as it is:
//! `cargo test --example client_author`. (`minimal_client.rs` does the same with reqwest
//! alone.)

use std::time::Duration;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

// ---- the client under test ------------------------------------------------------------------

/// Why a pull failed.
#[derive(Debug, PartialEq)]
pub enum PullError {
    /// The image is not there: its failure code.
    Missing(String),
    /// The request failed with this error name (after the SDK's retries).
    Refused(String),
}

/// An ECR client for `endpoint`, with static credentials and the SDK's standard retries
/// (three attempts), backing off briefly.
pub fn ecr_client(endpoint: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example-secret",
            None,
            None,
            "example",
        ))
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build();
    Client::from_conf(config)
}

/// Fetches the manifest of `repository:tag`.
pub async fn pull_manifest(
    client: &Client,
    repository: &str,
    tag: &str,
) -> Result<String, PullError> {
    let answer = client
        .batch_get_image()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await
        .map_err(|e| {
            let e = e.into_service_error();
            PullError::Refused(e.code().unwrap_or("unknown").to_owned())
        })?;
    if let Some(manifest) = answer.images().first().and_then(|i| i.image_manifest()) {
        return Ok(manifest.to_owned());
    }
    let code = answer
        .failures()
        .first()
        .and_then(|f| f.failure_code())
        .map_or("none", |c| c.as_str());
    Err(PullError::Missing(code.to_owned()))
}

// ---- its tests ------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use ecr_contract::model::Registry;
    use ecr_contract::serve::{Config, Fault, Responder, always, first, spawn};
    use ecr_contract::strategy::manifests::{ContentBlob, Layout, schema2};
    use ecr_contract::wire::Operation;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer};

    use super::{PullError, ecr_client, pull_manifest};

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
        let client = ecr_client(&server.url());
        assert_eq!(pull_manifest(&client, "team/app", "v1").await, Ok(manifest));
        assert_eq!(
            pull_manifest(&client, "team/app", "v9").await,
            Err(PullError::Missing("ImageNotFound".into()))
        );
        assert_eq!(
            pull_manifest(&client, "team/absent", "v1").await,
            Err(PullError::Refused("RepositoryNotFoundException".into()))
        );
        server.shutdown().await;
    }

    /// The wiremock responder, with the first two reads throttled: the SDK retries.
    #[tokio::test]
    async fn the_sdk_retries_throttling_then_gets_the_manifest() {
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
        let client = ecr_client(&mock.uri());
        assert_eq!(pull_manifest(&client, "team/app", "v1").await, Ok(manifest));
        assert_eq!(responder.endpoint().requests(Operation::BatchGetImage), 3);
    }

    /// Faults added to a running server: endless throttling and server errors exhaust the
    /// three attempts; each is counted.
    #[tokio::test]
    async fn gives_up_after_three_attempts() {
        let (registry, _) = registry();
        let server = spawn(Config::with_registry(registry))
            .await
            .expect("serve starts");
        let (client, endpoint) = (ecr_client(&server.url()), server.endpoint());
        endpoint.fault_on(Operation::BatchGetImage, always(), Fault::Throttle);
        assert_eq!(
            pull_manifest(&client, "team/app", "v1").await,
            Err(PullError::Refused("ThrottlingException".into()))
        );
        assert_eq!(endpoint.requests(Operation::BatchGetImage), 3);
        endpoint.clear_faults();
        endpoint.fault_on(Operation::BatchGetImage, always(), Fault::ServerError);
        assert_eq!(
            pull_manifest(&client, "team/app", "v1").await,
            Err(PullError::Refused("ServerException".into()))
        );
        assert_eq!(endpoint.requests(Operation::BatchGetImage), 6);
        endpoint.clear_faults();
        assert!(pull_manifest(&client, "team/app", "v1").await.is_ok());
        server.shutdown().await;
    }
}
