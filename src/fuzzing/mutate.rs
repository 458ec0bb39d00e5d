//! BatchGetImage answers as bytes on the wire, and named mutations of them: the one engine
//! behind the contract cases (a mutation listed under `accept` must stay acceptable, one
//! under `break` must be caught under its rule), the broken-server table, and the
//! `model_oracle` property that the oracle catches a changed answer. Test support: a
//! mutation that does not apply to the answer given panics.

use crate::model::manifest::{Contents, Format, translate};
use crate::model::{ImageDigest, OpError};
use crate::oracle::Observed;
use crate::strategy::Fixture;
use crate::wire::{self, BatchGetImageResponse};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

/// An answer as bytes on the wire.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The headers, lower case.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// How a server following the model sends `answer`.
    pub fn of(answer: &Result<BatchGetImageResponse, OpError>) -> Self {
        let (status, body) = OpError::to_http(answer);
        RawAnswer {
            status,
            headers: vec![("content-type", wire::CONTENT_TYPE.to_owned())],
            body,
        }
    }

    /// The answer as the oracle sees it, decoded from the bytes.
    pub fn observe(&self) -> Observed {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        Observed::from_http(self.status, &headers, &self.body)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn set_json(&mut self, value: &Value) {
        self.body = serde_json::to_vec(value).expect("encodes");
    }

    fn set_header(&mut self, name: &'static str, value: Option<String>) {
        self.headers.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            self.headers.push((name, value));
        }
    }
}

/// Applies the mutation `spec` (`name` or `name:argument`) to `raw`, an answer to a request
/// for `requested`.
pub fn mutate(raw: &RawAnswer, spec: &str, fixture: &Fixture, requested: &[Value]) -> RawAnswer {
    let (name, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let mut out = raw.clone();
    let mut body = raw.json();
    let digest_of = |arg: &str| {
        fixture
            .image(arg)
            .map(|i| i.digest.clone())
            .unwrap_or_else(|| arg.to_owned())
    };
    match name {
        "status" => out.status = arg.parse().expect("a status"),
        "content_type" => out.set_header("content-type", (!arg.is_empty()).then(|| arg.to_owned())),
        "not_json" => out.body = b"{\"images\": [".to_vec(),
        "html" => {
            out.status = 502;
            out.set_header("content-type", Some("text/html".into()));
            out.body = b"<html><body>Bad Gateway</body></html>".to_vec();
        }
        "error" => {
            out.status = if arg == "ServerException" { 500 } else { 400 };
            out.body = wire::encode_error(arg, "injected");
        }
        "error_header_only" => {
            out.status = 400;
            out.set_header("x-amzn-errortype", Some(arg.to_owned()));
            out.set_json(&json!({"message": "injected"}));
        }
        "ok_empty" => {
            out.status = 200;
            out.set_json(&json!({"images": [], "failures": []}));
        }
        // A 200 whose failure echoes the first id exactly as it was sent, even when that id
        // is not an ImageIdentifier (a number as imageTag, say).
        "failure_echo_raw" => {
            out.status = 200;
            let failure = json!({"imageId": requested[0], "failureCode": "InvalidImageTag", "failureReason": "injected"});
            out.set_json(&json!({"images": [], "failures": [failure]}));
        }
        _ => {
            let needs = |list: &str| body[list].as_array().is_some_and(|l| !l.is_empty());
            let on_failure = matches!(
                name,
                "drop_failure"
                    | "code"
                    | "no_reason"
                    | "failure_tag"
                    | "failure_digest"
                    | "failure_id_null"
                    | "image_for_failure"
            );
            let list = if on_failure { "failures" } else { "images" };
            let adds = matches!(
                name,
                "no_member"
                    | "reverse"
                    | "unknown_member"
                    | "wrong_type"
                    | "no_message"
                    | "message_upper"
            );
            assert!(
                adds || needs(list),
                "mutation {spec} needs an entry in {list}: {body}"
            );
            edit_body(&mut body, name, arg, fixture, &digest_of, requested);
            out.set_json(&body);
        }
    }
    out
}

fn edit_body(
    body: &mut Value,
    name: &str,
    arg: &str,
    fixture: &Fixture,
    digest_of: &dyn Fn(&str) -> String,
    requested: &[Value],
) {
    let image = |body: &mut Value| body["images"][0].take();
    match name {
        "drop_image" => remove_first(body, "images"),
        // A server that answers only the first `arg` ids of a batch (or pages its answer).
        "truncate" => {
            let mut keep: usize = arg.parse().expect("a count");
            for list in ["images", "failures"] {
                if let Some(items) = body[list].as_array_mut() {
                    items.truncate(keep);
                    keep -= items.len();
                }
            }
        }
        // The failure at index `arg` (the first without one).
        "drop_failure" => {
            let k: usize = arg.parse().unwrap_or(0);
            if let Some(items) = body["failures"].as_array_mut() {
                items.remove(k);
            }
        }
        "no_member" => drop_member(body, arg),
        "reverse" => {
            for list in ["images", "failures"] {
                if let Some(items) = body[list].as_array_mut() {
                    items.reverse();
                }
            }
        }
        "duplicate_image" => {
            let first = body["images"][0].clone();
            body["images"].as_array_mut().expect("images").push(first);
        }
        "digest" => body["images"][0]["imageId"]["imageDigest"] = json!(digest_of(arg)),
        "tag" => body["images"][0]["imageId"]["imageTag"] = json!(arg),
        "untag" => drop_member(&mut body["images"][0]["imageId"], "imageTag"),
        "registry" => body["images"][0]["registryId"] = json!(arg),
        "repository" => body["images"][0]["repositoryName"] = json!(arg),
        "media_type" => body["images"][0]["imageManifestMediaType"] = json!(arg),
        "no_media_type" => drop_member(&mut body["images"][0], "imageManifestMediaType"),
        "manifest" => {
            let other = fixture.image(arg).expect("fixture image");
            body["images"][0]["imageManifest"] = json!(other.manifest);
        }
        "reformat" => {
            let text = body["images"][0]["imageManifest"]
                .as_str()
                .expect("manifest")
                .to_owned();
            let value: Value = serde_json::from_str(&text).expect("manifest is JSON");
            body["images"][0]["imageManifest"] =
                json!(serde_json::to_string_pretty(&value).expect("encodes"));
        }
        "translate" => translate_first(body, arg),
        "stored" => {
            let other = fixture.image(arg).expect("fixture image");
            body["images"][0]["imageManifest"] = json!(other.manifest);
            body["images"][0]["imageManifestMediaType"] = json!(other.media_type);
            body["images"][0]["imageId"]["imageDigest"] = json!(other.digest);
        }
        "drop_layer" => drop_layer(&mut body["images"][0]),
        "code" => body["failures"][0]["failureCode"] = json!(arg),
        "no_reason" => drop_member(&mut body["failures"][0], "failureReason"),
        "failure_tag" => body["failures"][0]["imageId"]["imageTag"] = json!(arg),
        // moto's echo: the members sent replaced by `{"imageTag": "null"}`.
        "failure_id_null" => body["failures"][0]["imageId"] = json!({"imageTag": "null"}),
        "failure_digest" => body["failures"][0]["imageId"]["imageDigest"] = json!(digest_of(arg)),
        "failure_for_image" => {
            let entry = image(body);
            remove_first(body, "images");
            let id = requested_id(&entry["imageId"], requested);
            let failure = json!({"imageId": id, "failureCode": arg, "failureReason": "injected"});
            body["failures"]
                .as_array_mut()
                .expect("failures")
                .push(failure);
        }
        "add_failure" => {
            let id = requested_id(&body["images"][0]["imageId"], requested);
            let failure = json!({"imageId": id, "failureCode": arg, "failureReason": "injected"});
            body["failures"]
                .as_array_mut()
                .expect("failures")
                .push(failure);
        }
        "image_for_failure" => {
            let failure = body["failures"][0].take();
            remove_first(body, "failures");
            let other = fixture.image(arg).expect("fixture image");
            // The id as asked, with the image's digest where none was asked for.
            let mut id = failure["imageId"].clone();
            if id.get("imageDigest").is_none() {
                id["imageDigest"] = json!(other.digest);
            }
            let entry = json!({
                "registryId": crate::strategy::ACCOUNT, "repositoryName": other.repository, "imageId": id,
                "imageManifest": other.manifest, "imageManifestMediaType": other.media_type,
            });
            body["images"].as_array_mut().expect("images").push(entry);
        }
        "unknown_member" => body["extra"] = json!(1),
        "wrong_type" => body[arg] = json!("not a list"),
        "no_message" => drop_member(body, "message"),
        "message_upper" => {
            let message = body["message"].take();
            drop_member(body, "message");
            body["Message"] = message;
        }
        other => panic!("unknown mutation {other}"),
    }
}

/// Replaces the first image's manifest by its translation to `format` (S1, S2 or OCI).
fn translate_first(body: &mut Value, format: &str) {
    let to = match format {
        "S1" => Format::S1,
        "S2" => Format::S2,
        "OCI" => Format::Oci,
        other => panic!("unknown format {other}"),
    };
    let entry = &mut body["images"][0];
    let stored = entry["imageManifest"]
        .as_str()
        .expect("manifest")
        .to_owned();
    let from = Format::of(entry["imageManifestMediaType"].as_str().unwrap_or_default());
    let contents = Contents::parse(&stored).expect("manifest parses");
    let translated = translate(&contents, from, to, "team/app", "t").expect("translatable");
    entry["imageManifest"] = json!(translated);
    entry["imageManifestMediaType"] = json!(to.media_type().expect("image format"));
}

/// The requested id an entry with id `answered` answers: same tag, else same digest.
fn requested_id(answered: &Value, requested: &[Value]) -> Value {
    let same = |key: &str, r: &Value| r.get(key).is_some() && r.get(key) == answered.get(key);
    let by_tag = requested.iter().find(|r| same("imageTag", r));
    let by_digest = requested
        .iter()
        .find(|r| r.get("imageTag").is_none() && same("imageDigest", r));
    by_tag
        .or(by_digest)
        .cloned()
        .unwrap_or_else(|| answered.clone())
}

/// Removes the last layer of the first image's manifest, keeping its digest honest.
fn drop_layer(entry: &mut Value) {
    let mut manifest: Value =
        serde_json::from_str(entry["imageManifest"].as_str().expect("manifest")).expect("JSON");
    for list in ["layers", "fsLayers"] {
        if let Some(items) = manifest[list].as_array_mut() {
            items.pop();
        }
    }
    let text = manifest.to_string();
    entry["imageId"]["imageDigest"] = json!(ImageDigest::of(text.as_bytes()).to_string());
    entry["imageManifest"] = json!(text);
}

fn remove_first(body: &mut Value, list: &str) {
    if let Some(items) = body[list].as_array_mut()
        && !items.is_empty()
    {
        items.remove(0);
    }
}

fn drop_member(value: &mut Value, name: &str) {
    if let Some(map) = value.as_object_mut() {
        map.remove(name);
    }
}
