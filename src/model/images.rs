//! StoredImage writes: PutImage and BatchDeleteImage (spec section 7).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::wire;

use super::error::{OpError, required};
use super::lookup::{
    Agreement, Lookup, REASON_INVALID_DIGEST, REASON_MISMATCH, REASON_MISSING, REASON_NOT_FOUND,
};
use super::manifest::{Contents, StoredManifest};
use super::names::{ImageDigest, ImageTag, MediaType};
use super::registry::{Registry, StoredImage, StoredRepository, TagMutability};
use super::request::{check_image_ids, failure};

/// The longest manifest, in characters.
pub const MAX_MANIFEST_CHARS: usize = 4_194_304;

/// What PutImage reads from its request alone (the manifest parsed, its digest and media
/// type, the tag), so that a server can do it before taking a lock on the state. Its error,
/// if any, is given only after the repository's own checks, in [`Registry::put_prepared_image`].
#[derive(Debug, Clone)]
pub struct PreparedImage(Result<(StoredManifest, Option<ImageTag>), OpError>);

impl PreparedImage {
    /// Reads `request`.
    pub fn of(request: &wire::PutImageRequest) -> Self {
        Self(prepare(request))
    }
}

fn prepare(request: &wire::PutImageRequest) -> Result<(StoredManifest, Option<ImageTag>), OpError> {
    let manifest = required(request.image_manifest.as_deref(), "imageManifest")?;
    check_manifest_length(manifest)?;
    let tag = request
        .image_tag
        .as_deref()
        .map(parse_stored_tag)
        .transpose()?;
    let media_type = pushed_media_type(manifest, request.image_manifest_media_type.as_deref())?;
    let stored = StoredManifest::new(manifest.to_owned(), media_type);
    if let Some(given) = request.image_digest.as_deref()
        && given != stored.digest.as_str()
    {
        return Err(OpError::new(
            "ImageDigestDoesNotMatchException",
            format!(
                "Provided digest {given} does not match the digest of the manifest, {}",
                stored.digest
            ),
        ));
    }
    Ok((stored, tag))
}

impl Registry {
    /// `PutImage` at time `now` (seconds since the epoch): stores the manifest under its
    /// digest and points the tag at it.
    pub fn put_image(
        &mut self,
        request: &wire::PutImageRequest,
        now: f64,
    ) -> Result<wire::PutImageResponse, OpError> {
        self.put_prepared_image(request, PreparedImage::of(request), now)
    }

    /// `PutImage` of `request`, read beforehand as `prepared`. A new image past
    /// [`Limits`](super::Limits) is `LimitExceededException`.
    pub fn put_prepared_image(
        &mut self,
        request: &wire::PutImageRequest,
        prepared: PreparedImage,
        now: f64,
    ) -> Result<wire::PutImageResponse, OpError> {
        let require_blobs = self.require_blobs;
        let (registry_id, name) = (
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        );
        self.target_mut(registry_id, name)?;
        let (stored, tag) = prepared.0?;
        let repository = self.target_mut(registry_id, name)?;
        check_references(repository, &stored, require_blobs)?;
        if !repository.images.contains_key(&stored.digest) {
            let images = repository.images.len();
            self.check_new_image(images, stored.bytes.len() as u64)?;
        }
        let repository = self.target_mut(registry_id, name)?;
        store(repository, stored, tag, now)
    }

    /// `BatchDeleteImage`: by tag removes the tag (and the image with its last tag); by digest
    /// removes the image and all its tags.
    pub fn batch_delete_image(
        &mut self,
        request: &wire::BatchDeleteImageRequest,
    ) -> Result<wire::BatchDeleteImageResponse, OpError> {
        let ids = check_image_ids(request.image_ids.as_deref())?;
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let mut deleted = Vec::new();
        let mut failures = Vec::new();
        for id in ids {
            match delete_one(repository, id) {
                Ok(mut ids) => deleted.append(&mut ids),
                Err((code, reason)) => failures.push(failure(id, code, reason)),
            }
        }
        Ok(wire::BatchDeleteImageResponse {
            image_ids: Some(deleted),
            failures: Some(failures),
        })
    }
}

fn check_manifest_length(manifest: &str) -> Result<(), OpError> {
    let constraint = match manifest.chars().count() {
        0 => "Member must have length greater than or equal to 1",
        n if n > MAX_MANIFEST_CHARS => "Member must have length less than or equal to 4194304",
        _ => return Ok(()),
    };
    Err(OpError::invalid(format!(
        "Invalid parameter at 'imageManifest' failed to satisfy constraint: '{constraint}'"
    )))
}

/// A tag PutImage accepts: 1..=300 characters from `[a-zA-Z0-9-_.]`. The character rule is
/// the model's choice (the service model has none): it keeps the state free of tags that
/// BatchGetImage may refuse as `InvalidImageTag`.
fn parse_stored_tag(tag: &str) -> Result<ImageTag, OpError> {
    let tag = ImageTag::parse(tag)?;
    if !ImageTag::has_plain_characters(tag.as_str()) {
        return Err(OpError::invalid(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''",
        ));
    }
    Ok(tag)
}

/// The media type of a push: `imageManifestMediaType`, else the manifest's `mediaType`.
fn pushed_media_type(manifest: &str, given: Option<&str>) -> Result<MediaType, OpError> {
    let invalid_json = || {
        OpError::invalid(
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
        )
    };
    let contents = Contents::parse(manifest).ok_or_else(invalid_json)?;
    let (member, media_type) = match (given, contents.media_type) {
        (Some(given), _) => ("imageManifestMediaType", given.to_owned()),
        (None, Some(inner)) => ("ImageManifest", inner),
        (None, None) => return Err(invalid_json()),
    };
    if !MediaType::is_header_value(&media_type) {
        return Err(OpError::invalid(format!(
            "Invalid parameter at '{member}' failed to satisfy constraint: '{MEDIA_TYPE_CONSTRAINT}'"
        )));
    }
    Ok(MediaType::new(media_type))
}

/// The constraint a stored media type must meet: a registry GET answers it as `Content-Type`,
/// so one that cannot be an HTTP field value is refused at the push, as ECR refuses a media
/// type it does not take (`InvalidParameterException`, spec section 7 and the service model's
/// PutImage errors), rather than stored and answered with a broken header.
const MEDIA_TYPE_CONSTRAINT: &str = "Media type must be a valid HTTP header value";

fn check_references(
    repository: &StoredRepository,
    stored: &StoredManifest,
    require_blobs: bool,
) -> Result<(), OpError> {
    if stored.format.is_list() {
        let missing: Vec<&str> = stored
            .contents
            .manifests
            .iter()
            .map(String::as_str)
            .filter(|d| !repository.images.contains_key(*d))
            .collect();
        if !missing.is_empty() {
            return Err(OpError::new(
                "ReferencedImagesNotFoundException",
                format!(
                    "Some of the referenced images were not found: {}",
                    missing.join(", ")
                ),
            ));
        }
    } else if require_blobs {
        let missing: Vec<&str> = stored
            .contents
            .blobs()
            .filter(|d| !repository.blobs.contains_key(*d))
            .collect();
        if !missing.is_empty() {
            return Err(OpError::new(
                "LayersNotFoundException",
                format!(
                    "Layers with digests '[{}]' required for pushing image into repository with name '{}' in the registry with id '{}' do not exist",
                    missing.join(", "),
                    repository.name,
                    repository.registry_id
                ),
            ));
        }
    }
    Ok(())
}

fn store(
    repository: &mut StoredRepository,
    stored: StoredManifest,
    tag: Option<ImageTag>,
    now: f64,
) -> Result<wire::PutImageResponse, OpError> {
    let digest = stored.digest.clone();
    let existing = repository.images.get(&digest);
    let already = match (&tag, existing) {
        (None, Some(_)) => true,
        (Some(tag), Some(image)) => image.tags.contains(tag),
        (_, None) => false,
    };
    if already {
        let tag_text = tag.as_ref().map(ImageTag::as_str).unwrap_or("");
        return Err(OpError::new(
            "ImageAlreadyExistsException",
            format!(
                "Image with digest '{digest}' and tag '{tag_text}' already exists in the repository with name '{}' in registry with id '{}'",
                repository.name, repository.registry_id
            ),
        ));
    }
    if let Some(tag) = &tag {
        move_tag(repository, tag, &digest)?;
    }
    let response = wire::PutImageResponse {
        image: Some(wire::Image {
            registry_id: Some(repository.registry_id.to_string()),
            repository_name: Some(repository.name.to_string()),
            image_id: Some(wire::ImageIdentifier {
                image_digest: Some(digest.to_string()),
                image_tag: tag.as_ref().map(ToString::to_string),
            }),
            image_manifest: Some(stored.bytes.clone()),
            image_manifest_media_type: Some(stored.media_type.to_string()),
        }),
    };
    let image = repository
        .images
        .entry(digest.clone())
        .or_insert_with(|| StoredImage {
            manifest: Arc::new(stored),
            tags: BTreeSet::new(),
            pushed_at: now,
        });
    if let Some(tag) = tag {
        image.tags.insert(tag.clone());
        repository.point_tag(tag, digest);
    }
    Ok(response)
}

/// Takes `tag` off the image it points at, unless the repository is immutable.
fn move_tag(
    repository: &mut StoredRepository,
    tag: &ImageTag,
    to: &ImageDigest,
) -> Result<(), OpError> {
    let Some(from) = repository.tags.get(tag).cloned() else {
        return Ok(());
    };
    if &from == to {
        return Ok(());
    }
    if repository.mutability == TagMutability::Immutable {
        return Err(OpError::new(
            "ImageTagAlreadyExistsException",
            format!(
                "The image tag '{tag}' already exists in the '{}' repository and cannot be overwritten because the repository is immutable.",
                repository.name
            ),
        ));
    }
    if let Some(old) = repository.images.get_mut(&from) {
        old.tags.remove(tag);
    }
    Ok(())
}

type Failure = (&'static str, &'static str);

fn delete_one(
    repository: &mut StoredRepository,
    id: &wire::ImageIdentifier,
) -> Result<Vec<wire::ImageIdentifier>, Failure> {
    let (digest, tag) = match Lookup::of(repository, id) {
        Lookup::MissingBoth => return Err(("MissingDigestAndTag", REASON_MISSING)),
        Lookup::InvalidDigest => return Err(("InvalidImageDigest", REASON_INVALID_DIGEST)),
        Lookup::Tag {
            image: Some(image), ..
        } => (image.manifest.digest.clone(), id.image_tag.clone()),
        Lookup::Digest {
            image: Some(image), ..
        } => (image.manifest.digest.clone(), None),
        Lookup::TagAndDigest {
            tagged: Some(_),
            agrees: Agreement::No | Agreement::IgnoringHexCase,
        } => {
            return Err(("ImageTagDoesNotMatchDigest", REASON_MISMATCH));
        }
        Lookup::TagAndDigest {
            tagged: Some(image),
            agrees: Agreement::Exactly,
        } => (image.manifest.digest.clone(), id.image_tag.clone()),
        _ => return Err(("ImageNotFound", REASON_NOT_FOUND)),
    };
    let image = repository
        .images
        .get(&digest)
        .ok_or(("ImageNotFound", REASON_NOT_FOUND))?;
    let removes_image = tag.is_none() || image.tags.len() <= 1;
    if removes_image && repository.is_referenced_by_list(&digest) {
        return Err((
            "ImageReferencedByManifestList",
            "Requested image is referenced by a manifest list",
        ));
    }
    let removed_tags: Vec<ImageTag> = match &tag {
        Some(t) => image
            .tags
            .iter()
            .filter(|x| x.as_str() == t)
            .cloned()
            .collect(),
        None => image.tags.iter().cloned().collect(),
    };
    for t in &removed_tags {
        repository.remove_tag(t);
    }
    if removes_image {
        repository.images.remove(&digest);
    } else if let Some(image) = repository.images.get_mut(&digest) {
        image.tags.retain(|t| !removed_tags.contains(t));
    }
    let as_id = |t: Option<&ImageTag>| wire::ImageIdentifier {
        image_digest: Some(digest.to_string()),
        image_tag: t.map(ToString::to_string),
    };
    Ok(match removed_tags.is_empty() {
        true => vec![as_id(None)],
        false => removed_tags.iter().map(|t| as_id(Some(t))).collect(),
    })
}
