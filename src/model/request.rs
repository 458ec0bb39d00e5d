//! Whole-request validation of BatchGetImage and BatchDeleteImage (spec section 2).

use crate::wire;

use super::error::{OpError, required};
use super::expected::RequestCause;
use super::names::{ImageTag, RegistryId, RepositoryName};

/// A whole-request validation failure and its cause.
pub(crate) type Invalid = (RequestCause, OpError);

/// The validated parts of a BatchGetImage request.
pub(crate) struct Validated<'a> {
    pub registry_id: Option<RegistryId>,
    pub repository_name: RepositoryName,
    pub image_ids: &'a [wire::ImageIdentifier],
    pub accepted: Option<&'a [String]>,
}

/// Validates members in the spec's order: registry id, name, ids, tags, media types.
pub(crate) fn validate(request: &wire::BatchGetImageRequest) -> Result<Validated<'_>, Invalid> {
    let registry_id = request
        .registry_id
        .as_deref()
        .map(RegistryId::parse)
        .transpose()
        .map_err(|e| (RequestCause::RegistryId, e.into()))?;
    let name = request
        .repository_name
        .as_deref()
        .ok_or_else(|| (RequestCause::Malformed, OpError::missing("repositoryName")))?;
    let repository_name =
        RepositoryName::parse(name).map_err(|e| (RequestCause::RepositoryName, e.into()))?;
    let image_ids = check_image_ids(request.image_ids.as_deref()).map_err(|e| {
        let cause = if request.image_ids.is_none() {
            RequestCause::Malformed
        } else {
            RequestCause::ImageIdsCount
        };
        (cause, e)
    })?;
    for tag in image_ids.iter().filter_map(|id| id.image_tag.as_deref()) {
        ImageTag::parse(tag).map_err(|e| (RequestCause::TagLength, e.into()))?;
    }
    let accepted = request.accepted_media_types.as_deref();
    if let Some(types) = accepted {
        check_count("acceptedMediaTypes", types.len())
            .map_err(|e| (RequestCause::MediaTypesCount, e))?;
    }
    Ok(Validated {
        registry_id,
        repository_name,
        image_ids,
        accepted,
    })
}

/// `imageIds`: present, with 1..=100 ids.
pub(crate) fn check_image_ids(
    ids: Option<&[wire::ImageIdentifier]>,
) -> Result<&[wire::ImageIdentifier], OpError> {
    let ids = required(ids, "imageIds")?;
    check_count("imageIds", ids.len())?;
    Ok(ids)
}

/// A list member with 1..=100 entries.
pub(crate) fn check_count(member: &str, len: usize) -> Result<(), OpError> {
    let constraint = match len {
        0 => "Member must have length greater than or equal to 1",
        1..=100 => return Ok(()),
        _ => "Member must have length less than or equal to 100",
    };
    Err(OpError::invalid(format!(
        "Invalid parameter at '{member}' failed to satisfy constraint: '{constraint}'"
    )))
}

/// The limits a valid request sits exactly at.
pub(crate) fn limits_reached(request: &Validated<'_>) -> Vec<RequestCause> {
    let mut out = Vec::new();
    let name_len = request.repository_name.as_str().chars().count();
    if name_len == 2 || name_len == 256 {
        out.push(RequestCause::RepositoryName);
    }
    if request.image_ids.len() == 100 {
        out.push(RequestCause::ImageIdsCount);
    }
    let tag_lens = request
        .image_ids
        .iter()
        .filter_map(|id| id.image_tag.as_deref())
        .map(|t| t.chars().count());
    if tag_lens.into_iter().any(|n| n == 1 || n == 300) {
        out.push(RequestCause::TagLength);
    }
    if request.accepted.is_some_and(|t| t.len() == 100) {
        out.push(RequestCause::MediaTypesCount);
    }
    out
}

/// A failure entry echoing `id`.
pub(crate) fn failure(id: &wire::ImageIdentifier, code: &str, reason: &str) -> wire::ImageFailure {
    wire::ImageFailure {
        image_id: Some(id.clone()),
        failure_code: Some(code.to_owned()),
        failure_reason: Some(reason.to_owned()),
    }
}
