//! Image manifests and blobs to push: Docker schema 1 and 2, OCI, manifest lists.

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::ImageDigest;
use crate::model::manifest::{DOCKER_LIST, OCI, S1_SIGNED, S2};

/// A blob (config or layer) with its content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentBlob {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `sha256` of the bytes.
    pub digest: String,
}

impl ContentBlob {
    /// A small blob whose content is derived from `seed`.
    pub fn from_seed(seed: &str) -> Self {
        let bytes = format!("ecr-contract blob {seed}\n").into_bytes();
        let digest = ImageDigest::of(&bytes).to_string();
        Self { bytes, digest }
    }

    /// Its size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
}

/// How a manifest's JSON is laid out. The digest covers the exact bytes, so each layout of
/// the same content is a different image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Layout {
    /// Three-space indentation, as `docker push` writes schema 2.
    #[default]
    Docker,
    /// No white space.
    Compact,
    /// Two-space indentation with a trailing newline.
    Indented,
}

/// Renders `value` in `layout`.
pub fn render(value: &impl Serialize, layout: Layout) -> String {
    let indent: &[u8] = match layout {
        Layout::Compact => return serde_json::to_string(value).unwrap_or_default(),
        Layout::Docker => b"   ",
        Layout::Indented => b"  ",
    };
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(indent),
    );
    value.serialize(&mut ser).unwrap_or_default();
    let mut text = String::from_utf8(out).unwrap_or_default();
    if layout == Layout::Indented {
        text.push('\n');
    }
    text
}

/// A content descriptor, in the member order Docker writes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    media_type: &'a str,
    size: usize,
    digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform<'a>>,
}

#[derive(Serialize)]
struct Platform<'a> {
    architecture: &'a str,
    os: &'a str,
}

/// A schema 2 or OCI image manifest, or a manifest list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u8,
    media_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Descriptor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<Descriptor<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifests: Option<Vec<Descriptor<'a>>>,
}

fn descriptor<'a>(media_type: &'a str, blob: &'a ContentBlob) -> Descriptor<'a> {
    Descriptor {
        media_type,
        size: blob.size(),
        digest: &blob.digest,
        platform: None,
    }
}

fn image_manifest(
    media_type: &str,
    config_type: &str,
    layer_type: &str,
    config: &ContentBlob,
    layers: &[ContentBlob],
    layout: Layout,
) -> String {
    render(
        &Manifest {
            schema_version: 2,
            media_type,
            config: Some(descriptor(config_type, config)),
            layers: Some(layers.iter().map(|l| descriptor(layer_type, l)).collect()),
            manifests: None,
        },
        layout,
    )
}

/// A Docker schema 2 manifest naming `config` and `layers`.
pub fn schema2(config: &ContentBlob, layers: &[ContentBlob], layout: Layout) -> String {
    let (config_type, layer_type) = (
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
    image_manifest(S2, config_type, layer_type, config, layers, layout)
}

/// An OCI image manifest naming `config` and `layers`.
pub fn oci(config: &ContentBlob, layers: &[ContentBlob], layout: Layout) -> String {
    let (config_type, layer_type) = (
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    image_manifest(OCI, config_type, layer_type, config, layers, layout)
}

/// A Docker schema 1 manifest (no top-level `mediaType`: push it with
/// [`S1_MEDIA_TYPE`]), layers newest first.
pub fn schema1(name: &str, tag: &str, layers: &[ContentBlob], layout: Layout) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Schema1<'a> {
        schema_version: u8,
        name: &'a str,
        tag: &'a str,
        architecture: &'a str,
        fs_layers: Vec<Value>,
        history: Vec<Value>,
    }
    render(
        &Schema1 {
            schema_version: 1,
            name,
            tag,
            architecture: "amd64",
            fs_layers: layers
                .iter()
                .rev()
                .map(|l| json!({"blobSum": l.digest}))
                .collect(),
            history: layers
                .iter()
                .rev()
                .map(|l| json!({"v1Compatibility": json!({"id": &l.digest[7..]}).to_string()}))
                .collect(),
        },
        layout,
    )
}

/// The media type schema 1 manifests are pushed with.
pub const S1_MEDIA_TYPE: &str = S1_SIGNED;

/// A Docker manifest list naming `manifests` (each with its digest, size and architecture).
pub fn manifest_list(manifests: &[(&str, usize, &str)], layout: Layout) -> String {
    let entries = manifests
        .iter()
        .map(|(digest, size, architecture)| Descriptor {
            media_type: S2,
            size: *size,
            digest,
            platform: Some(Platform {
                architecture,
                os: "linux",
            }),
        })
        .collect();
    render(
        &Manifest {
            schema_version: 2,
            media_type: DOCKER_LIST,
            config: None,
            layers: None,
            manifests: Some(entries),
        },
        layout,
    )
}

/// An OCI image manifest written as no JSON serialiser writes one, to stress byte-exactness:
/// `\r\n` line ends, keys out of the usual order (`layers` before `config`, `schemaVersion`
/// last), multibyte UTF-8 (`é`, `日本`, an emoji), and JSON escapes (`\u00e9`, `\/`, `\"`)
/// that decode to other bytes. A server that re-serialises, normalises Unicode or re-escapes
/// it returns other bytes and another digest (MAN-BYTES, MAN-DIGEST).
pub fn exotic(config: &ContentBlob, layers: &[ContentBlob]) -> String {
    exotic_padded(config, layers, 0)
}

/// [`exotic`], with an annotation of `padding` characters more (each `é`, two bytes), so that
/// a manifest can be made exactly as long as ECR allows (4,194,304 characters, not bytes).
pub fn exotic_padded(config: &ContentBlob, layers: &[ContentBlob], padding: usize) -> String {
    let layer = |l: &ContentBlob| {
        format!(
            "    {{\"digest\": \"{}\", \"size\": {}, \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\"}}",
            l.digest,
            l.size()
        )
    };
    let layers: Vec<String> = layers.iter().map(layer).collect();
    let lines = [
        "{".to_owned(),
        format!("  \"mediaType\": \"{OCI}\","),
        "  \"layers\": [".to_owned(),
        layers.join(",\r\n"),
        "  ],".to_owned(),
        format!(
            "  \"config\": {{\"size\": {}, \"digest\": \"{}\", \"mediaType\": \"application/vnd.oci.image.config.v1+json\"}},",
            config.size(),
            config.digest
        ),
        "  \"annotations\": {".to_owned(),
        "    \"org.opencontainers.image.title\": \"caf\\u00e9 \u{e9}t\u{e9} \u{65e5}\u{672c} \u{1f433}\",".to_owned(),
        "    \"org.opencontainers.image.url\": \"https:\\/\\/example.com\\/\\\"q\\\"\",".to_owned(),
        format!("    \"org.example.padding\": \"{}\"", "\u{e9}".repeat(padding)),
        "  },".to_owned(),
        "  \"schemaVersion\": 2".to_owned(),
        "}".to_owned(),
    ];
    lines.join("\r\n")
}
