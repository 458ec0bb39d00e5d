//! Connections of the embedded server, plain or TLS alike: the accept loop, a cap on how many
//! are open, hyper's HTTP/1.1 on each with a header-read timeout and bounded heads, an idle
//! timeout, and a shutdown with a deadline.
//!
//! Over the cap, new connections are not accepted: they wait in the kernel's accept backlog
//! and are served as soon as a slot frees (a timeout closing a slow or idle peer frees one).
//! Closing them instead would fail a well-behaved client on a request it never got an answer
//! for; the backlog itself is bounded by the kernel (1024 from tokio's `listen`, capped by
//! `net.core.somaxconn`), past which connection attempts are refused or retried by the client.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::activity::{Activity, Watched};

/// How long a client may take to send a request head, from the moment the connection waits
/// for one (after the TLS handshake, or after the previous answer) to its blank line; the TLS
/// handshake has as long. Apache's `mod_reqtimeout` allows 20 s for a head by default; a
/// client of this API sends its head in one write.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a connection may stay idle (no byte read or written, no request being answered)
/// before it is closed. Node.js's `server.keepAliveTimeout` default; clients' pools reconnect.
/// hyper's head timer also runs while a kept-alive connection waits, so a connection idle
/// longer than [`HEADER_READ_TIMEOUT`] is closed by that one whatever this says.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections open at once. Three quarters of Linux's usual soft limit on open
/// files (1024), leaving the rest to the listener, the runtime and the files a run reads.
pub const MAX_CONNECTIONS: usize = 768;

/// How long a shutdown lets requests in flight finish before it closes every connection left.
/// Under `docker stop`'s 10 s grace before `SIGKILL`, so the process exits on its own.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The most header lines in a request head; past it, `431`. Apache's `LimitRequestFields`
/// default (and hyper's); a SigV4-signed ECR request carries about ten.
pub const MAX_HEADERS: usize = 100;

/// The most bytes in a request head (request line and headers); past it, `431`. nginx's
/// `large_client_header_buffers` default (4 × 8 KiB).
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// How long the accept loop waits after a failed `accept` (out of file descriptors, say)
/// before it tries again, rather than spinning; axum's `serve` waits 1 s.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The bounds on the server's connections; [`Default`] gives the named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive; see [`BODY_TIMEOUT`](super::BODY_TIMEOUT).
    pub body_timeout: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`SHUTDOWN_DEADLINE`].
    pub shutdown_deadline: Duration,
    /// See [`MAX_UPLOAD_BYTES_IN_FLIGHT`](super::MAX_UPLOAD_BYTES_IN_FLIGHT).
    pub upload_bytes_in_flight: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_timeout: super::BODY_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            shutdown_deadline: SHUTDOWN_DEADLINE,
            upload_bytes_in_flight: super::MAX_UPLOAD_BYTES_IN_FLIGHT,
        }
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes;
/// then stops accepting, lets requests in flight finish, and closes what is left after the
/// deadline.
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
            Ok(slot) = Arc::clone(&slots).acquire_owned() => slot,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let peer = Peer {
            app: app.clone(),
            limits,
            stopping: stopping.clone(),
            _slot: slot,
        };
        connections.spawn(peer.serve(stream, tls.clone()));
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(limits.shutdown_deadline, drained).await;
    connections.shutdown().await;
}

/// One accepted connection and what serving it needs.
struct Peer {
    app: Router,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
    /// Held while the connection is open: its place under the cap.
    _slot: OwnedSemaphorePermit,
}

impl Peer {
    async fn serve(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        let activity = Activity::default();
        let stream = Watched::new(stream, activity.clone());
        let Some(tls) = tls else {
            return self.drive(stream, activity).await;
        };
        let handshake = tokio::time::timeout(self.limits.header_read_timeout, tls.accept(stream));
        if let Ok(Ok(stream)) = handshake.await {
            self.drive(stream, activity).await;
        }
    }

    /// Serves HTTP/1.1 on `stream` until the client closes, a bound closes it, or the
    /// shutdown's graceful close completes.
    async fn drive<S>(mut self, stream: S, activity: Activity)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let app = self.app.clone();
        let busy = activity.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let answering = busy.answering();
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(answering);
                response
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout)
            .max_headers(MAX_HEADERS)
            .max_header_size(MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let mut closing = *self.stopping.borrow();
        if closing {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                _ = connection.as_mut() => return,
                () = activity.idle_for(self.limits.idle_timeout) => return,
                _ = self.stopping.changed(), if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
