//! The system under test, over HTTP: signing, timeouts, retries of throttling, a bound on the
//! answer's size. The only networked layer besides `serve`.

mod aws;
mod bounds;
mod flight;
mod pace;
mod registry;
mod spend;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

pub use aws::{AwsConfig, AwsConfigError};
pub use bounds::{
    ONE_MANIFEST_ANSWER_BYTES, PAGE_ANSWER_BYTES, REGISTRY_ANSWER_BYTES, SMALL_ANSWER_BYTES,
    answer_bound, request_bound,
};
pub use pace::{RateError, RateRule, Rates};
pub use registry::{Fetched, MAX_REDIRECTS};
pub use spend::Spend;

use crate::oracle::normalize::is_throttling;
use crate::wire::{self, Credentials, Operation, Signer};

use flight::InFlight;
use pace::Pacer;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Connecting, sending or reading failed (including timeouts).
    #[error("{operation} to {url}: {reason}")]
    Http {
        /// The operation.
        operation: &'static str,
        /// The URL, without its query or user information ([`redact_url`]).
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer was larger than the operation can need ([`answer_bound`]).
    #[error("{operation}: answer over {limit} bytes")]
    TooLarge {
        /// The operation.
        operation: &'static str,
        /// The bound it went over.
        limit: usize,
    },
    /// A registry API redirect that a pull client does not follow: to another scheme than
    /// http or https, from https to http, or one hop too many.
    #[error("{operation} to {url}: redirect not followed: {reason}")]
    Redirect {
        /// The operation.
        operation: &'static str,
        /// The URL redirected from, without its query or user information.
        url: String,
        /// Why it was not followed.
        reason: String,
    },
    /// The request could not be signed.
    #[error(transparent)]
    Sign(#[from] wire::SignError),
    /// A CA bundle could not be read or holds no certificate.
    #[error("CA bundle {path}: {reason}")]
    CaBundle {
        /// The bundle's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// How the endpoint's TLS certificate is checked: against the built-in roots (the default),
/// plus the certificates of a CA bundle, or not at all.
#[derive(Clone, Default)]
pub struct Tls {
    roots: Vec<reqwest::Certificate>,
    verify: Verify,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Verify {
    #[default]
    Yes,
    No,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("extra_roots", &self.roots.len())
            .field("verify", &(self.verify == Verify::Yes))
            .finish()
    }
}

impl Tls {
    /// Also trusts every certificate of the PEM bundle at `path` (what `AWS_CA_BUNDLE` and
    /// `--ca-bundle` name), such as the private CA of an emulator or a proxy.
    pub fn ca_bundle(mut self, path: &Path) -> Result<Self, TransportError> {
        let bad = |reason: String| TransportError::CaBundle {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(chain(&e)))?;
        if certificates.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        self.roots.extend(certificates);
        Ok(self)
    }

    /// Accepts any certificate, for any name (`--no-verify-ssl`): the connection is still
    /// encrypted, but anyone on the way can read and change it.
    pub fn no_verify(mut self) -> Self {
        self.verify = Verify::No;
        self
    }
}

/// Whether `url` is on this machine (a loopback address or `localhost`).
pub fn is_loopback(url: &str) -> bool {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `url` without its user information, query and fragment, which can hold secrets (a
/// pre-signed URL's `X-Amz-Signature`, `X-Amz-Credential` and `X-Amz-Security-Token`): the
/// form every URL takes in a [`TransportError`]. Text that is not a URL is cut at its first
/// `?` or `#`, and before its last `@`.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        _ => {
            let end = url.find(['?', '#']).unwrap_or(url.len());
            let url = &url[..end];
            url.rfind('@').map_or(url, |at| &url[at + 1..]).to_owned()
        }
    }
}

/// A reqwest error as a [`TransportError::Http`]: the URL redacted, and reqwest's own text
/// (which names the URL it was sending to) without it.
pub(crate) fn http_error(operation: &'static str, url: &str, e: reqwest::Error) -> TransportError {
    TransportError::Http {
        operation,
        url: redact_url(url),
        reason: chain(&e.without_url()),
    }
}

/// Reads `response`'s body, refusing it as soon as it is over `limit` bytes (by its
/// `Content-Length`, before reading, or while reading).
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
    operation: &'static str,
    url: &str,
) -> Result<Vec<u8>, TransportError> {
    let too_large = TransportError::TooLarge { operation, limit };
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| http_error(operation, url, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its sources, as one line: reqwest's "error sending request" says why only in
/// its source (a timeout, a refused connection).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A request as sent (secrets redacted) and the answer as received.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The operation.
    pub operation: Operation,
    /// The request body.
    pub request_body: Vec<u8>,
    /// HTTP status.
    pub status: u16,
    /// Answer headers.
    pub headers: HeaderMap,
    /// Answer body.
    pub body: Vec<u8>,
    /// Throttled attempts retried before this answer.
    pub retries: u32,
}

/// An ECR endpoint reached over HTTP. Clones share the signer and the pacer, so requests
/// sent concurrently through clones are paced together.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    url: String,
    /// `host[:port]` of the URL, as signed.
    host: Option<String>,
    region: String,
    signer: Option<Arc<Signer>>,
    client: reqwest::Client,
    max_retries: u32,
    pacer: Arc<Pacer>,
    flight: InFlight,
    spend: Spend,
    tap: Option<Arc<dyn Tap>>,
}

/// Sees every exchange a target completes, as it completes: what `check --record` and
/// `check --against` keep. A tap only watches; it cannot change a request or an answer.
pub trait Tap: Send + Sync + std::fmt::Debug {
    /// An AWS JSON API exchange (`signed`: whether the request carried a signature).
    fn aws(&self, exchange: &Exchange, signed: bool);
    /// A registry API exchange: the request's method, URL and headers, and the answer (of the
    /// last hop, when redirected).
    fn registry(&self, method: &str, url: &str, headers: &[(&str, String)], answer: &Fetched);
}

impl HttpTarget {
    /// A target at `url` in `region`; requests are signed when `credentials` are given.
    pub fn new(
        url: &str,
        region: &str,
        credentials: Option<Credentials>,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        Self::with_tls(url, region, credentials, timeout, &Tls::default())
    }

    /// [`new`](Self::new), with the certificate checked as `tls` says.
    pub fn with_tls(
        url: &str,
        region: &str,
        credentials: Option<Credentials>,
        timeout: Duration,
        tls: &Tls,
    ) -> Result<Self, TransportError> {
        // ECR never redirects an API call: a 3xx is an answer to judge, never a hop that would
        // re-send the signed body and the session token elsewhere. Registry API redirects are
        // followed by hand (`registry.rs`), as a pull client follows them.
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(tls.verify == Verify::No);
        for root in &tls.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build().map_err(|e| http_error("setup", url, e))?;
        let url = url.trim_end_matches('/').to_owned() + "/";
        let host = reqwest::Url::parse(&url).ok().and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        });
        let pacer = Arc::new(Pacer::new(&Rates::default_for(is_loopback(&url))));
        Ok(Self {
            url,
            host,
            region: region.to_owned(),
            signer: credentials.map(|c| Arc::new(Signer::new(c))),
            client,
            max_retries: 6,
            pacer,
            flight: InFlight::unlimited(),
            spend: Spend::default(),
            tap: None,
        })
    }

    /// Paces requests at `rates` instead of the default: ECR's quotas for an endpoint off this
    /// machine, no limit on loopback ([`Rates::default_for`]).
    pub fn paced(mut self, rates: &Rates) -> Self {
        self.pacer = Arc::new(Pacer::new(rates));
        self
    }

    /// Keeps at most `writes` requests that may change the server's state, and at most
    /// `reads` that only read, in flight at once across this target and its clones (each at
    /// least 1; default: no limit).
    pub fn in_flight(mut self, writes: usize, reads: usize) -> Self {
        self.flight = InFlight::new(writes, reads);
        self
    }

    /// The requests sent so far through this target and its clones, by operation.
    pub fn spend(&self) -> &Spend {
        &self.spend
    }

    /// Shows every completed exchange to `tap` (shared by every clone of the target).
    pub fn tapped(mut self, tap: Arc<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The credentials, if requests are signed.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.signer.as_deref().map(Signer::credentials)
    }

    /// Whether the endpoint is on this machine (a loopback address or `localhost`).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.url)
    }

    /// Sends `body` as `operation`, paced at the target's rates, retrying throttling with
    /// exponential backoff (and slowing that operation down).
    pub async fn send(
        &self,
        operation: Operation,
        body: Vec<u8>,
    ) -> Result<Exchange, TransportError> {
        self.send_with(operation, body, true).await
    }

    /// Sends without signing, for the ROBUST-AUTH probe.
    pub async fn send_unsigned(
        &self,
        operation: Operation,
        body: Vec<u8>,
    ) -> Result<Exchange, TransportError> {
        self.send_with(operation, body, false).await
    }

    async fn send_with(
        &self,
        operation: Operation,
        body: Vec<u8>,
        signed: bool,
    ) -> Result<Exchange, TransportError> {
        let mut retries = 0;
        loop {
            self.pacer.acquire(operation).await;
            let slot = self.flight.enter(!operation.is_read()).await;
            let (status, headers, answer) = self.attempt(operation, &body, signed).await?;
            drop(slot);
            let code = headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(wire::clean_error_name)
                .map(str::to_owned);
            // Only an error can be throttling: a success body is not parsed here.
            let body_code = (status >= 400)
                .then(|| wire::error_members(&answer))
                .flatten()
                .and_then(|m| m.error_type)
                .map(|t| wire::clean_error_name(&t).to_owned());
            let throttled =
                status >= 400 && is_throttling(status, body_code.as_deref().or(code.as_deref()));
            match throttled {
                true => self.pacer.throttled(operation),
                false => self.pacer.answered(operation),
            }
            if throttled && retries < self.max_retries {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(10 << retries)).await;
                continue;
            }
            let exchange = Exchange {
                operation,
                request_body: body,
                status,
                headers,
                body: answer,
                retries,
            };
            if let Some(tap) = &self.tap {
                tap.aws(&exchange, signed && self.signer.is_some());
            }
            return Ok(exchange);
        }
    }

    async fn attempt(
        &self,
        operation: Operation,
        body: &[u8],
        signed: bool,
    ) -> Result<(u16, HeaderMap, Vec<u8>), TransportError> {
        self.spend.add(operation.name());
        let request = wire::encode_raw(operation, body.to_vec());
        let mut builder = self.client.post(&self.url);
        let mut headers: Vec<(String, String)> = request
            .headers
            .iter()
            .filter(|(k, _)| *k != "Content-Length")
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        if let (true, Some(signer)) = (signed, &self.signer) {
            let mut signed_headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(host) = &self.host {
                signed_headers.push(("host", host.as_str()));
            }
            let (added, _) = signer.sign(
                &self.region,
                "POST",
                &self.url,
                &signed_headers,
                body,
                SystemTime::now(),
            )?;
            headers.extend(added);
        }
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = builder
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| http_error(operation.name(), &self.url, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = request_bound(operation, body);
        let answer = read_bounded(response, limit, operation.name(), &self.url).await?;
        Ok((status, headers, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_url_loses_its_query_fragment_and_user_information() {
        let presigned = "https://AKID:secret@bucket.s3.amazonaws.com/sha256/ab?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101&X-Amz-Security-Token=tok&X-Amz-Signature=f00d#frag";
        assert_eq!(
            redact_url(presigned),
            "https://bucket.s3.amazonaws.com/sha256/ab"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:5000/v2/"),
            "http://127.0.0.1:5000/v2/"
        );
        // Not a URL: cut all the same.
        assert_eq!(redact_url("user:pw@host/p?X-Amz-Signature=f00d"), "host/p");
    }
}
