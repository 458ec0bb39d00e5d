//! Placeholders in contract-case data, expanded against the fixture:
//!
//! | placeholder | becomes |
//! | --- | --- |
//! | `{"$digest": "s2"}` | the digest of fixture image `s2` |
//! | `{"$manifest": "s2"}` | its manifest text |
//! | `{"$upper": X}` | X in upper case, after the `sha256:` prefix |
//! | `{"$repeat": N, "$item": X}` | a list of N copies of X |
//! | `{"$text": "a", "$times": N}` | the string repeated N times |
//! | `{"$blob": "seed"}`, `{"$blobDigest": "seed"}` | a blob's bytes (base64) and digest |
//! | `{"$blobLast": "seed"}` | the offset of a blob's last byte |
//! | `{"$schema2": {"config": "c", "layers": ["l"]}}` | a new schema 2 manifest |
//! | `{"$sha256": X}` | the digest of the string X |

use base64::Engine as _;
use ecr_contract::r#gen::Fixture;
use ecr_contract::r#gen::manifests::{Blob, Layout, schema2};
use ecr_contract::model::ImageDigest;
use serde_json::{Value, json};

/// Expands every placeholder in `value`.
pub fn expand(value: &Value, fixture: &Fixture) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| expand(v, fixture)).collect()),
        Value::Object(map) => {
            if let Some(out) = placeholder(map, fixture) {
                return out;
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), expand(v, fixture)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn placeholder(map: &serde_json::Map<String, Value>, fixture: &Fixture) -> Option<Value> {
    let image = |key: &str| {
        let name = map.get(key)?.as_str()?;
        Some(
            fixture
                .image(name)
                .unwrap_or_else(|| panic!("no fixture image {name}")),
        )
    };
    let seed = |key: &str| map.get(key).and_then(Value::as_str).map(Blob::from_seed);
    let count = |key: &str| {
        map.get(key)
            .and_then(Value::as_u64)
            .map(|n| usize::try_from(n).unwrap_or(0))
    };
    if let Some(i) = image("$digest") {
        return Some(json!(i.digest));
    }
    if let Some(i) = image("$manifest") {
        return Some(json!(i.manifest));
    }
    if let Some(inner) = map.get("$upper") {
        let text = expand(inner, fixture)
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (prefix, hex) = text.split_once(':').unwrap_or(("", &text));
        return Some(json!(format!("{prefix}:{}", hex.to_uppercase())));
    }
    if let (Some(n), Some(item)) = (count("$repeat"), map.get("$item")) {
        return Some(Value::Array(vec![expand(item, fixture); n]));
    }
    if let (Some(text), Some(n)) = (map.get("$text").and_then(Value::as_str), count("$times")) {
        return Some(json!(text.repeat(n)));
    }
    if let Some(blob) = seed("$blob") {
        return Some(json!(
            base64::engine::general_purpose::STANDARD.encode(&blob.bytes)
        ));
    }
    if let Some(inner) = map.get("$sha256") {
        let text = expand(inner, fixture);
        return Some(json!(
            ImageDigest::of(text.as_str().unwrap_or_default().as_bytes()).to_string()
        ));
    }
    if let Some(blob) = seed("$blobLast") {
        return Some(json!(blob.size() - 1));
    }
    if let Some(blob) = seed("$blobDigest") {
        return Some(json!(blob.digest));
    }
    if let Some(spec) = map.get("$schema2") {
        let config = Blob::from_seed(spec["config"].as_str().unwrap_or("c"));
        let layers: Vec<Blob> = spec["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(Blob::from_seed)
            .collect();
        return Some(json!(schema2(&config, &layers, Layout::Docker)));
    }
    None
}
