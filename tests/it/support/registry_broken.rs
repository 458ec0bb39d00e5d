//! Registry APIs broken one way each, around the reference endpoint: what the broken-server
//! table of `tests/it/check.rs` runs `check` against, one per `REG-*` rule.

use std::sync::Mutex;

use ecr_contract::model::ImageDigest;
use ecr_contract::serve::Endpoint;
use ecr_contract::wire::registry::{DIGEST_HEADER, Reference, Route, route};
use http::HeaderMap;

use ecr_contract::fuzzing::mutate::RawAnswer;

/// Every mutation, and the rule a server showing it breaks.
pub const REGISTRY_BROKEN: &[(&str, &str)] = &[
    ("no_api_version", "REG-PING"),
    ("bearer_challenge", "REG-AUTH-CHALLENGE"),
    ("deny_everyone", "REG-AUTH-TOKEN"),
    ("challenge_bad_tokens", "REG-AUTH-DENIED"),
    ("reformat_manifest", "REG-MANIFEST-AS-BATCHGETIMAGE"),
    ("ignore_accept", "REG-ACCEPT-NEGOTIATION"),
    ("translate_by_digest", "REG-ACCEPT-BY-DIGEST"),
    ("head_without_digest", "REG-MANIFEST-HEAD"),
    ("digest_of_nothing", "REG-DIGEST-HEADER"),
    ("not_found_as_400", "REG-MANIFEST-UNKNOWN"),
    ("not_found_as_400", "REG-NAME-UNKNOWN"),
    ("plain_text_errors", "REG-ERROR-ENVELOPE"),
    ("corrupt_blobs", "REG-BLOB-BYTES"),
    ("not_found_as_400", "REG-BLOB-UNKNOWN"),
    ("first_page_only", "REG-TAGS-LIST"),
    ("stale_second_store", "REG-SAME-STATE"),
    ("blob_head_without_digest", "REG-BLOB-HEAD"),
    ("ignore_n", "REG-TAGS-LIMITS"),
    ("first_entry_of_each_accept_line", "REG-ACCEPT-NEGOTIATION"),
    ("ignore_q", "REG-ACCEPT-NEGOTIATION"),
    ("upload_start_200", "REG-PUSH-UPLOAD"),
    ("chunk_202", "REG-PUSH-AS-ECR"),
    ("gap_as_400", "REG-PUSH-CHUNK-ORDER"),
    ("completion_errors_as_404", "REG-PUSH-DIGEST"),
    ("mount_as_404", "REG-PUSH-MOUNT"),
    ("pushed_digest_of_nothing", "REG-PUSH-MANIFEST"),
    ("media_type_from_content_type", "REG-PUSH-MANIFEST-TYPE"),
    ("refused_manifests_as_201", "REG-PUSH-REFUSED"),
    ("immutable_tag_as_201", "REG-PUSH-IMMUTABLE"),
    ("absent_repository_as_202", "REG-PUSH-NAME-UNKNOWN"),
    ("delete_ignored", "REG-PUSH-DELETE"),
];

/// The answer of `endpoint`'s registry API to a request, broken by `mutation`.
pub fn answer(
    endpoint: &Endpoint,
    snapshot: &Mutex<Option<Endpoint>>,
    mutation: &str,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> RawAnswer {
    let handle = |uri: &str, headers: &HeaderMap| {
        let reply = endpoint.handle(method, uri, headers, body);
        RawAnswer {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    };
    let mut raw = match mutation {
        "ignore_accept" => {
            let mut without = headers.clone();
            without.remove(http::header::ACCEPT);
            handle(uri, &without)
        }
        "translate_by_digest" => handle(&by_some_tag(endpoint, uri), headers),
        "ignore_n" => handle(&without_n(uri), headers),
        "first_entry_of_each_accept_line" | "ignore_q" => {
            handle(uri, &rewrite_accept(headers, mutation))
        }
        "media_type_from_content_type" if method == "PUT" && uri.contains("/manifests/") => {
            let mut value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.remove("mediaType");
            }
            let mut changed = headers.clone();
            changed.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(
                    "application/vnd.docker.distribution.manifest.v2+json",
                ),
            );
            let body = serde_json::to_vec(&value).expect("JSON");
            let reply = endpoint.handle(method, uri, &changed, &body);
            RawAnswer {
                status: reply.status,
                headers: reply.headers,
                body: reply.body,
            }
        }
        "delete_ignored" if method == "DELETE" && uri.contains("/manifests/") => RawAnswer {
            status: 202,
            headers: vec![],
            body: vec![],
        },
        "stale_second_store" => {
            let mut snapshot = snapshot.lock().expect("the snapshot");
            let stale =
                snapshot.get_or_insert_with(|| Endpoint::from_registry(endpoint.registry()));
            let reply = stale.handle(method, uri, headers, body);
            RawAnswer {
                status: reply.status,
                headers: reply.headers,
                body: reply.body,
            }
        }
        _ => handle(uri, headers),
    };
    let has_token = headers.contains_key(http::header::AUTHORIZATION);
    match mutation {
        "no_api_version" => raw
            .headers
            .retain(|(n, _)| *n != "docker-distribution-api-version"),
        "bearer_challenge" => {
            for (name, value) in &mut raw.headers {
                if *name == "www-authenticate" {
                    *value =
                        r#"Bearer realm="https://auth.example/token",service="registry""#.into();
                }
            }
        }
        "deny_everyone" if has_token => {
            raw.status = 403;
            raw.body = br#"{"errors":[{"code":"DENIED","message":"denied"}]}"#.to_vec();
        }
        "challenge_bad_tokens" if raw.status == 403 => {
            raw.status = 401;
            raw.headers
                .push(("www-authenticate", r#"Basic realm="x""#.into()));
        }
        "reformat_manifest" if raw.status == 200 && uri.contains("/manifests/") => {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&raw.body) {
                raw.body = serde_json::to_vec(&value).expect("JSON");
                set_digest(&mut raw);
            }
        }
        "blob_head_without_digest" if method == "HEAD" && uri.contains("/blobs/") => {
            raw.headers.retain(|(n, _)| *n != DIGEST_HEADER)
        }
        "head_without_digest" if method == "HEAD" => {
            raw.headers.retain(|(n, _)| *n != DIGEST_HEADER)
        }
        "digest_of_nothing" => {
            for (name, value) in &mut raw.headers {
                if *name == DIGEST_HEADER {
                    *value = ImageDigest::of(b"").to_string();
                }
            }
        }
        "not_found_as_400" if raw.status == 404 => raw.status = 400,
        "plain_text_errors" if raw.status >= 400 && raw.status != 401 => {
            raw.body = b"something went wrong".to_vec();
        }
        "corrupt_blobs" if uri.contains("/blobs/") && raw.status == 200 => {
            raw.body.push(b'\n');
        }
        "first_page_only" => raw.headers.retain(|(n, _)| *n != "link"),
        "upload_start_200" if method == "POST" && raw.status == 202 => raw.status = 200,
        "chunk_202" if method == "PATCH" && raw.status == 201 => raw.status = 202,
        "gap_as_400" if raw.status == 416 => raw.status = 400,
        "completion_errors_as_404"
            if method == "PUT" && uri.contains("/blobs/uploads/") && raw.status == 400 =>
        {
            raw.status = 404
        }
        "mount_as_404" if method == "POST" && uri.contains("mount=") => raw.status = 404,
        "pushed_digest_of_nothing" if method == "PUT" && uri.contains("/manifests/") => {
            for (name, value) in &mut raw.headers {
                if *name == DIGEST_HEADER {
                    *value = ImageDigest::of(b"").to_string();
                }
            }
        }
        "refused_manifests_as_201"
            if method == "PUT" && uri.contains("/manifests/") && raw.status >= 400 =>
        {
            raw.status = 201
        }
        "immutable_tag_as_201" if raw.body.windows(11).any(|w| w == b"TAG_INVALID") => {
            raw.status = 201
        }
        "absent_repository_as_202" if method == "POST" && raw.status == 404 => {
            raw.status = 202;
            raw.headers
                .push(("location", "/v2/nowhere/blobs/uploads/none".into()));
        }
        _ => {}
    }
    // A HEAD answer has no body, whatever the mutation wrote into it.
    if method == "HEAD" {
        raw.body.clear();
    }
    raw
}

/// The digest header of `raw`'s body as it is now.
fn set_digest(raw: &mut RawAnswer) {
    let digest = ImageDigest::of(&raw.body).to_string();
    for (name, value) in &mut raw.headers {
        if *name == DIGEST_HEADER {
            *value = digest.clone();
        }
    }
}

/// A manifest request by digest rewritten to one of the image's tags (translated, unlike a
/// digest, when its format is not accepted); any other request as it is.
fn by_some_tag(endpoint: &Endpoint, uri: &str) -> String {
    let Ok(Route::Manifest {
        name,
        reference: Reference::Digest(digest),
    }) = route(uri)
    else {
        return uri.to_owned();
    };
    let registry = endpoint.registry();
    let tag = registry
        .repository(registry.account.as_str(), &name)
        .and_then(|r| r.images.iter().find(|(d, _)| d.as_str() == digest))
        .and_then(|(_, image)| image.tags.iter().next().map(ToString::to_string));
    match tag {
        Some(tag) => format!("/v2/{name}/manifests/{tag}"),
        None => uri.to_owned(),
    }
}

/// A `tags/list` request with its `n` dropped: a server that ignores `n`.
fn without_n(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    if !path.ends_with("/tags/list") {
        return uri.to_owned();
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !p.starts_with("n=")).collect();
    match kept.is_empty() {
        true => path.to_owned(),
        false => format!("{path}?{}", kept.join("&")),
    }
}

/// `Accept` lines as a sloppy server reads them: only the first type of a comma-joined line
/// (`first_entry_of_each_accept_line`), or every type whatever its `q` (`ignore_q`).
fn rewrite_accept(headers: &HeaderMap, mutation: &str) -> HeaderMap {
    let mut out = headers.clone();
    out.remove(http::header::ACCEPT);
    for line in headers.get_all(http::header::ACCEPT) {
        let line = line.to_str().unwrap_or_default();
        let kept = match mutation {
            "ignore_q" => line
                .split(',')
                .map(|e| e.split(';').next().unwrap_or_default().trim())
                .collect::<Vec<_>>()
                .join(", "),
            _ => line.split(',').next().unwrap_or_default().trim().to_owned(),
        };
        if let Ok(value) = http::HeaderValue::from_str(&kept) {
            out.append(http::header::ACCEPT, value);
        }
    }
    out
}
