//! The Docker/OCI distribution API ("registry API", spec `registry-api.md`) that pull clients
//! speak under `/v2/`: its routes, the `Accept` list, Basic credentials, the error envelope
//! and the tag list, as types (the shapes are `oci-spec`'s).
//!
//! No I/O and no policy: a path becomes a [`Route`] or a [`RouteError`], headers become an
//! Accept list or an [`AcceptError`]; whether an answer is right is the oracle's business.

use base64::Engine as _;
use http::HeaderMap;
pub use oci_spec::distribution::{ErrorCode, ErrorInfo, ErrorResponse, TagList, TagListBuilder};

/// The header every registry answer carries, and its value.
pub const API_VERSION_HEADER: &str = "docker-distribution-api-version";
/// The value of [`API_VERSION_HEADER`].
pub const API_VERSION: &str = "registry/2.0";
/// The header naming the digest of a manifest or blob.
pub const DIGEST_HEADER: &str = "docker-content-digest";
/// The longest request path (and query) read: anything longer is refused.
pub const MAX_PATH_BYTES: usize = 8192;
/// The most bytes of `Accept` header lines read: anything longer is refused.
pub const MAX_ACCEPT_BYTES: usize = 16 * 1024;

/// What a request under `/v2/` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `/v2/`: the version check.
    Ping,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// The repository name.
        name: String,
        /// A tag or a digest.
        reference: Reference,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// The repository name.
        name: String,
        /// The digest as sent.
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/`: starting an upload, with its `digest` (a single-request
    /// upload), `mount` and `from` (a cross-repository mount) as sent.
    UploadStart {
        /// The repository name.
        name: String,
        /// `digest` as sent.
        digest: Option<String>,
        /// `mount` as sent.
        mount: Option<String>,
        /// `from` as sent.
        from: Option<String>,
    },
    /// `/v2/<name>/blobs/uploads/<id>`: an upload in progress, with the `digest` that
    /// completes it, as sent.
    Upload {
        /// The repository name.
        name: String,
        /// The upload id.
        id: String,
        /// `digest` as sent.
        digest: Option<String>,
    },
    /// `/v2/<name>/tags/list`, with its `n` and `last`.
    Tags {
        /// The repository name.
        name: String,
        /// `n` as sent.
        n: Option<String>,
        /// `last` as sent.
        last: Option<String>,
    },
}

/// A manifest reference: a digest when it has a `:`, else a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// A digest, as sent.
    Digest(String),
}

impl Reference {
    /// A reference as it appears in a path.
    pub fn parse(s: &str) -> Self {
        match s.contains(':') {
            true => Reference::Digest(s.to_owned()),
            false => Reference::Tag(s.to_owned()),
        }
    }

    /// The reference as it appears in a path.
    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(s) | Reference::Digest(s) => s,
        }
    }
}

/// A path under `/v2/` that names nothing the registry API serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The path and query are longer than [`MAX_PATH_BYTES`].
    #[error("request path of {0} bytes is over the limit of {MAX_PATH_BYTES}")]
    TooLong(usize),
    /// A `.` or `..` segment, an empty segment, or an escape that is not UTF-8 text.
    #[error("request path has an empty, `.` or `..` segment, or an undecodable escape")]
    BadPath,
    /// A path the API does not define.
    #[error("no registry API endpoint at this path")]
    Unknown,
}

/// Whether a request path belongs to the registry API (`/v2` and below).
pub fn is_registry_path(path_and_query: &str) -> bool {
    let path = path_and_query.split('?').next().unwrap_or_default();
    path == "/v2" || path.starts_with("/v2/")
}

/// The route of a registry API request path (with its query, if any).
pub fn route(path_and_query: &str) -> Result<Route, RouteError> {
    if path_and_query.len() > MAX_PATH_BYTES {
        return Err(RouteError::TooLong(path_and_query.len()));
    }
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let path = percent_decode(path).ok_or(RouteError::BadPath)?;
    let rest = match path.as_str() {
        "/v2" | "/v2/" => return Ok(Route::Ping),
        p => p.strip_prefix("/v2/").ok_or(RouteError::Unknown)?,
    };
    if let Some(upload) = upload_route(rest, query) {
        return upload;
    }
    if rest
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(RouteError::BadPath);
    }
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags {
            name: name.to_owned(),
            n: query_value(query, "n"),
            last: query_value(query, "last"),
        });
    }
    let (name, kind, last) = split_last_two(rest).ok_or(RouteError::Unknown)?;
    match kind {
        "manifests" => Ok(Route::Manifest {
            name: name.to_owned(),
            reference: Reference::parse(last),
        }),
        "blobs" => Ok(Route::Blob {
            name: name.to_owned(),
            digest: last.to_owned(),
        }),
        _ => Err(RouteError::Unknown),
    }
}

/// The route of `<name>/blobs/uploads/` and `<name>/blobs/uploads/<id>`, if `rest` is one.
fn upload_route(rest: &str, query: &str) -> Option<Result<Route, RouteError>> {
    let start = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"));
    if let Some(name) = start {
        let bad = name.is_empty()
            || name
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        return Some(match bad {
            true => Err(RouteError::BadPath),
            false => Ok(Route::UploadStart {
                name: name.to_owned(),
                digest: query_value(query, "digest"),
                mount: query_value(query, "mount"),
                from: query_value(query, "from"),
            }),
        });
    }
    let (head, id) = rest.rsplit_once('/')?;
    let name = head.strip_suffix("/blobs/uploads")?;
    if name.is_empty() || id.is_empty() {
        return None;
    }
    Some(Ok(Route::Upload {
        name: name.to_owned(),
        id: id.to_owned(),
        digest: query_value(query, "digest"),
    }))
}

/// The byte range of a chunk, from `Content-Range: <start>-<end>` (with or without a
/// `bytes ` prefix or a `/<total>` suffix, as clients send it): `None` when it cannot be
/// read, such as an end before its start or numbers past `u64`.
pub fn content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value
        .strip_prefix("bytes")
        .map_or(value, |v| v.trim_start_matches([' ', '=']));
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    let (start, end) = (
        start.trim().parse::<u64>().ok()?,
        end.trim().parse::<u64>().ok()?,
    );
    (start <= end).then_some((start, end))
}

/// The header naming an upload's id (`Docker-Upload-UUID`).
pub const UPLOAD_UUID_HEADER: &str = "docker-upload-uuid";

/// `TAG_INVALID`, the code ECR gives for a push that would move an immutable tag: the
/// distribution spec's list (and so [`ErrorCode`]) does not have it.
pub const TAG_INVALID: &str = "TAG_INVALID";

/// The error envelope with a code given as text, for codes [`ErrorCode`] does not list.
pub fn encode_registry_error_text(code: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Every `code` of an error envelope, as text, whatever the code (`TAG_INVALID` included);
/// empty when the body is no envelope.
pub fn registry_error_codes(body: &[u8]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `a/b/manifests/ref` as (`a/b`, `manifests`, `ref`).
fn split_last_two(rest: &str) -> Option<(&str, &str, &str)> {
    let (head, last) = rest.rsplit_once('/')?;
    let (name, kind) = head.rsplit_once('/')?;
    Some((name, kind, last))
}

/// The value of `key` in a query string, percent-decoded (`+` is a space).
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| percent_decode(&v.replace('+', " ")))
}

/// `%XX` escapes decoded; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `Accept` headers that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// More than [`MAX_ACCEPT_BYTES`] of `Accept` lines.
    #[error("Accept headers of {0} bytes are over the limit of {MAX_ACCEPT_BYTES}")]
    TooLarge(usize),
    /// A line that is not visible ASCII text.
    #[error("an Accept header is not ASCII text")]
    NotText,
}

/// The media types of every `Accept` line, in order, each once: lines and comma-separated
/// entries alike, parameters dropped, entries with `q=0` and wildcards (`*/*`, `type/*`)
/// left out. Empty when nothing specific is accepted.
pub fn accepted_media_types(headers: &HeaderMap) -> Result<Vec<String>, AcceptError> {
    let lines = headers.get_all(http::header::ACCEPT);
    let size: usize = lines.iter().map(|v| v.len()).sum();
    if size > MAX_ACCEPT_BYTES {
        return Err(AcceptError::TooLarge(size));
    }
    let mut types: Vec<String> = Vec::new();
    for line in lines {
        let line = line.to_str().map_err(|_| AcceptError::NotText)?;
        for entry in line.split(',') {
            let mut parts = entry.split(';').map(str::trim);
            let media_type = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f64>() == Ok(0.0)
                })
            });
            let wildcard = media_type.ends_with("/*") || !media_type.contains('/');
            if !refused && !wildcard && !types.iter().any(|t| t == media_type) {
                types.push(media_type.to_owned());
            }
        }
    }
    Ok(types)
}

/// The password of `Authorization: Basic base64(AWS:<password>)`, with its user name.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The error envelope `{"errors":[{"code","message"}]}`.
pub fn encode_registry_error(code: ErrorCode, message: &str) -> Vec<u8> {
    let code = serde_json::to_value(&code).unwrap_or_default();
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// An error envelope whose every code is a distribution error code, or why it is not one.
pub fn parse_registry_error(body: &[u8]) -> Result<ErrorResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The target of a `Link: <url>; rel="next"` header value.
pub fn next_link(value: &str) -> Option<&str> {
    value.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                p.trim()
                    .strip_prefix("rel=")
                    .is_some_and(|r| r.trim_matches('"') == "next")
            })
            .then_some(target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(http::header::ACCEPT, line.parse().unwrap());
        }
        headers
    }

    #[test]
    fn every_accept_line_and_comma_entry_counts_once_without_parameters() {
        let headers = accept(&[
            "application/vnd.oci.image.manifest.v1+json; q=0.5, application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "*/*, application/vnd.docker.distribution.manifest.v1+json;q=0",
        ]);
        assert_eq!(
            accepted_media_types(&headers).unwrap(),
            [
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json"
            ]
        );
    }

    #[test]
    fn routes_split_names_with_slashes_from_their_endpoint() {
        assert_eq!(
            route("/v2/team/app/manifests/sha256:ab").unwrap(),
            Route::Manifest {
                name: "team/app".into(),
                reference: Reference::Digest("sha256:ab".into())
            }
        );
        assert_eq!(
            route("/v2/a/tags/list?n=2&last=x%3D").unwrap(),
            Route::Tags {
                name: "a".into(),
                n: Some("2".into()),
                last: Some("x=".into())
            }
        );
        assert_eq!(route("/v2/").unwrap(), Route::Ping);
        assert_eq!(route("/v2/a/../b/blobs/x"), Err(RouteError::BadPath));
        assert_eq!(route("/v2/a/%2e%2e/blobs/x"), Err(RouteError::BadPath));
        assert_eq!(route("/v2/a/uploads"), Err(RouteError::Unknown));
    }

    #[test]
    fn upload_routes_keep_their_query_and_names_with_slashes() {
        assert_eq!(
            route("/v2/team/app/blobs/uploads/?mount=sha256:ab&from=x").unwrap(),
            Route::UploadStart {
                name: "team/app".into(),
                digest: None,
                mount: Some("sha256:ab".into()),
                from: Some("x".into())
            }
        );
        assert_eq!(
            route("/v2/a/blobs/uploads/u-1?digest=sha256%3Aab").unwrap(),
            Route::Upload {
                name: "a".into(),
                id: "u-1".into(),
                digest: Some("sha256:ab".into())
            }
        );
        assert_eq!(route("/v2//blobs/uploads/"), Err(RouteError::BadPath));
        assert_eq!(content_range("0-9"), Some((0, 9)));
        assert_eq!(content_range("bytes 10-19/*"), Some((10, 19)));
        assert_eq!(content_range("9-0"), None);
        assert_eq!(content_range("0-99999999999999999999"), None);
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let value = r#"</v2/a/tags/list?n=1&last=abc>; rel="next""#;
        assert_eq!(next_link(value), Some("/v2/a/tags/list?n=1&last=abc"));
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
