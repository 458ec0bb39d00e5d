//! Plain requests to a server's registry API (`/v2/...`), for the pull probes of `check`:
//! redirects followed (a blob may answer `307` to a pre-signed URL), bodies bounded, nothing
//! judged.

use http::HeaderMap;

use crate::wire::MAX_BODY_BYTES;

use super::{HttpTarget, TransportError, chain};

/// One registry API answer, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The request: method and URL.
    pub request: String,
    /// HTTP status (of the last answer, when redirected).
    pub status: u16,
    /// Answer headers.
    pub headers: HeaderMap,
    /// Answer body.
    pub body: Vec<u8>,
}

impl HttpTarget {
    /// Sends `method` (`GET` or `HEAD`) for `url` with `headers` (repeated names are sent as
    /// several lines).
    pub async fn fetch(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Fetched, TransportError> {
        let http_error = |e: reqwest::Error| TransportError::Http {
            operation: "registry API",
            url: url.to_owned(),
            reason: chain(&e),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.client.request(method.clone(), url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut response = builder.send().await.map_err(http_error)?;
        let status = response.status().as_u16();
        let answer_headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_error)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(TransportError::TooLarge {
                    operation: "registry API",
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            request: format!("{method} {url}"),
            status,
            headers: answer_headers,
            body,
        })
    }
}
