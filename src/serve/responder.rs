//! A wiremock responder answering from the reference model, for tests that already mock with
//! wiremock.

use std::sync::Arc;

use http::HeaderValue;
use wiremock::{Request, Respond, ResponseTemplate};

use crate::model::Registry;
use crate::wire::{self, Operation};

use super::{Endpoint, Fault, When};

/// Answers every request it is mounted for as the embedded server would.
///
/// ```
/// # async fn demo() {
/// use ecr_contract::model::Registry;
/// use ecr_contract::serve::{Fault, Responder, nth};
/// use ecr_contract::wire::Operation;
/// use wiremock::{Mock, MockServer, matchers::method};
///
/// let registry = Registry::builder().repository("team/app").build().expect("a registry");
/// // The second BatchGetImage request is throttled.
/// let responder = Responder::from_registry(registry).fault_on(
///     Operation::BatchGetImage,
///     nth(2),
///     Fault::Throttle,
/// );
/// let server = MockServer::start().await;
/// Mock::given(method("POST")).respond_with(responder.clone()).mount(&server).await;
///
/// let read = || {
///     reqwest::Client::new()
///         .post(server.uri())
///         .header("x-amz-target", Operation::BatchGetImage.target())
///         .body(r#"{"repositoryName": "team/app", "imageIds": [{"imageTag": "v1"}]}"#)
///         .send()
/// };
/// let statuses = [read().await.unwrap().status(), read().await.unwrap().status()];
/// assert_eq!(statuses.map(|s| s.as_u16()), [200, 400]);
/// assert_eq!(responder.endpoint().requests(Operation::BatchGetImage), 2);
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo());
/// ```
#[derive(Debug, Clone)]
pub struct Responder {
    endpoint: Arc<Endpoint>,
}

impl Responder {
    /// A responder over `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint: Arc::new(endpoint),
        }
    }

    /// A responder over `registry` (built with
    /// [`Registry::builder`](crate::model::Registry::builder), say), with the default profile
    /// and no signature checks.
    pub fn from_registry(registry: Registry) -> Self {
        Self::new(Endpoint::from_registry(registry))
    }

    /// Adds a fault (see [`Endpoint::fault_on`]); keep a clone of the responder to add more
    /// once it is mounted.
    pub fn fault_on(self, operation: Operation, when: When, fault: Fault) -> Self {
        self.endpoint.fault_on(operation, when, fault);
        self
    }

    /// The endpoint behind it.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let uri = request.url.path().to_owned();
        let reply = self.endpoint.handle(
            request.method.as_str(),
            &uri,
            &request.headers,
            &request.body,
        );
        // The endpoint answers only values that are header values; wiremock panics on any
        // other, so the filter keeps that promise local.
        let sendable = |value: &String| HeaderValue::from_str(value).ok();
        let content_type = reply
            .headers
            .iter()
            .find(|(name, _)| *name == "content-type")
            .and_then(|(_, value)| sendable(value).map(|_| value.as_str()))
            .unwrap_or(wire::CONTENT_TYPE);
        let mut template = ResponseTemplate::new(reply.status)
            .insert_header("x-amzn-requestid", reply.request_id.as_str())
            .set_body_raw(reply.body.clone(), content_type);
        for (name, value) in reply.headers.iter().filter(|(n, _)| *n != "content-type") {
            if let Some(value) = sendable(value) {
                template = template.insert_header(*name, value);
            }
        }
        match reply.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}
