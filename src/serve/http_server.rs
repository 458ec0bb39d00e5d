//! The HTTP side: an axum router over the [`Endpoint`] on tokio (and rustls for `https://`),
//! bodies bounded in size and time; connections are [`connection`](super::connection)'s.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::model::OpError;
use crate::wire::{self, MAX_REQUEST_BYTES};

use super::connection::{ConnectionLimits, accept_loop};
use super::{Config, Endpoint, EndpointReply, TlsFiles};

/// How long a request body may take to arrive, from the end of its head; a body trickled
/// longer is answered with an error and the connection closed. A body is at most
/// [`MAX_REQUEST_BYTES`] (28 MB, a 20 MiB layer part in base64): a minute is 3.7 Mbit/s,
/// and nginx's `client_body_timeout` default is a minute too.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    endpoint: Arc<Endpoint>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The URL to send requests to, such as `http://127.0.0.1:41234` (`https://` when
    /// serving TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint behind the server, for inspecting its state.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Stops accepting connections, lets requests in flight finish, and closes every
    /// connection left after the configured shutdown deadline.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts a server in this tokio runtime on `config`'s address (port 0: a free port).
pub async fn spawn(config: Config) -> std::io::Result<Server> {
    let tls = config.tls.as_ref().map(TlsFiles::config).transpose()?;
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let endpoint = Arc::new(config.endpoint());
    let (stop, stopped) = oneshot::channel::<()>();
    let scheme = scheme(tls.as_ref());
    let task = tokio::spawn(serve(
        listener,
        Arc::clone(&endpoint),
        tls,
        config.connection,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok(Server {
        addr,
        scheme,
        endpoint,
        stop: Some(stop),
        task,
    })
}

/// Runs a server until `shutdown` completes, calling `ready` with its URL once it listens;
/// returns once requests in flight are answered, or the shutdown deadline has passed.
pub async fn run(
    config: Config,
    ready: impl FnOnce(&str),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = config.tls.as_ref().map(TlsFiles::config).transpose()?;
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    ready(&format!(
        "{}://{}",
        scheme(tls.as_ref()),
        listener.local_addr()?
    ));
    let endpoint = Arc::new(config.endpoint());
    serve(listener, endpoint, tls, config.connection, shutdown).await;
    Ok(())
}

fn scheme(tls: Option<&TlsAcceptor>) -> &'static str {
    match tls {
        Some(_) => "https",
        None => "http",
    }
}

async fn serve(
    listener: TcpListener,
    endpoint: Arc<Endpoint>,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let app = router_within(endpoint, limits.body_timeout, limits.upload_bytes_in_flight);
    accept_loop(listener, tls, app, limits, shutdown).await;
}

/// What every request is answered with: the endpoint, how long its body may take, and the
/// room left for registry-API write bodies, in [`PERMIT_BYTES`] units.
#[derive(Debug)]
struct Routed {
    endpoint: Arc<Endpoint>,
    body_timeout: Duration,
    uploads: Arc<tokio::sync::Semaphore>,
    upload_permits: u32,
}

/// The unit of [`MAX_UPLOAD_BYTES_IN_FLIGHT`](super::MAX_UPLOAD_BYTES_IN_FLIGHT) reserved.
const PERMIT_BYTES: usize = 64 * 1024;

/// The router every connection is served by: each request, bounded in size and time, into
/// `endpoint`, with the default room for write bodies in flight (the `endpoint` fuzz target's
/// way in; connections are served through [`router_within`]).
#[cfg_attr(not(feature = "arbitrary"), allow(dead_code))]
pub(crate) fn router(endpoint: Arc<Endpoint>, body_timeout: Duration) -> axum::Router {
    router_within(endpoint, body_timeout, super::MAX_UPLOAD_BYTES_IN_FLIGHT)
}

/// [`router`] with `upload_bytes` of room for registry-API write bodies in flight.
fn router_within(
    endpoint: Arc<Endpoint>,
    body_timeout: Duration,
    upload_bytes: usize,
) -> axum::Router {
    let upload_permits =
        u32::try_from(upload_bytes.div_ceil(PERMIT_BYTES).max(1)).unwrap_or(u32::MAX);
    let routed = Routed {
        endpoint,
        body_timeout,
        uploads: Arc::new(tokio::sync::Semaphore::new(upload_permits as usize)),
        upload_permits,
    };
    axum::Router::new()
        .fallback(handle)
        .with_state(Arc::new(routed))
}

async fn handle(State(routed): State<Arc<Routed>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let limit = body_limit(parts.method.as_str(), &uri);
    // Room for a large write body is reserved before it is read, and held until it is
    // answered.
    let _room = match limit > MAX_REQUEST_BYTES {
        false => None,
        true => {
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(limit)
                .min(limit);
            let wanted = u32::try_from(declared.div_ceil(PERMIT_BYTES).max(1))
                .unwrap_or(u32::MAX)
                .min(routed.upload_permits);
            let uploads = Arc::clone(&routed.uploads);
            let reserve =
                tokio::time::timeout(routed.body_timeout, uploads.acquire_many_owned(wanted));
            match reserve.await {
                Ok(Ok(permit)) => Some(permit),
                _ => return no_room(routed.upload_permits),
            }
        }
    };
    let read = tokio::time::timeout(routed.body_timeout, to_bytes(body, limit));
    let reply = match read.await {
        Ok(Ok(bytes)) => {
            routed
                .endpoint
                .handle(parts.method.as_str(), &uri, &parts.headers, &bytes)
        }
        Ok(Err(e)) => unreadable(format!(
            "request body unreadable or over {limit} bytes: {e}"
        )),
        Err(_) => unreadable(format!(
            "request body not received within {} s",
            routed.body_timeout.as_secs_f64()
        )),
    };
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    response
        .header("x-amzn-requestid", reply.request_id)
        .body(Body::from(reply.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The most bytes of a request's body read: [`MAX_CHUNK_BYTES`](super::MAX_CHUNK_BYTES) for
/// a registry-API write (a chunk, a single-request upload, a manifest), else
/// [`MAX_REQUEST_BYTES`].
fn body_limit(method: &str, uri: &str) -> usize {
    let write = matches!(method, "POST" | "PATCH" | "PUT");
    match write && wire::registry::is_registry_path(uri) {
        true => super::MAX_CHUNK_BYTES,
        false => MAX_REQUEST_BYTES,
    }
}

/// `429 TOOMANYREQUESTS` for a registry-API write that found no room for its body within the
/// body timeout; the connection is closed, the body unread.
fn no_room(permits: u32) -> Response {
    let message = format!(
        "more than {} bytes of upload bodies are being received: retry later",
        permits as usize * PERMIT_BYTES
    );
    let body =
        wire::registry::encode_registry_error(wire::registry::ErrorCode::TooManyRequests, &message);
    Response::builder()
        .status(429)
        .header("content-type", "application/json; charset=utf-8")
        .header(
            wire::registry::API_VERSION_HEADER,
            wire::registry::API_VERSION,
        )
        .header("connection", "close")
        .header("x-amzn-requestid", "")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The answer to a request whose body could not be read whole; the connection is closed
/// after it, since the rest of the body may still be on its way.
fn unreadable(message: String) -> EndpointReply {
    let error = OpError::new("SerializationException", message);
    EndpointReply {
        status: error.status(),
        headers: vec![
            ("content-type", wire::CONTENT_TYPE.to_owned()),
            ("connection", "close".to_owned()),
        ],
        body: wire::encode_error(error.code, &error.message),
        request_id: String::new(),
        delay: None,
    }
}
