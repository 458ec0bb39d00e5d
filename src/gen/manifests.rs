//! Image manifests and blobs to push: Docker schema 1 and 2, OCI, manifest lists.

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::ImageDigest;
use crate::model::manifest::{DOCKER_LIST, OCI, S1_SIGNED, S2};

/// A blob (config or layer) with its content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `sha256` of the bytes.
    pub digest: String,
}

impl Blob {
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
pub fn render(value: &Value, layout: Layout) -> String {
    let indent: &[u8] = match layout {
        Layout::Compact => return value.to_string(),
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

fn descriptor(media_type: &str, blob: &Blob) -> Value {
    json!({"mediaType": media_type, "size": blob.size(), "digest": blob.digest})
}

/// A Docker schema 2 manifest naming `config` and `layers`.
pub fn schema2(config: &Blob, layers: &[Blob], layout: Layout) -> String {
    render(
        &json!({
            "schemaVersion": 2,
            "mediaType": S2,
            "config": descriptor("application/vnd.docker.container.image.v1+json", config),
            "layers": layers.iter().map(|l| descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", l)).collect::<Vec<_>>(),
        }),
        layout,
    )
}

/// An OCI image manifest naming `config` and `layers`.
pub fn oci(config: &Blob, layers: &[Blob], layout: Layout) -> String {
    render(
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": layers.iter().map(|l| descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l)).collect::<Vec<_>>(),
        }),
        layout,
    )
}

/// A Docker schema 1 manifest (no top-level `mediaType`: push it with
/// [`S1_MEDIA_TYPE`]), layers newest first.
pub fn schema1(name: &str, tag: &str, layers: &[Blob], layout: Layout) -> String {
    render(
        &json!({
            "schemaVersion": 1,
            "name": name,
            "tag": tag,
            "architecture": "amd64",
            "fsLayers": layers.iter().rev().map(|l| json!({"blobSum": l.digest})).collect::<Vec<_>>(),
            "history": layers.iter().rev().map(|l| json!({"v1Compatibility": json!({"id": &l.digest[7..]}).to_string()})).collect::<Vec<_>>(),
        }),
        layout,
    )
}

/// The media type schema 1 manifests are pushed with.
pub const S1_MEDIA_TYPE: &str = S1_SIGNED;

/// A Docker manifest list naming `manifests` (each with its digest and size).
pub fn manifest_list(manifests: &[(&str, usize, &str)], layout: Layout) -> String {
    render(
        &json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": manifests.iter().map(|(digest, size, arch)| json!({
                "mediaType": S2,
                "size": size,
                "digest": digest,
                "platform": {"architecture": arch, "os": "linux"},
            })).collect::<Vec<_>>(),
        }),
        layout,
    )
}
