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
    /// The top-level `schemaVersion`, if it is a number.
    pub schema_version: Option<u64>,
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
            schema_version: object.get("schemaVersion").and_then(Value::as_u64),
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

/// How a translation lists the stored layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerOrder {
    /// The same layers (digests and sizes) in the same order, under `layers`.
    Same,
    /// The same layer blobs in reverse order, as `fsLayers[].blobSum`.
    Reversed,
}

/// What section 5's translation table says a manifest translated to `to` holds: written once,
/// for the model (which builds translations from it) and the oracle (which compares every
/// member it names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The format translated to.
    pub to: Format,
    /// The translated manifest's `schemaVersion`.
    pub schema_version: u64,
    /// The values its top-level `mediaType` may have, `None` for absent; the first is what
    /// the model writes.
    pub media_types: &'static [Option<&'static str>],
    /// Whether it names the stored config (digest and size).
    pub keeps_config: bool,
    /// How it lists the stored layers.
    pub layers: LayerOrder,
}

/// The rows of section 5's translation table, by the format translated to. Docker schema 2
/// requires its `mediaType`; OCI's is optional; schema 1 has none (its own type is tolerated).
pub const TRANSLATIONS: [Translation; 3] = [
    Translation {
        to: Format::S1,
        schema_version: 1,
        media_types: &[None, Some(S1), Some(S1_SIGNED)],
        keeps_config: false,
        layers: LayerOrder::Reversed,
    },
    Translation {
        to: Format::S2,
        schema_version: 2,
        media_types: &[Some(S2)],
        keeps_config: true,
        layers: LayerOrder::Same,
    },
    Translation {
        to: Format::Oci,
        schema_version: 2,
        media_types: &[Some(OCI), None],
        keeps_config: true,
        layers: LayerOrder::Same,
    },
];

impl Translation {
    /// The row for a translation to `to`, if the table has one.
    pub fn to(to: Format) -> Option<&'static Translation> {
        TRANSLATIONS.iter().find(|t| t.to == to)
    }
}

/// Translates a stored manifest of format `from` into `to`, as ECR does for a tag request
/// whose accepted media types do not include the stored one, following [`TRANSLATIONS`].
/// `None` when the table has no translation for the pair.
pub fn translate(
    contents: &Contents,
    from: Format,
    to: Format,
    name: &str,
    tag: &str,
) -> Option<String> {
    if !matches!(from, Format::S2 | Format::Oci) || from == to {
        return None;
    }
    let row = Translation::to(to)?;
    let value = match (row.layers, to) {
        (LayerOrder::Reversed, _) => schema1(row, contents, name, tag),
        (LayerOrder::Same, Format::Oci) => {
            image_manifest(row, contents, OCI_CONFIG, |t| swap_layer_type(t, true))
        }
        (LayerOrder::Same, _) => {
            image_manifest(row, contents, DOCKER_CONFIG, |t| swap_layer_type(t, false))
        }
    };
    serde_json::to_string_pretty(&value).ok()
}

fn image_manifest(
    row: &Translation,
    contents: &Contents,
    config_type: &str,
    layer_type: impl Fn(&str) -> String,
) -> Value {
    let config = contents.config.as_ref();
    json!({
        "schemaVersion": row.schema_version,
        "mediaType": row.media_types.first().copied().flatten(),
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
fn schema1(row: &Translation, contents: &Contents, name: &str, tag: &str) -> Value {
    let layers: Vec<&Descriptor> = contents.layers.iter().rev().collect();
    json!({
        "schemaVersion": row.schema_version,
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
