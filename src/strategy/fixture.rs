//! The standard fixture: a small registry with one image of every kind the spec talks about,
//! built through the same calls a harness sends to a server.

use crate::model::manifest::Format;
use crate::model::{Call, ImageDigest, ImageManifest};
use crate::wire::{CreateRepositoryRequest, PutImageRequest};

use super::manifests::{
    ContentBlob, Layout, S1_MEDIA_TYPE, exotic, manifest_list, oci, schema1, schema2,
};

/// The fixture's account.
pub const ACCOUNT: &str = "123456789012";
/// Its region.
pub const REGION: &str = "us-east-1";

/// A named image of the fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureImage {
    /// Its name in contract cases, such as `s2`.
    pub name: &'static str,
    /// The repository it is pushed to.
    pub repository: &'static str,
    /// The manifest as pushed.
    pub manifest: String,
    /// The media type it is pushed with.
    pub media_type: &'static str,
    /// Its digest.
    pub digest: String,
    /// Its tags, in push order.
    pub tags: Vec<&'static str>,
}

/// For [`Registry::builder`](crate::model::Registry::builder): `.image(&fixture_image)`.
impl From<&FixtureImage> for ImageManifest {
    fn from(image: &FixtureImage) -> Self {
        ImageManifest::new(image.manifest.clone()).with_media_type(image.media_type)
    }
}

/// The fixture: repositories, named images, and the calls that build them.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// `(name, immutable)` of each repository.
    pub repositories: Vec<(&'static str, bool)>,
    /// The images.
    pub images: Vec<FixtureImage>,
    /// Every blob (config or layer) the images name.
    pub blobs: Vec<ContentBlob>,
}

impl Fixture {
    /// The image named `name`.
    pub fn image(&self, name: &str) -> Option<&FixtureImage> {
        self.images.iter().find(|i| i.name == name)
    }

    /// The calls that build the fixture: repositories, then each image once per tag (the
    /// first push stores it, the others add tags), untagged images without a tag.
    pub fn calls(&self) -> Vec<Call> {
        let mut calls: Vec<Call> = self
            .repositories
            .iter()
            .map(|(name, immutable)| {
                Call::CreateRepository(CreateRepositoryRequest {
                    repository_name: Some((*name).to_owned()),
                    image_tag_mutability: immutable.then(|| "IMMUTABLE".to_owned()),
                    ..Default::default()
                })
            })
            .collect();
        for image in &self.images {
            let put = |tag: Option<&str>| {
                Call::PutImage(PutImageRequest {
                    repository_name: Some(image.repository.to_owned()),
                    image_manifest: Some(image.manifest.clone()),
                    image_manifest_media_type: Some(image.media_type.to_owned()),
                    image_tag: tag.map(str::to_owned),
                    ..Default::default()
                })
            };
            match image.tags.as_slice() {
                [] => calls.push(put(None)),
                tags => calls.extend(tags.iter().map(|t| put(Some(t)))),
            }
        }
        calls
    }
}

fn image(
    name: &'static str,
    repository: &'static str,
    manifest: String,
    format: Format,
    tags: &[&'static str],
) -> FixtureImage {
    let media_type = match format {
        Format::S1 => S1_MEDIA_TYPE,
        other => other.media_type().unwrap_or_default(),
    };
    let digest = ImageDigest::of(manifest.as_bytes()).to_string();
    FixtureImage {
        name,
        repository,
        manifest,
        media_type,
        digest,
        tags: tags.to_vec(),
    }
}

/// The standard fixture.
///
/// | image | repository | kind | tags |
/// | --- | --- | --- | --- |
/// | `s2` | `team/app` | Docker schema 2 | `v1`, `latest` |
/// | `s2b` | `team/app` | Docker schema 2 | `v2` |
/// | `oci` | `team/app` | OCI | `oci` |
/// | `s1` | `team/app` | Docker schema 1 (signed type) | `s1` |
/// | `orphan` | `team/app` | Docker schema 2, compact | none |
/// | `list` | `team/app` | manifest list of `s2` and `oci` | `multi` |
/// | `pinned` | `locked` (immutable) | Docker schema 2 | `stable` |
/// | `precise` | `ubuntu` | Docker schema 1 | `precise` (the AWS API reference example) |
/// | `exotic` | `team/app` | OCI with `\r\n`, odd key order, multibyte UTF-8 and escapes | `exotic` |
pub fn fixture() -> Fixture {
    let b = ContentBlob::from_seed;
    let s2 = image(
        "s2",
        "team/app",
        schema2(&b("c1"), &[b("l1"), b("l2")], Layout::Docker),
        Format::S2,
        &["v1", "latest"],
    );
    let oci = image(
        "oci",
        "team/app",
        oci(&b("c3"), &[b("l4"), b("l5")], Layout::Docker),
        Format::Oci,
        &["oci"],
    );
    let list_manifest = manifest_list(
        &[
            (&s2.digest, s2.manifest.len(), "amd64"),
            (&oci.digest, oci.manifest.len(), "arm64"),
        ],
        Layout::Docker,
    );
    let seeds = [
        "c1", "c2", "c3", "c4", "c5", "c6", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9",
        "u1", "u2",
    ];
    Fixture {
        blobs: seeds.iter().map(|s| b(s)).collect(),
        repositories: vec![("team/app", false), ("locked", true), ("ubuntu", false)],
        images: vec![
            s2,
            image(
                "s2b",
                "team/app",
                schema2(&b("c2"), &[b("l3")], Layout::Docker),
                Format::S2,
                &["v2"],
            ),
            oci,
            image(
                "s1",
                "team/app",
                schema1("team/app", "s1", &[b("l6")], Layout::Indented),
                Format::S1,
                &["s1"],
            ),
            image(
                "orphan",
                "team/app",
                schema2(&b("c4"), &[b("l7")], Layout::Compact),
                Format::S2,
                &[],
            ),
            image(
                "list",
                "team/app",
                list_manifest,
                Format::DockerList,
                &["multi"],
            ),
            image(
                "pinned",
                "locked",
                schema2(&b("c5"), &[b("l8")], Layout::Docker),
                Format::S2,
                &["stable"],
            ),
            image(
                "precise",
                "ubuntu",
                schema1("ubuntu", "precise", &[b("u1"), b("u2")], Layout::Docker),
                Format::S1,
                &["precise"],
            ),
            image(
                "exotic",
                "team/app",
                exotic(&b("c6"), &[b("l9")]),
                Format::Oci,
                &["exotic"],
            ),
        ],
    }
}
