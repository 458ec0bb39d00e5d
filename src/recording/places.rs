//! What a recording writes instead of the values of one run: placeholders for the run's
//! prefix and the server's URLs ([`Places`]), kinds instead of tokens and pre-signed URLs
//! ([`scrub_body`], [`scrub_header`]), and the fields a comparison skips because they change
//! from run to run ([`VOLATILE_MEMBERS`], [`COMPARED_HEADERS`]).

use std::sync::LazyLock;

use regex::Regex;

/// The run's prefix, as written.
pub const PREFIX: &str = "{prefix}";
/// The endpoint's URL (scheme, host, port), as written.
pub const ENDPOINT: &str = "{endpoint}";
/// The endpoint's `host[:port]`, as written.
pub const ENDPOINT_HOST: &str = "{endpoint-host}";
/// The registry API's URL, when it is not the endpoint's, as written.
pub const REGISTRY: &str = "{registry}";
/// The registry API's `host[:port]`, when it is not the endpoint's, as written.
pub const REGISTRY_HOST: &str = "{registry-host}";
/// What a pre-signed URL's query becomes.
pub const SIGNED_QUERY: &str = "{signed-query}";
/// What a GetAuthorizationToken token becomes: base64 of `AWS:recorded`, so that a replay
/// still reads a user and a password from it.
pub const RECORDED_TOKEN: &str = "QVdTOnJlY29yZGVk";

/// JSON members whose values change from run to run (times, ids of the moment, tokens, the
/// account and what names it): recorded, never compared.
pub const VOLATILE_MEMBERS: [&str; 15] = [
    "authorizationToken",
    "nextToken",
    "expiresAt",
    "proxyEndpoint",
    "imagePushedAt",
    "createdAt",
    "lastRecordedPullTime",
    "lastActivatedAt",
    "lastArchivedAt",
    "uploadId",
    "registryId",
    "repositoryArn",
    "repositoryUri",
    "downloadUrl",
    "requestId",
];

/// The answer headers a comparison looks at: those a client acts on. The rest (dates,
/// request ids, lengths, connection management, upload locations) change from run to run or
/// from server to server without meaning anything.
pub const COMPARED_HEADERS: [&str; 7] = [
    "content-type",
    "x-amzn-errortype",
    "docker-content-digest",
    "docker-distribution-api-version",
    "www-authenticate",
    "link",
    "range",
];

/// What an opaque pagination token becomes in a request's key: a server hands out tokens of
/// its own, different each run.
pub const TOKEN: &str = "{token}";

static PAGE_QUERY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("([?&]last=)[^&>]*").expect("a valid pattern"));
static SERVER_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(nextToken|uploadId)"\s*:\s*"[^"]*""#).expect("a valid pattern")
});
static UPLOAD_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("(/blobs/uploads/)[^/?#>]+").expect("a valid pattern"));

/// `text` (a registry path, a `Link` header, an AWS JSON body) with the ids a server hands
/// out and a client sends back written as [`TOKEN`]: pagination tokens (`last=` in a query,
/// `nextToken` in a body) and upload ids (`uploadId` in a body, the upload's path segment).
pub fn without_tokens(text: &str) -> String {
    let text = PAGE_QUERY.replace_all(text, format!("${{1}}{TOKEN}"));
    let text = UPLOAD_PATH.replace_all(&text, format!("${{1}}{TOKEN}"));
    SERVER_ID
        .replace_all(&text, format!(r#""${{1}}":"{TOKEN}""#))
        .into_owned()
}

static PREFIX_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("ecr-contract-[0-9a-f]{8}").expect("a valid pattern"));

/// Everything a comparison skips, as `recording.json` lists it.
pub fn volatile_names() -> Vec<String> {
    VOLATILE_MEMBERS
        .iter()
        .map(|m| format!("member {m}"))
        .chain(std::iter::once(format!(
            "every header but {}",
            COMPARED_HEADERS.join(", ")
        )))
        .collect()
}

/// The values of one run that a recording writes as placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    prefix: Option<String>,
    endpoint: (String, String),
    registry: Option<(String, String)>,
}

impl Places {
    /// The places of a run against `endpoint`, its registry API at `registry` when elsewhere.
    pub fn new(endpoint: &str, registry: Option<&str>) -> Self {
        let endpoint = url_and_host(endpoint);
        let registry = registry.map(url_and_host).filter(|r| *r != endpoint);
        Self {
            prefix: None,
            endpoint,
            registry,
        }
    }

    /// Takes the run's prefix from the first text that names one.
    pub fn learn_prefix(&mut self, text: &[u8]) {
        if self.prefix.is_none() {
            let text = String::from_utf8_lossy(text);
            self.prefix = PREFIX_PATTERN.find(&text).map(|m| m.as_str().to_owned());
        }
    }

    /// The run's prefix, once learned.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn pairs(&self) -> Vec<(&str, &'static str)> {
        let mut pairs = Vec::new();
        if let Some(prefix) = &self.prefix {
            pairs.push((prefix.as_str(), PREFIX));
        }
        if let Some((url, host)) = &self.registry {
            pairs.push((url.as_str(), REGISTRY));
            pairs.push((host.as_str(), REGISTRY_HOST));
        }
        pairs.push((self.endpoint.0.as_str(), ENDPOINT));
        pairs.push((self.endpoint.1.as_str(), ENDPOINT_HOST));
        pairs.retain(|(value, _)| !value.is_empty());
        pairs
    }

    /// `text` with this run's values replaced by placeholders (URLs before hosts).
    pub fn out(&self, text: &str) -> String {
        self.pairs()
            .into_iter()
            .fold(text.to_owned(), |text, (value, place)| {
                text.replace(value, place)
            })
    }

    /// `text` with placeholders replaced by this run's values.
    pub fn back(&self, text: &str) -> String {
        let mut pairs = self.pairs();
        if self.registry.is_none() {
            // A recording made with a registry elsewhere, replayed where there is one server.
            pairs.push((self.endpoint.0.as_str(), REGISTRY));
            pairs.push((self.endpoint.1.as_str(), REGISTRY_HOST));
        }
        pairs
            .into_iter()
            .fold(text.to_owned(), |text, (value, place)| {
                text.replace(place, value)
            })
    }

    /// [`out`](Self::out) on a body, when it is text; other bytes are kept as they are.
    pub fn out_bytes(&self, body: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(body) {
            Ok(text) => self.out(text).into_bytes(),
            Err(_) => body.to_vec(),
        }
    }

    /// [`back`](Self::back) on a body, when it is text.
    pub fn back_bytes(&self, body: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(body) {
            Ok(text) => self.back(text).into_bytes(),
            Err(_) => body.to_vec(),
        }
    }
}

/// `url` without a trailing `/`, and its `host[:port]`.
fn url_and_host(url: &str) -> (String, String) {
    let url = url.trim_end_matches('/').to_owned();
    let host = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_default();
    (url, host)
}

/// The path and query of `url`, or `url` itself when it is not one.
pub fn path_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// Whether `text` is a URL whose query signs it (S3's and ECR's pre-signed URLs).
fn is_signed_url(text: &str) -> bool {
    let Some((_, query)) = text.split_once('?') else {
        return false;
    };
    [
        "X-Amz-Signature=",
        "X-Amz-Credential=",
        "X-Amz-Security-Token=",
        "Signature=",
    ]
    .iter()
    .any(|p| query.contains(p))
}

fn unsigned(text: &str) -> String {
    match text.split_once('?') {
        Some((base, _)) if is_signed_url(text) => format!("{base}?{SIGNED_QUERY}"),
        _ => text.to_owned(),
    }
}

/// An answer header as a recording keeps it: a pre-signed URL loses its query, a cookie its
/// value.
pub fn scrub_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("set-cookie") {
        return "{cookie}".into();
    }
    unsigned(value)
}

/// An answer body as a recording keeps it: in a JSON body, every `authorizationToken` becomes
/// [`RECORDED_TOKEN`] and every pre-signed URL loses its query; other bodies, and JSON bodies
/// with neither, are kept byte for byte.
pub fn scrub_body(body: &[u8]) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    if scrub_value(&mut value, None) {
        serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
    } else {
        body.to_vec()
    }
}

/// Scrubs `value` (the member `name`'s) in place; whether anything changed.
fn scrub_value(value: &mut serde_json::Value, name: Option<&str>) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) if name == Some("authorizationToken") => {
            let changed = text != RECORDED_TOKEN;
            *text = RECORDED_TOKEN.into();
            changed
        }
        Value::String(text) if is_signed_url(text) => {
            *text = unsigned(text);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| scrub_value(item, name) | changed),
        Value::Object(members) => members
            .iter_mut()
            .fold(false, |changed, (k, v)| scrub_value(v, Some(k)) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_go_out_and_come_back_urls_before_hosts() {
        let mut places = Places::new("http://127.0.0.1:5000/", None);
        places.learn_prefix(br#"{"repositoryName":"ecr-contract-0badf00d/base/team/app"}"#);
        let text = r#"{"repositoryUri":"127.0.0.1:5000/ecr-contract-0badf00d/x","realm":"http://127.0.0.1:5000/token"}"#;
        let out = places.out(text);
        assert_eq!(
            out,
            r#"{"repositoryUri":"{endpoint-host}/{prefix}/x","realm":"{endpoint}/token"}"#
        );
        let mut other = Places::new("http://localhost:9", None);
        other.learn_prefix(b"ecr-contract-12345678");
        assert_eq!(
            other.back(&out),
            r#"{"repositoryUri":"localhost:9/ecr-contract-12345678/x","realm":"http://localhost:9/token"}"#
        );
    }

    #[test]
    fn pagination_tokens_are_written_as_such_in_keys() {
        assert_eq!(
            without_tokens("/v2/a/tags/list?last=MS4zODg3&n=1"),
            "/v2/a/tags/list?last={token}&n=1"
        );
        assert_eq!(
            without_tokens(r#"</v2/a/tags/list?n=1&last=MS4z>; rel="next""#),
            r#"</v2/a/tags/list?n=1&last={token}>; rel="next""#
        );
        assert_eq!(
            without_tokens(r#"{"maxResults":1,"nextToken": "abc"}"#),
            r#"{"maxResults":1,"nextToken":"{token}"}"#
        );
        assert_eq!(
            without_tokens(r#"{"repositoryName":"a","uploadId":"4f1c-9a","partFirstByte":0}"#),
            r#"{"repositoryName":"a","uploadId":"{token}","partFirstByte":0}"#
        );
        assert_eq!(
            without_tokens("/v2/a/blobs/uploads/4f1c-9a?digest=sha256:00"),
            "/v2/a/blobs/uploads/{token}?digest=sha256:00"
        );
    }

    #[test]
    fn tokens_and_signed_urls_are_scrubbed_and_other_bodies_kept_byte_for_byte() {
        let token =
            br#"{"authorizationData":[{"authorizationToken":"QVdTOnNlY3JldA==","expiresAt":1}]}"#;
        let scrubbed = String::from_utf8(scrub_body(token)).expect("text");
        assert!(scrubbed.contains(RECORDED_TOKEN) && !scrubbed.contains("QVdTOnNlY3JldA"));
        let url = br#"{"downloadUrl":"https://b.s3.example/l?X-Amz-Signature=f00d&X-Amz-Credential=AKID"}"#;
        let scrubbed = String::from_utf8(scrub_body(url)).expect("text");
        assert_eq!(
            scrubbed,
            r#"{"downloadUrl":"https://b.s3.example/l?{signed-query}"}"#
        );
        let untouched = br#"{ "images" : [], "failures":[] }"#;
        assert_eq!(scrub_body(untouched), untouched.to_vec());
        assert_eq!(
            scrub_header("location", "https://b/x?X-Amz-Signature=f00d"),
            "https://b/x?{signed-query}"
        );
        assert_eq!(
            scrub_header("link", "</v2/a/tags/list?n=1&last=b>; rel=\"next\""),
            "</v2/a/tags/list?n=1&last=b>; rel=\"next\""
        );
    }
}
