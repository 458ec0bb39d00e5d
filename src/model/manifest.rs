//! Manifests: their media types, what they reference, and translation between formats
//! (Docker schema 2 <-> OCI, Docker schema 2 -> schema 1), as in spec section 5.

use serde_json::{Value, json};

use super::names::{ImageDigest, MediaType};

/// Docker image manifest, schema 1.
pub const S1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker image manifest, schema 1, signed.
pub const S1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker image manifest, schema 2.
pub const S2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image manifest.
pub const OCI: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Layer media types, Docker on the left, OCI on the right.
const LAYER_TYPES: [(&str, &str); 3] = [
    (
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    ),
    (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ),
    (
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.v1.tar",
    ),
];

/// The formats the translation table knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Format {
    /// Docker schema 1, plain or signed.
    S1,
    /// Docker schema 2.
    S2,
    /// OCI image manifest.
    Oci,
    /// Docker manifest list.
    DockerList,
    /// OCI image index.
    OciIndex,
    /// Anything else.
    Other,
}

impl Format {
    /// The format a media type names (parameters such as `; charset=` are ignored).
    pub fn of(media_type: &str) -> Self {
        let base = media_type.split(';').next().unwrap_or("").trim();
        match base {
            S1 | S1_SIGNED => Format::S1,
            S2 => Format::S2,
            OCI => Format::Oci,
            DOCKER_LIST => Format::DockerList,
            OCI_INDEX => Format::OciIndex,
            _ => Format::Other,
        }
    }

    /// Whether this is a manifest list or an index.
    pub fn is_list(self) -> bool {
        matches!(self, Format::DockerList | Format::OciIndex)
    }

    /// The canonical media type of an image format.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            Format::S1 => Some(S1),
            Format::S2 => Some(S2),
            Format::Oci => Some(OCI),
            Format::DockerList => Some(DOCKER_LIST),
            Format::OciIndex => Some(OCI_INDEX),
            Format::Other => None,
        }
    }
}

/// A blob a manifest names: config or layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    /// The blob's media type, if given.
    pub media_type: Option<String>,
    /// The blob's digest.
    pub digest: String,
    /// The blob's size in bytes, if given.
    pub size: Option<i64>,
}

/// What the model needs to know of a stored manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Contents {
    /// The top-level `mediaType`, if any.
    pub media_type: Option<String>,
    /// `config`, for schema 2 and OCI manifests.
    pub config: Option<Descriptor>,
    /// `layers` for schema 2 and OCI, or `fsLayers[].blobSum` (as sizeless descriptors) for S1.
    pub layers: Vec<Descriptor>,
    /// `manifests[].digest`, for lists and indexes.
    pub manifests: Vec<String>,
}

impl Contents {
    /// Reads a manifest. `None` when it is not a JSON object.
    pub fn parse(manifest: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(manifest).ok()?;
        let object = value.as_object()?;
        let descriptor = |v: &Value| {
            Some(Descriptor {
                media_type: v
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                digest: v.get("digest")?.as_str()?.to_owned(),
                size: v.get("size").and_then(Value::as_i64),
            })
        };
        let list = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        };
        let mut layers: Vec<Descriptor> = list("layers").iter().filter_map(descriptor).collect();
        let blob_sums = list("fsLayers")
            .iter()
            .filter_map(|l| l.get("blobSum")?.as_str());
        layers.extend(blob_sums.map(|d| Descriptor {
            media_type: None,
            digest: d.to_owned(),
            size: None,
        }));
        Some(Contents {
            media_type: object
                .get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            config: object.get("config").and_then(descriptor),
            layers,
            manifests: list("manifests")
                .iter()
                .filter_map(|m| Some(m.get("digest")?.as_str()?.to_owned()))
                .collect(),
        })
    }

    /// Every blob digest the manifest needs: config first, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &str> {
        self.config
            .iter()
            .chain(&self.layers)
            .map(|d| d.digest.as_str())
    }
}

/// Translates a stored manifest of format `from` into `to`, as ECR does for a tag request
/// whose accepted media types do not include the stored one. `None` when the table has no
/// translation for the pair.
pub fn translate(
    contents: &Contents,
    from: Format,
    to: Format,
    name: &str,
    tag: &str,
) -> Option<String> {
    let value = match (from, to) {
        (Format::S2, Format::Oci) => {
            image_manifest(contents, OCI, OCI_CONFIG, |t| swap_layer_type(t, true))
        }
        (Format::Oci, Format::S2) => {
            image_manifest(contents, S2, DOCKER_CONFIG, |t| swap_layer_type(t, false))
        }
        (Format::S2 | Format::Oci, Format::S1) => schema1(contents, name, tag),
        _ => return None,
    };
    serde_json::to_string_pretty(&value).ok()
}

fn image_manifest(
    contents: &Contents,
    media_type: &str,
    config_type: &str,
    layer_type: impl Fn(&str) -> String,
) -> Value {
    let config = contents.config.as_ref();
    json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": config_type,
            "size": config.and_then(|c| c.size).unwrap_or(0),
            "digest": config.map(|c| c.digest.as_str()).unwrap_or(""),
        },
        "layers": contents.layers.iter().map(|l| json!({
            "mediaType": layer_type(l.media_type.as_deref().unwrap_or("")),
            "size": l.size.unwrap_or(0),
            "digest": l.digest,
        })).collect::<Vec<_>>(),
    })
}

fn swap_layer_type(media_type: &str, to_oci: bool) -> String {
    LAYER_TYPES
        .iter()
        .find_map(|(docker, oci)| match to_oci {
            true if *docker == media_type => Some(*oci),
            false if *oci == media_type => Some(*docker),
            _ => None,
        })
        .unwrap_or(media_type)
        .to_owned()
}

/// Schema 1 lists layers newest first; history entries are minimal, one per layer.
fn schema1(contents: &Contents, name: &str, tag: &str) -> Value {
    let layers: Vec<&Descriptor> = contents.layers.iter().rev().collect();
    json!({
        "schemaVersion": 1,
        "name": name,
        "tag": tag,
        "architecture": "amd64",
        "fsLayers": layers.iter().map(|l| json!({"blobSum": l.digest})).collect::<Vec<_>>(),
        "history": layers.iter().map(|l| json!({
            "v1Compatibility": json!({"id": l.digest.trim_start_matches("sha256:")}).to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// A stored manifest: the exact bytes as pushed, their digest, their media type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredManifest {
    /// The manifest exactly as pushed.
    pub bytes: String,
    /// `sha256` of `bytes`.
    pub digest: ImageDigest,
    /// The media type it was pushed with.
    pub media_type: MediaType,
    /// The format of `media_type`.
    pub format: Format,
    /// What it references.
    pub contents: Contents,
}

impl StoredManifest {
    /// Reads a manifest pushed with `media_type`.
    pub fn new(bytes: String, media_type: MediaType) -> Self {
        let digest = ImageDigest::of(bytes.as_bytes());
        let format = Format::of(media_type.as_str());
        let contents = Contents::parse(&bytes).unwrap_or_default();
        Self {
            bytes,
            digest,
            media_type,
            format,
            contents,
        }
    }
}
