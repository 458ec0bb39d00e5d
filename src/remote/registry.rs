//! Plain requests to a server's registry API (`/v2/...`), for the pull probes of `check`:
//! redirects followed as a pull client follows them (a blob may answer `307` to a pre-signed
//! URL), bodies bounded, nothing judged.

use http::HeaderMap;
use reqwest::Url;

use super::{HttpTarget, REGISTRY_ANSWER_BYTES, TransportError, http_error, read_bounded};

/// The most redirects one registry API request follows: the limit of Go's `net/http` client,
/// which docker and containerd pull with (it stops at the tenth redirect); ECR itself
/// redirects a blob once, to S3.
pub const MAX_REDIRECTS: usize = 10;

const OPERATION: &str = "registry API";

/// One registry API answer, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The request: method and URL (the one asked for, not where a redirect led).
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
    /// several lines). A redirect is followed for at most [`MAX_REDIRECTS`] hops, to http or
    /// https only and never from https to http, and without the `Authorization` header: the
    /// registry's credentials are never sent where it redirects (as docker and containerd
    /// drop them for ECR's redirects to S3).
    pub async fn fetch(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Fetched, TransportError> {
        self.fetch_up_to(method, url, headers, REGISTRY_ANSWER_BYTES)
            .await
    }

    /// As [`HttpTarget::fetch`], reading at most `limit` bytes of the answer (the push
    /// probes fetch back a blob over [`REGISTRY_ANSWER_BYTES`]).
    pub async fn fetch_up_to(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        limit: usize,
    ) -> Result<Fetched, TransportError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut current = url.to_owned();
        let mut hops = 0;
        let write = !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        let _slot = self.flight.enter(write).await;
        loop {
            self.spend
                .add(&super::spend::registry_operation(method.as_str(), &current));
            let mut builder = self.client.request(method.clone(), &current);
            for (name, value) in headers {
                if hops > 0 && name.eq_ignore_ascii_case("authorization") {
                    continue;
                }
                builder = builder.header(*name, value.as_str());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| http_error(OPERATION, &current, e))?;
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            if let Some(next) = next_hop(&current, response.status(), location)? {
                if hops == MAX_REDIRECTS {
                    return Err(refused(
                        &current,
                        format!("more than {MAX_REDIRECTS} redirects"),
                    ));
                }
                hops += 1;
                current = next;
                continue;
            }
            let status = response.status().as_u16();
            let answer_headers = response.headers().clone();
            let body = read_bounded(response, limit, OPERATION, &current).await?;
            let fetched = Fetched {
                request: format!("{method} {url}"),
                status,
                headers: answer_headers,
                body,
            };
            if let Some(tap) = &self.tap {
                tap.registry(method.as_str(), url, headers, &fetched);
            }
            return Ok(fetched);
        }
    }
}

impl HttpTarget {
    /// Sends a registry-API write (`POST`, `PATCH`, `PUT`, `DELETE` of the push path) of `body`
    /// to `url` with `headers`; no redirect is followed (a push is answered where it is sent),
    /// and the answer is bounded as every registry answer is.
    pub async fn push(
        &self,
        method: &str,
        url: &str,
        sent: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Fetched, TransportError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::PUT);
        let _slot = self.flight.enter(true).await;
        self.spend
            .add(&super::spend::registry_operation(method.as_str(), url));
        let mut builder = self.client.request(method.clone(), url).body(body);
        for (name, value) in sent {
            builder = builder.header(*name, value.as_str());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| http_error(OPERATION, url, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_bounded(response, REGISTRY_ANSWER_BYTES, OPERATION, url).await?;
        let fetched = Fetched {
            request: format!("{method} {url}"),
            status,
            headers,
            body,
        };
        if let Some(tap) = &self.tap {
            tap.registry(method.as_str(), url, sent, &fetched);
        }
        Ok(fetched)
    }
}

/// Where an answer of `status` with `location` to a request for `from` redirects to, if it
/// is a redirect with a `Location`; an error for a redirect a pull client does not follow.
fn next_hop(
    from: &str,
    status: reqwest::StatusCode,
    location: Option<&str>,
) -> Result<Option<String>, TransportError> {
    let Some(location) = location.filter(|_| status.is_redirection()) else {
        return Ok(None);
    };
    let base = Url::parse(from).map_err(|e| refused(from, e.to_string()))?;
    let next = base
        .join(location)
        .map_err(|e| refused(from, format!("Location is not a URL: {e}")))?;
    match (base.scheme(), next.scheme()) {
        ("https", "http") => Err(refused(from, "from https to http".into())),
        (_, "http" | "https") => Ok(Some(next.into())),
        (_, other) => Err(refused(from, format!("to a {other}: URL"))),
    }
}

fn refused(url: &str, reason: String) -> TransportError {
    TransportError::Redirect {
        operation: OPERATION,
        url: super::redact_url(url),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn a_redirect_is_followed_to_http_or_https_never_from_https_to_http() {
        let hop = |from: &str, status: u16, to: Option<&str>| {
            next_hop(from, StatusCode::from_u16(status).expect("a status"), to)
        };
        let from = "https://r.example/v2/a/blobs/sha256:1";
        let s3 = "https://bucket.s3.example/x?X-Amz-Signature=f00d";
        assert_eq!(
            hop(from, 307, Some(s3)).expect("followed").as_deref(),
            Some(s3)
        );
        assert_eq!(
            hop(from, 302, Some("/elsewhere"))
                .expect("followed")
                .as_deref(),
            Some("https://r.example/elsewhere")
        );
        assert_eq!(
            hop("http://r/v2/", 301, Some("https://s/"))
                .expect("followed")
                .as_deref(),
            Some("https://s/")
        );
        assert_eq!(hop(from, 200, Some(s3)).expect("not a redirect"), None);
        assert_eq!(hop(from, 307, None).expect("nowhere to go"), None);
        for refused in [
            "http://bucket.s3.example/x?X-Amz-Signature=f00d",
            "file:///etc/passwd",
        ] {
            let error = hop(from, 307, Some(refused))
                .expect_err("refused")
                .to_string();
            assert!(!error.contains("f00d"), "{error}");
            assert!(error.contains("redirect not followed"), "{error}");
        }
    }
}
