//! The contract cases (`tests/cases/*.json`, embedded): one per row of the spec's tables, run
//! by the tests against the model and by `check` against a server. Test support: the crate's
//! own tests read the case files through this module; it is not part of the API.
//!
//! A case names the spec row it covers, setup calls applied after the standard fixture (each
//! with the error it must give, if any), a BatchGetImage request, the model's expected outcome
//! in summary form, mutations of the answer that stay acceptable (`accept`), and mutations that
//! break rules (`break`: mutation to a rule id, or to a list of every rule it breaks). Values
//! may hold placeholders, expanded by [`expand`].

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Call, ImageDigest};
use crate::oracle::RuleId;
use crate::strategy::Fixture;
use crate::strategy::manifests::{ContentBlob, Layout, schema2};
use crate::wire;

/// The case files, in spec order.
pub const FILES: [(&str, &str); 6] = [
    (
        "section-1-wire.json",
        include_str!("../../tests/cases/section-1-wire.json"),
    ),
    (
        "section-2-validation.json",
        include_str!("../../tests/cases/section-2-validation.json"),
    ),
    (
        "section-3-lookup.json",
        include_str!("../../tests/cases/section-3-lookup.json"),
    ),
    (
        "section-4-ids.json",
        include_str!("../../tests/cases/section-4-ids.json"),
    ),
    (
        "section-5-manifests.json",
        include_str!("../../tests/cases/section-5-manifests.json"),
    ),
    (
        "section-7-state.json",
        include_str!("../../tests/cases/section-7-state.json"),
    ),
];

/// A file of cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The spec section.
    pub section: String,
    /// Its cases.
    pub cases: Vec<Case>,
}

/// One contract case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A sentence naming the behaviour.
    pub name: String,
    /// The spec row it covers.
    pub row: String,
    /// Whether the registry requires uploaded blobs.
    #[serde(default)]
    pub require_blobs: bool,
    /// Calls applied after the fixture.
    #[serde(default)]
    pub setup: Vec<Step>,
    /// The request: a JSON object, or a string sent as the raw body.
    pub request: Value,
    /// The model's expectation in summary form.
    pub expect: Value,
    /// The scenario rule violations are filed under.
    #[serde(default)]
    pub context: Option<String>,
    /// Mutations that stay acceptable.
    #[serde(default)]
    pub accept: Vec<String>,
    /// Mutations and the rules each breaks: one rule, or a list when an answer breaks several
    /// (every one of them must be reported).
    #[serde(rename = "break")]
    pub breaks: BTreeMap<String, Broken>,
}

/// The rules a broken answer breaks: `"ID-BY-TAG"` or `["ID-TAG-AND-DIGEST", "ID-MISMATCH-CODE"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Broken {
    /// One rule.
    One(String),
    /// Several rules.
    All(Vec<String>),
}

impl Broken {
    /// The rule ids, as written.
    pub fn rules(&self) -> &[String] {
        match self {
            Broken::One(rule) => std::slice::from_ref(rule),
            Broken::All(rules) => rules,
        }
    }
}

/// A setup call, the error it must give (`None`: it must succeed), and members its output must have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The operation.
    pub call: String,
    /// Its input.
    pub input: Value,
    /// The error it must give.
    #[serde(default)]
    pub error: Option<String>,
    /// Members its output must have.
    #[serde(default)]
    pub output: Option<Value>,
}

/// Every case file, parsed. The files are part of the crate; a malformed one is a bug.
pub fn files() -> Vec<CaseFile> {
    FILES
        .iter()
        .map(|(name, text)| serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// The file named `name`, parsed.
pub fn file(name: &str) -> Option<CaseFile> {
    let (_, text) = FILES.iter().find(|(n, _)| *n == name)?;
    serde_json::from_str(text).ok()
}

impl Case {
    /// The rules this case probes: those its broken answers break, and its scenario rule.
    pub fn rules(&self) -> BTreeSet<RuleId> {
        self.breaks
            .values()
            .flat_map(Broken::rules)
            .chain(&self.context)
            .filter_map(|id| RuleId::parse(id))
            .collect()
    }

    /// The scenario rule, if any.
    pub fn context_rule(&self) -> Option<RuleId> {
        self.context.as_deref().and_then(RuleId::parse)
    }
}

impl Case {
    /// The fixture repositories the case names, in its setup or its request: all a scope of
    /// its own must hold for the case to mean what it says.
    pub fn repositories<'f>(&self, fixture: &'f Fixture) -> BTreeSet<&'f str> {
        let text = format!(
            "{} {}",
            self.request,
            self.setup
                .iter()
                .map(|step| step.input.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        fixture
            .repositories
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| {
                text.contains(&format!("\"{name}\"")) || text.contains(&format!("\\\"{name}\\\""))
            })
            .collect()
    }

    /// The case's BatchGetImage body, placeholders expanded, with every `repositoryName` that
    /// `rename` maps renamed (a raw body: every quoted such name in its text).
    pub fn body(&self, fixture: &Fixture, rename: impl Fn(&str) -> Option<String>) -> Vec<u8> {
        match expand(&self.request, fixture) {
            Value::String(raw) => {
                let mut raw = raw;
                for (name, _) in &fixture.repositories {
                    if let Some(renamed) = rename(name) {
                        raw = raw.replace(&format!("\"{name}\""), &format!("\"{renamed}\""));
                    }
                }
                raw.into_bytes()
            }
            mut request => {
                rename_repositories(&mut request, &rename);
                serde_json::to_vec(&request).unwrap_or_default()
            }
        }
    }
}

/// Renames, at any depth, the `repositoryName` members that `rename` maps.
fn rename_repositories(value: &mut Value, rename: &impl Fn(&str) -> Option<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), v.as_str().and_then(rename)) {
                    ("repositoryName", Some(renamed)) => *v = Value::String(renamed),
                    _ => rename_repositories(v, rename),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rename_repositories(v, rename)),
        _ => {}
    }
}

impl Step {
    /// The call, with placeholders expanded; refused when its input is not exactly the
    /// operation's input shape.
    pub fn to_call(&self, fixture: &Fixture) -> Result<Call, String> {
        let operation = wire::Operation::from_name(&self.call)
            .ok_or_else(|| format!("unknown call {}", self.call))?;
        let input = serde_json::to_vec(&expand(&self.input, fixture)).map_err(|e| e.to_string())?;
        Call::decode_exact(operation, &input).map_err(|e| format!("case input: {e}"))
    }
}

/// Expands every placeholder in `value` against `fixture`:
///
/// | placeholder | becomes |
/// | --- | --- |
/// | `{"$digest": "s2"}` | the digest of fixture image `s2` |
/// | `{"$manifest": "s2"}` | its manifest text |
/// | `{"$upper": X}` | X in upper case, after the `sha256:` prefix |
/// | `{"$repeat": N, "$item": X}` | a list of N copies of X |
/// | `{"$text": "a", "$times": N}` | the string repeated N times |
/// | `{"$blob": "seed"}`, `{"$blobDigest": "seed"}` | a blob's bytes (base64) and digest |
/// | `{"$blobLast": "seed"}` | the offset of a blob's last byte |
/// | `{"$schema2": {"config": "c", "layers": ["l"]}}` | a new schema 2 manifest |
/// | `{"$sha256": X}` | the digest of the string X |
/// | `{"$exotic_chars": N}` | the exotic manifest (CRLF, escapes, multibyte) of N characters |
pub fn expand(value: &Value, fixture: &Fixture) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| expand(v, fixture)).collect()),
        Value::Object(map) => match placeholder(map, fixture) {
            Some(out) => out,
            None => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), expand(v, fixture)))
                    .collect(),
            ),
        },
        other => other.clone(),
    }
}

fn placeholder(map: &serde_json::Map<String, Value>, fixture: &Fixture) -> Option<Value> {
    let image = |key: &str| fixture.image(map.get(key)?.as_str()?);
    let seed = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .map(ContentBlob::from_seed)
    };
    let count = |key: &str| {
        map.get(key)
            .and_then(Value::as_u64)
            .map(|n| usize::try_from(n).unwrap_or(0))
    };
    let text = |key: &str| {
        map.get(key)
            .map(|v| expand(v, fixture).as_str().unwrap_or_default().to_owned())
    };
    if let Some(i) = image("$digest") {
        return Some(json!(i.digest));
    }
    if let Some(i) = image("$manifest") {
        return Some(json!(i.manifest));
    }
    if let Some(n) = count("$exotic_chars") {
        return Some(json!(exotic_of_length(n)));
    }
    if let Some(text) = text("$upper") {
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
    if let Some(text) = text("$sha256") {
        return Some(json!(ImageDigest::of(text.as_bytes()).to_string()));
    }
    if let Some(blob) = seed("$blobLast") {
        return Some(json!(blob.size() - 1));
    }
    if let Some(blob) = seed("$blobDigest") {
        return Some(json!(blob.digest));
    }
    let spec = map.get("$schema2")?;
    let config = ContentBlob::from_seed(spec["config"].as_str().unwrap_or("c"));
    let layers: Vec<ContentBlob> = spec["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(ContentBlob::from_seed)
        .collect();
    Some(json!(schema2(&config, &layers, Layout::Docker)))
}

/// The [`exotic`](crate::strategy::manifests::exotic) manifest padded to exactly `chars`
/// characters (more bytes: the padding is `é`), naming blobs `c6` and `l9`.
fn exotic_of_length(chars: usize) -> String {
    use crate::strategy::manifests::exotic_padded;
    let (config, layers) = (ContentBlob::from_seed("c6"), [ContentBlob::from_seed("l9")]);
    let base = exotic_padded(&config, &layers, 0).chars().count();
    exotic_padded(&config, &layers, chars.saturating_sub(base))
}
