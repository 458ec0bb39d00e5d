//! The HTTP side: axum on tokio (and rustls for `https://`), bodies bounded, graceful
//! shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::model::OpError;
use crate::wire::{self, MAX_REQUEST_BYTES};

use super::{Config, Endpoint, TlsFiles};
use axum_server::tls_rustls::RustlsConfig;

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    endpoint: Arc<Endpoint>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
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

    /// Stops accepting requests and waits for those in flight.
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
    let task = tokio::spawn(serve(listener, Arc::clone(&endpoint), tls, async move {
        let _ = stopped.await;
    }));
    Ok(Server {
        addr,
        scheme,
        endpoint,
        stop: Some(stop),
        task,
    })
}

/// Runs a server until `shutdown` completes, calling `ready` with its URL once it listens.
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
    serve(listener, Arc::new(config.endpoint()), tls, shutdown).await
}

fn scheme(tls: Option<&RustlsConfig>) -> &'static str {
    match tls {
        Some(_) => "https",
        None => "http",
    }
}

async fn serve(
    listener: TcpListener,
    endpoint: Arc<Endpoint>,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(handle).with_state(endpoint);
    let Some(tls) = tls else {
        return axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(app.into_make_service())
        .await
}

async fn handle(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let reply = match to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(bytes) => endpoint.handle(parts.method.as_str(), &uri, &parts.headers, &bytes),
        Err(e) => {
            let error = OpError::new(
                "SerializationException",
                format!("request body unreadable or over {MAX_REQUEST_BYTES} bytes: {e}"),
            );
            super::EndpointReply {
                status: error.status(),
                headers: vec![("content-type", wire::CONTENT_TYPE.to_owned())],
                body: wire::encode_error(error.code, &error.message),
                request_id: String::new(),
                delay: None,
            }
        }
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
