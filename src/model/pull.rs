//! The reads of the registry API (the pull path, spec `registry-api.md`) that are not
//! BatchGetImage: a repository's tags a page at a time, and a blob by digest. Manifests are
//! answered by [`batch_get_image`](super::batch_get_image) itself. Pure, like the rest of the
//! model.

use crate::wire;

use super::error::OpError;
use super::names::RepositoryName;
use super::pages::Page;
use super::registry::{Registry, StoredBlob, StoredRepository};

/// One page of `tags/list`: tags in sorted order, and the opaque token of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPage {
    /// The repository's name.
    pub name: String,
    /// This page's tags.
    pub tags: Vec<String>,
    /// The `last` of the next page, when there is one (an opaque token, not a tag).
    pub next: Option<String>,
}

impl Registry {
    /// The caller's repository `name`: `InvalidParameterException` for a malformed name,
    /// `RepositoryNotFoundException` for an unknown one.
    pub fn own_repository(&self, name: &str) -> Result<&StoredRepository, OpError> {
        let name = RepositoryName::parse(name)?;
        self.repository(self.account.as_str(), name.as_str())
            .ok_or_else(|| OpError::repository_not_found(name.as_str(), self.account.as_str()))
    }

    /// A page of the tags of the caller's repository `name`: at most `n` (1 to 1000, 100 by
    /// default), after the page that `last` continues.
    pub fn tags_page(
        &self,
        name: &str,
        n: Option<i64>,
        last: Option<&str>,
    ) -> Result<TagPage, OpError> {
        let repository = self.own_repository(name)?;
        let listing = format!("tags/list/{}/{}", repository.registry_id, repository.name);
        let page = Page::of(&listing, n, last)?;
        let mut tags: Vec<String> = repository.tags.keys().map(ToString::to_string).collect();
        tags.sort();
        let (tags, next) = page.take(&listing, tags);
        Ok(TagPage {
            name: repository.name.to_string(),
            tags,
            next,
        })
    }

    /// The uploaded blob `digest` of the caller's repository `name`, if there is one.
    pub fn blob(&self, name: &str, digest: &str) -> Result<Option<&StoredBlob>, OpError> {
        Ok(self.own_repository(name)?.blobs.get(digest))
    }
}

/// The BatchGetImage request a registry-API manifest request stands for (spec
/// `registry-api.md` section 2): the reference as `imageTag` or `imageDigest`, every accepted
/// media type as `acceptedMediaTypes` (omitted when there is none).
pub fn manifest_request(
    name: &str,
    reference: &wire::registry::Reference,
    accepted: &[String],
) -> wire::BatchGetImageRequest {
    let id = match reference {
        wire::registry::Reference::Tag(tag) => wire::ImageIdentifier::tag(tag.clone()),
        wire::registry::Reference::Digest(digest) => wire::ImageIdentifier::digest(digest.clone()),
    };
    wire::BatchGetImageRequest {
        registry_id: None,
        repository_name: Some(name.to_owned()),
        image_ids: Some(vec![id]),
        accepted_media_types: (!accepted.is_empty()).then(|| accepted.to_vec()),
    }
}
