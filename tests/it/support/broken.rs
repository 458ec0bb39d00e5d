//! Deliberately broken servers: the reference endpoint behind wiremock, with one mutation
//! applied to every BatchGetImage answer (or to PutImage's digest), or with throttling.

use std::time::Duration;

use ecr_contract::serve::{self, Config, Endpoint, always, every, first};
use ecr_contract::strategy::{Fixture, fixture};
use ecr_contract::wire;
use ecr_contract::wire::Credentials;
use ecr_contract::wire::Operation;
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use ecr_contract::fuzzing::mutate::{RawAnswer, mutate};

/// How the server misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// A mutation (see `mutate`) of every BatchGetImage answer it applies to.
    pub mutation: Option<&'static str>,
    /// PutImage answers a wrong digest.
    pub wrong_put_digest: bool,
    /// PutImage refuses every `imageDigest` it is told (ImageDigestDoesNotMatchException), as
    /// a server that computes digests of its own does.
    pub refuse_named_digest: bool,
    /// Every n-th request is throttled (HTTP 400 ThrottlingException).
    pub throttle_every: Option<u64>,
    /// Answers are delayed by this much.
    pub delay: Option<Duration>,
    /// The first PutImage's answer (the STATE-PUT-DIGEST probe's) is delayed by this much.
    pub delay_first_put: Option<Duration>,
    /// BatchGetImage answers echo every request header (a hostile server reflecting secrets).
    pub echo_headers: bool,
    /// Credentials the server verifies signatures with (default: the placeholder ones).
    pub credentials: Option<Credentials>,
    /// A way the registry API (`/v2/...`) misbehaves (see `super::registry_broken`).
    pub registry: Option<&'static str>,
    /// PutImage refuses every push of this tag (InvalidParameterException), valid or not.
    pub refuse_put_tag: Option<&'static str>,
    /// Every call of this operation is refused (InvalidParameterException).
    pub refuse_operation: Option<&'static str>,
}

struct Broken {
    endpoint: Endpoint,
    fault: Fault,
    fixture: Fixture,
    /// The state the registry API answers from when it is a stale second store.
    snapshot: std::sync::Mutex<Option<Endpoint>>,
}

impl Respond for Broken {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let target = request
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let names_digest = serde_json::from_slice::<Value>(&request.body)
            .is_ok_and(|b| b.get("imageDigest").is_some());
        if target.ends_with(".PutImage") && self.fault.refuse_named_digest && names_digest {
            let body = wire::encode_error(
                "ImageDigestDoesNotMatchException",
                "The digest does not match the one this server computed",
            );
            return ResponseTemplate::new(400).set_body_raw(body, wire::CONTENT_TYPE);
        }
        let tag = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|b| b.get("imageTag").and_then(Value::as_str).map(str::to_owned));
        if let Some(operation) = self.fault.refuse_operation
            && target.ends_with(&format!(".{operation}"))
        {
            let body = wire::encode_error("InvalidParameterException", "This call is refused");
            return ResponseTemplate::new(400).set_body_raw(body, wire::CONTENT_TYPE);
        }
        if target.ends_with(".PutImage")
            && let Some(refused) = self.fault.refuse_put_tag
            && tag.as_deref() == Some(refused)
        {
            let body = wire::encode_error("InvalidParameterException", "This tag is refused");
            return ResponseTemplate::new(400).set_body_raw(body, wire::CONTENT_TYPE);
        }
        let uri = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        if let Some(mutation) = self.fault.registry
            && wire::registry::is_registry_path(&uri)
        {
            let raw = super::registry_broken::answer(
                &self.endpoint,
                &self.snapshot,
                mutation,
                request.method.as_str(),
                &uri,
                &request.headers,
                &request.body,
            );
            return template(raw);
        }
        let reply = self.endpoint.handle(
            request.method.as_str(),
            &uri,
            &request.headers,
            &request.body,
        );
        let reply_delay = reply.delay;
        let mut raw = RawAnswer {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        };
        if target.ends_with(".BatchGetImage")
            && let Some(spec) = self.fault.mutation
        {
            let ids: Vec<Value> = serde_json::from_slice::<Value>(&request.body)
                .ok()
                .and_then(|r| r["imageIds"].as_array().cloned())
                .unwrap_or_default();
            // A mutation that does not apply to this answer (no image to change) leaves it.
            let fixture = &self.fixture;
            let original = raw.clone();
            raw = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                mutate(&original, spec, fixture, &ids)
            }))
            .unwrap_or(original);
        }
        if target.ends_with(".BatchGetImage") && self.fault.echo_headers {
            let headers: Vec<String> = request
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
                .collect();
            raw = RawAnswer {
                status: 400,
                headers: raw.headers,
                body: wire::encode_error("InvalidParameterException", &headers.join("; ")),
            };
        }
        if target.ends_with(".PutImage") && self.fault.wrong_put_digest && raw.status == 200 {
            let mut body: Value = serde_json::from_slice(&raw.body).unwrap_or_default();
            body["image"]["imageId"]["imageDigest"] =
                Value::String(format!("sha256:{}", "f".repeat(64)));
            raw.body = serde_json::to_vec(&body).unwrap_or_default();
        }
        let template = template(raw);
        match reply_delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// The wiremock answer of `raw`.
fn template(raw: RawAnswer) -> ResponseTemplate {
    let content_type = raw
        .headers
        .iter()
        .find(|(n, _)| *n == "content-type")
        .map_or("", |(_, v)| v.as_str())
        .to_owned();
    let mut template = ResponseTemplate::new(raw.status).set_body_raw(raw.body, &content_type);
    for (name, value) in raw.headers.iter().filter(|(n, _)| *n != "content-type") {
        template = template.insert_header(*name, value.as_str());
    }
    template
}

/// The configuration of the reference server the broken ones wrap: blobs required and
/// signatures verified with the placeholder credentials, like `check`'s embedded server.
pub fn reference_config() -> Config {
    Config {
        require_blobs: true,
        verify_signatures: Some(Credentials::placeholder()),
        ..Config::default()
    }
}

/// Starts a server with `fault`.
pub async fn broken_server(fault: Fault) -> MockServer {
    let server = MockServer::start().await;
    let mut config = reference_config();
    if let Some(credentials) = fault.credentials.clone() {
        config.verify_signatures = Some(credentials);
    }
    let endpoint = config.endpoint();
    // Throttling and stalls are the library's own faults.
    if let Some(n) = fault.throttle_every {
        endpoint.fault_on_any(every(n), serve::Fault::Throttle);
    }
    if let Some(delay) = fault.delay_first_put {
        endpoint.fault_on(Operation::PutImage, first(1), serve::Fault::Delay(delay));
    }
    if let Some(delay) = fault.delay {
        endpoint.fault_on_any(always(), serve::Fault::Delay(delay));
    }
    let broken = Broken {
        endpoint,
        fault,
        fixture: fixture(),
        snapshot: std::sync::Mutex::new(None),
    };
    Mock::given(any()).respond_with(broken).mount(&server).await;
    server
}
