//! The read operations common clients call besides BatchGetImage: DescribeRepositories,
//! ListImages, DescribeImages, BatchCheckLayerAvailability. Everything fits in one page, so
//! no `nextToken` is ever returned.

use crate::wire;

use super::error::{OpError, required};
use super::lookup::{Agreement, Lookup};
use super::names::RepositoryName;
use super::registry::{Image, Registry, Repository};
use super::request::check_image_ids;

impl Registry {
    /// The repository named by `registryId` and `repositoryName`, for a read.
    fn target(
        &self,
        registry_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<&Repository, OpError> {
        let registry = self.resolve_registry(registry_id)?;
        let name = RepositoryName::parse(required(name, "repositoryName")?)?;
        self.repository(registry.as_str(), name.as_str())
            .ok_or_else(|| OpError::repository_not_found(name.as_str(), registry.as_str()))
    }

    /// `DescribeRepositories`: the named repositories (all, when none are named), by name.
    pub fn describe_repositories(
        &self,
        request: &wire::DescribeRepositoriesRequest,
    ) -> Result<wire::DescribeRepositoriesResponse, OpError> {
        let registry = self.resolve_registry(request.registry_id.as_deref())?;
        let mut found: Vec<&Repository> = match &request.repository_names {
            Some(names) => names
                .iter()
                .map(|n| self.target(Some(registry.as_str()), Some(n)))
                .collect::<Result<_, _>>()?,
            None => self
                .repositories()
                .filter(|r| r.registry_id == registry)
                .collect(),
        };
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let repositories = found.iter().map(|r| r.to_wire(&self.region)).collect();
        Ok(wire::DescribeRepositoriesResponse {
            repositories: Some(repositories),
            next_token: None,
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
        Ok(wire::ListImagesResponse {
            image_ids: Some(ids),
            next_token: None,
        })
    }

    /// `DescribeImages`: details of the named images, or of every image.
    pub fn describe_images(
        &self,
        request: &wire::DescribeImagesRequest,
    ) -> Result<wire::DescribeImagesResponse, OpError> {
        let repository = self.target(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let status = tag_status(request.filter.as_ref())?;
        let images: Vec<&Image> = match &request.image_ids {
            Some(ids) => check_image_ids(Some(ids))?
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
                .collect::<Result<_, _>>()?,
            None => sorted(repository)
                .into_iter()
                .filter(|i| match status {
                    "TAGGED" => !i.tags.is_empty(),
                    "UNTAGGED" => i.tags.is_empty(),
                    _ => true,
                })
                .collect(),
        };
        let details = images.iter().map(|i| detail(repository, i)).collect();
        Ok(wire::DescribeImagesResponse {
            image_details: Some(details),
            next_token: None,
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
                Some(size) => layers.push(wire::Layer {
                    layer_digest: Some(digest.clone()),
                    layer_availability: Some("AVAILABLE".into()),
                    layer_size: Some(i64::try_from(*size).unwrap_or(i64::MAX)),
                    media_type: None,
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

/// Images in push order (then by digest), for stable listings.
fn sorted(repository: &Repository) -> Vec<&Image> {
    let mut images: Vec<&Image> = repository.images.values().collect();
    images.sort_by(|a, b| {
        a.pushed_at
            .total_cmp(&b.pushed_at)
            .then_with(|| a.manifest.digest.cmp(&b.manifest.digest))
    });
    images
}

fn detail(repository: &Repository, image: &Image) -> wire::ImageDetail {
    let size: i64 = image
        .manifest
        .contents
        .config
        .iter()
        .chain(&image.manifest.contents.layers)
        .filter_map(|d| d.size)
        .sum();
    wire::ImageDetail {
        registry_id: Some(repository.registry_id.to_string()),
        repository_name: Some(repository.name.to_string()),
        image_digest: Some(image.manifest.digest.to_string()),
        image_tags: (!image.tags.is_empty())
            .then(|| image.tags.iter().map(ToString::to_string).collect()),
        image_size_in_bytes: Some(size),
        image_pushed_at: Some(image.pushed_at),
        image_manifest_media_type: Some(image.manifest.media_type.to_string()),
    }
}
