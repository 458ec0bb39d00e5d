//! The reference model behind an HTTP endpoint that speaks AWS JSON 1.1, so that real clients
//! (boto3, the AWS CLI, the harness itself) can be run against it.
//!
//! For client authors' tests: start it from a registry written in code
//! ([`Config::with_registry`], [`Responder::from_registry`] for wiremock) and inject
//! [`fault`]s on chosen requests ([`Endpoint::fault_on`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ecr_contract::serve::{Config, spawn};
//! let server = spawn(Config::default()).await?;
//! println!("ECR at {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod activity;
mod auth;
mod connection;
mod endpoint;
pub mod fault;
mod http_server;
mod profile;
mod push;
mod registry_api;
#[cfg(feature = "wiremock")]
mod responder;
mod tls;

pub use connection::{
    ConnectionLimits, HEADER_READ_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_HEAD_BYTES,
    MAX_HEADERS, SHUTDOWN_DEADLINE,
};
pub use endpoint::{Endpoint, EndpointReply};
pub use fault::{Fault, When, always, every, first, nth};
#[cfg(feature = "arbitrary")]
pub(crate) use http_server::router;
pub use http_server::{BODY_TIMEOUT, Server, run, spawn};
pub use profile::{PROFILE_HELP, parse_profile};
pub use push::{MAX_CHUNK_BYTES, MAX_UPLOAD_BYTES_IN_FLIGHT, PushAs};
#[cfg(feature = "wiremock")]
pub use responder::Responder;
pub use tls::TlsFiles;

use crate::model::{Limits, Profile, Registry, RegistryId};
use crate::wire::Credentials;

/// How to run the embedded server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; loopback by default.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The caller's account: the default registry id.
    pub account_id: RegistryId,
    /// Region, for ARNs and URIs.
    pub region: String,
    /// Whether PutImage requires uploaded blobs, as real ECR does.
    pub require_blobs: bool,
    /// When set, requests must be signed with these credentials.
    pub verify_signatures: Option<Credentials>,
    /// The server's choices where the spec allows several outcomes.
    pub profile: Profile,
    /// The state to start from (its account and region replace `account_id` and `region`);
    /// `None`: an empty registry.
    pub registry: Option<Registry>,
    /// When set, serve `https://` with this certificate and key; `None`: plain `http://`.
    pub tls: Option<TlsFiles>,
    /// Answer registry-API blob requests with a `307` to a pre-signed URL, as ECR does.
    pub blob_redirect: bool,
    /// How much state requests may build up: [`STATE_LIMITS`] unless set.
    pub limits: Limits,
    /// Bounds on connections: timeouts, the cap on open ones, the shutdown deadline.
    pub connection: ConnectionLimits,
    /// How registry-API pushes are answered: ECR's quirks unless set.
    pub push_as: PushAs,
}

/// The state `serve` holds by default, in memory: ECR's quotas
/// ([`Limits::ECR`]) where a mock can hold them, lower where it cannot. Up to 100 registry ids
/// (ECR has no cap: one per account that shares with the caller), 1,000 repositories per
/// registry (ECR: 100,000), 1,000 images per repository (ECR: 20,000), 10,000 images in all
/// (ECR: none), and 1 GiB of blobs, uploads and manifests (ECR: none; 100 layers of ECR's
/// 10 MiB parts, and every manifest at its 4 MiB maximum 250 times over).
pub const STATE_LIMITS: Limits = Limits {
    registries: 100,
    repositories_per_registry: 1_000,
    images_per_repository: 1_000,
    images: 10_000,
    stored_bytes: 1 << 30,
};

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            account_id: RegistryId::parse("123456789012")
                .unwrap_or_else(|_| unreachable!("twelve digits")),
            region: "us-east-1".into(),
            require_blobs: false,
            verify_signatures: None,
            profile: Profile::default(),
            registry: None,
            tls: None,
            blob_redirect: false,
            limits: STATE_LIMITS,
            connection: ConnectionLimits::default(),
            push_as: PushAs::Ecr,
        }
    }
}

impl Config {
    /// The default configuration, starting from `registry` (built with [`Registry::builder`],
    /// say).
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// use ecr_contract::model::Registry;
    /// use ecr_contract::serve::{Config, spawn};
    /// let registry = Registry::builder().repository("team/app").build().expect("a registry");
    /// let server = spawn(Config::with_registry(registry)).await?;
    /// assert!(server.endpoint().registry().repository("123456789012", "team/app").is_some());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn with_registry(registry: Registry) -> Self {
        Self {
            account_id: registry.account.clone(),
            region: registry.region.clone(),
            require_blobs: registry.require_blobs,
            registry: Some(registry),
            ..Self::default()
        }
    }

    /// The endpoint this configuration describes, over its registry or an empty one.
    pub fn endpoint(&self) -> Endpoint {
        let mut registry = self
            .registry
            .clone()
            .unwrap_or_else(|| Registry::new(self.account_id.clone(), self.region.clone()));
        registry.require_blobs = self.require_blobs;
        registry.limits = self.limits;
        Endpoint::new(
            registry,
            self.profile.clone(),
            self.verify_signatures.clone(),
        )
        .with_blob_redirect(self.blob_redirect)
        .with_push_as(self.push_as)
    }
}
