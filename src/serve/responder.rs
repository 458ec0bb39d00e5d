//! A wiremock responder answering from the reference model, for tests that already mock with
//! wiremock.

use std::sync::Arc;

use wiremock::{Request, Respond, ResponseTemplate};

use crate::wire;

use super::Endpoint;

/// Answers every request it is mounted for as the embedded server would.
///
/// ```
/// # async fn demo() {
/// use ecr_contract::serve::{Config, Responder};
/// use wiremock::{Mock, MockServer, matchers::method};
/// let server = MockServer::start().await;
/// Mock::given(method("POST")).respond_with(Responder::new(Config::default().endpoint())).mount(&server).await;
/// # }
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
        ResponseTemplate::new(reply.status)
            .insert_header("x-amzn-requestid", reply.request_id.as_str())
            .set_body_raw(reply.body, wire::CONTENT_TYPE)
    }
}
