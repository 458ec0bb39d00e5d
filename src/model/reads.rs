//! The read operations common clients call besides BatchGetImage: DescribeRepositories,
//! ListImages, DescribeImages, BatchCheckLayerAvailability. The three listings are paginated
//! as ECR documents it (see [`pages`](super::pages)).

use crate::wire;

use super::error::{OpError, required};
use super::lookup::{Agreement, Lookup};
use super::names::RepositoryName;
use super::pages::{Page, not_with};
use super::registry::{Registry, StoredImage, StoredRepository};
use super::request::{check_count, check_image_ids};

impl Registry {
    /// The repository named by `registryId` and `repositoryName`, for a read.
    fn target(
        &self,
        registry_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<&StoredRepository, OpError> {
        let registry = self.resolve_registry(registry_id)?;
        let name = RepositoryName::parse(required(name, "repositoryName")?)?;
        self.repository(registry.as_str(), name.as_str())
            .ok_or_else(|| OpError::repository_not_found(name.as_str(), registry.as_str()))
    }

    /// `DescribeRepositories`: the named repositories, or a page of all of them, by name.
    /// `repositoryNames` cannot be combined with `maxResults` or `nextToken`.
    pub fn describe_repositories(
        &self,
        request: &wire::DescribeRepositoriesRequest,
    ) -> Result<wire::DescribeRepositoriesResponse, OpError> {
        let registry = self.resolve_registry(request.registry_id.as_deref())?;
        let (max_results, next_token) = (request.max_results, request.next_token.as_deref());
        if let Some(names) = &request.repository_names {
            not_with("repositoryNames", max_results, next_token)?;
            check_count("repositoryNames", names.len())?;
            let mut found: Vec<&StoredRepository> = names
                .iter()
                .map(|n| self.target(Some(registry.as_str()), Some(n)))
                .collect::<Result<_, _>>()?;
            found.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(wire::DescribeRepositoriesResponse {
                repositories: Some(found.iter().map(|r| r.to_wire(&self.region)).collect()),
                next_token: None,
            });
        }
        let listing = format!("DescribeRepositories/{registry}");
        let page = Page::of(&listing, max_results, next_token)?;
        let mut all: Vec<&StoredRepository> = self
            .repositories()
            .filter(|r| r.registry_id == registry)
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let (found, next_token) = page.take(&listing, all);
        Ok(wire::DescribeRepositoriesResponse {
            repositories: Some(found.iter().map(|r| r.to_wire(&self.region)).collect()),
            next_token,
        })
    }

    /// `ListImages`: one id per tag, and one digest-only id per untagged image.
    pub fn list_images(
        &self,
        request: &wire::ListImagesRequest,
    ) -> Result<wire::ListImagesResponse, OpError> {
        let repository = self.target(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let status = tag_status(request.filter.as_ref())?;
        let listing = listing("ListImages", repository, status);
        let page = Page::of(&listing, request.max_results, request.next_token.as_deref())?;
        let mut ids = Vec::new();
        for image in sorted(repository) {
            let digest = image.manifest.digest.to_string();
            match (image.tags.is_empty(), status) {
                (true, "UNTAGGED" | "ANY") => ids.push(wire::ImageIdentifier::digest(digest)),
                (false, "TAGGED" | "ANY") => {
                    ids.extend(
                        image
                            .tags
                            .iter()
                            .map(|t| wire::ImageIdentifier::tag_and_digest(t.as_str(), &digest)),
                    );
                }
                _ => {}
            }
        }
        let (ids, next_token) = page.take(&listing, ids);
        Ok(wire::ListImagesResponse {
            image_ids: Some(ids),
            next_token,
        })
    }

    /// `DescribeImages`: details of the named images, or a page of every image. `imageIds`
    /// cannot be combined with `maxResults` or `nextToken`.
    pub fn describe_images(
        &self,
        request: &wire::DescribeImagesRequest,
    ) -> Result<wire::DescribeImagesResponse, OpError> {
        let repository = self.target(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let status = tag_status(request.filter.as_ref())?;
        let (max_results, next_token) = (request.max_results, request.next_token.as_deref());
        let listing = listing("DescribeImages", repository, status);
        let (images, next_token): (Vec<&StoredImage>, _) = match &request.image_ids {
            Some(ids) => {
                not_with("imageIds", max_results, next_token)?;
                (named_images(repository, ids)?, None)
            }
            None => {
                let page = Page::of(&listing, max_results, next_token)?;
                let all = sorted(repository)
                    .into_iter()
                    .filter(|i| match status {
                        "TAGGED" => !i.tags.is_empty(),
                        "UNTAGGED" => i.tags.is_empty(),
                        _ => true,
                    })
                    .collect();
                page.take(&listing, all)
            }
        };
        let details = images.iter().map(|i| detail(repository, i)).collect();
        Ok(wire::DescribeImagesResponse {
            image_details: Some(details),
            next_token,
        })
    }

    /// `BatchCheckLayerAvailability`: which blobs the repository has.
    pub fn batch_check_layer_availability(
        &self,
        request: &wire::BatchCheckLayerAvailabilityRequest,
    ) -> Result<wire::BatchCheckLayerAvailabilityResponse, OpError> {
        let repository = self.target(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let digests = required(request.layer_digests.as_deref(), "layerDigests")?;
        let mut layers = Vec::new();
        let mut failures = Vec::new();
        for digest in digests {
            match repository.blobs.get(digest) {
                Some(blob) => layers.push(wire::Layer {
                    layer_digest: Some(digest.clone()),
                    layer_availability: Some("AVAILABLE".into()),
                    layer_size: Some(i64::try_from(blob.size()).unwrap_or(i64::MAX)),
                    media_type: Some(layer_media_type(repository, digest)),
                }),
                None => failures.push(wire::LayerFailure {
                    layer_digest: Some(digest.clone()),
                    failure_code: Some("MissingLayerDigest".into()),
                    failure_reason: Some("Could not find layer".into()),
                }),
            }
        }
        Ok(wire::BatchCheckLayerAvailabilityResponse {
            layers: Some(layers),
            failures: Some(failures),
        })
    }
}

/// The images `ids` name, each of which must exist.
fn named_images<'a>(
    repository: &'a StoredRepository,
    ids: &[wire::ImageIdentifier],
) -> Result<Vec<&'a StoredImage>, OpError> {
    check_image_ids(Some(ids))?
        .iter()
        .map(|id| match Lookup::of(repository, id) {
            Lookup::Tag { image: Some(i), .. }
            | Lookup::Digest { image: Some(i), .. }
            | Lookup::TagAndDigest { tagged: Some(i), agrees: Agreement::Exactly } => Ok(i),
            _ => Err(OpError::new(
                "ImageNotFoundException",
                format!("The image with imageId {} does not exist within the repository with name '{}' in the registry with id '{}'",
                    serde_json::to_string(id).unwrap_or_default(), repository.name, repository.registry_id),
            )),
        })
        .collect()
}

fn tag_status(filter: Option<&wire::ImagesFilter>) -> Result<&str, OpError> {
    match filter
        .and_then(|f| f.tag_status.as_deref())
        .unwrap_or("ANY")
    {
        s @ ("TAGGED" | "UNTAGGED" | "ANY") => Ok(s),
        other => Err(OpError::invalid(format!(
            "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]', found '{other}'"
        ))),
    }
}

/// What a token of `operation` over `repository` with `status` continues.
fn listing(operation: &str, repository: &StoredRepository, status: &str) -> String {
    format!(
        "{operation}/{}/{}/{status}",
        repository.registry_id, repository.name
    )
}

/// Images in push order (then by digest), for stable listings.
fn sorted(repository: &StoredRepository) -> Vec<&StoredImage> {
    let mut images: Vec<&StoredImage> = repository.images.values().collect();
    images.sort_by(|a, b| {
        a.pushed_at
            .total_cmp(&b.pushed_at)
            .then_with(|| a.manifest.digest.cmp(&b.manifest.digest))
    });
    images
}

/// The media type BatchCheckLayerAvailability reports for a blob no manifest describes: what
/// ECR reports for layers uploaded through its API.
pub const UPLOADED_LAYER_MEDIA_TYPE: &str =
    "application/vnd.docker.container.image.rootfs.diff+x-gzip";

/// The `artifactMediaType` of an image without a config: Docker's image config type, as ECR
/// reports for schema 1 manifests.
pub const DEFAULT_ARTIFACT_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";

/// The media type of blob `digest`, from the first manifest in the repository that names it.
fn layer_media_type(repository: &StoredRepository, digest: &str) -> String {
    sorted(repository)
        .into_iter()
        .flat_map(|i| {
            let c = &i.manifest.contents;
            c.config.iter().chain(&c.layers)
        })
        .find(|d| d.digest == digest)
        .and_then(|d| d.media_type.clone())
        .unwrap_or_else(|| UPLOADED_LAYER_MEDIA_TYPE.to_owned())
}

/// An image's `imageSizeInBytes`: the sizes of its config and layers added up, or for a
/// manifest list the largest of its manifests' sizes (service model, `imageSizeInBytes`).
/// Saturating: sizes come from pushed manifests, which may claim anything.
fn image_size(repository: &StoredRepository, image: &StoredImage) -> i64 {
    let contents = &image.manifest.contents;
    if image.manifest.format.is_list() {
        return contents
            .manifests
            .iter()
            .filter_map(|d| repository.images.get(d.as_str()))
            .filter(|i| !i.manifest.format.is_list())
            .map(|i| image_size(repository, i))
            .max()
            .unwrap_or(0);
    }
    contents
        .config
        .iter()
        .chain(&contents.layers)
        .filter_map(|d| d.size)
        .fold(0i64, |sum, size| sum.saturating_add(size.max(0)))
}

/// An image's `artifactMediaType`: its config's media type (the index's own type for a list).
fn artifact_media_type(image: &StoredImage) -> String {
    let contents = &image.manifest.contents;
    if image.manifest.format.is_list() {
        return image.manifest.media_type.to_string();
    }
    contents
        .config
        .as_ref()
        .and_then(|c| c.media_type.clone())
        .unwrap_or_else(|| DEFAULT_ARTIFACT_MEDIA_TYPE.to_owned())
}

fn detail(repository: &StoredRepository, image: &StoredImage) -> wire::ImageDetail {
    wire::ImageDetail {
        registry_id: Some(repository.registry_id.to_string()),
        repository_name: Some(repository.name.to_string()),
        image_digest: Some(image.manifest.digest.to_string()),
        image_tags: (!image.tags.is_empty())
            .then(|| image.tags.iter().map(ToString::to_string).collect()),
        image_size_in_bytes: Some(image_size(repository, image)),
        image_pushed_at: Some(image.pushed_at),
        image_manifest_media_type: Some(image.manifest.media_type.to_string()),
        artifact_media_type: Some(artifact_media_type(image)),
    }
}
