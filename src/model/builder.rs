//! [`Registry::builder`]: a registry state written in code, built through the model's own
//! transitions (CreateRepository, PutImage and any other [`Call`]), so it is exactly the state
//! a server that accepted those calls holds. No I/O and no clock: pushes are timed by a counter.

use crate::wire::{CreateRepositoryRequest, PutImageRequest};

use super::error::OpError;
use super::names::{ConstraintError, ImageDigest, RegistryId};
use super::{Call, Registry};

/// A manifest to push and the media type to push it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// The manifest, byte for byte (its digest covers these bytes).
    pub manifest: String,
    /// The media type to push it with; when absent, the manifest's own `mediaType` member
    /// (Docker schema 1 manifests have none, so they need one).
    pub media_type: Option<String>,
}

impl ImageManifest {
    /// `manifest`, pushed with the media type it names.
    pub fn new(manifest: impl Into<String>) -> Self {
        Self {
            manifest: manifest.into(),
            media_type: None,
        }
    }

    /// The same manifest, pushed with `media_type`.
    pub fn with_media_type(mut self, media_type: impl Into<String>) -> Self {
        self.media_type = Some(media_type.into());
        self
    }

    /// Its digest: the SHA-256 of its bytes.
    pub fn digest(&self) -> ImageDigest {
        ImageDigest::of(self.manifest.as_bytes())
    }
}

impl From<String> for ImageManifest {
    fn from(manifest: String) -> Self {
        Self::new(manifest)
    }
}

impl From<&str> for ImageManifest {
    fn from(manifest: &str) -> Self {
        Self::new(manifest)
    }
}

/// Why [`RegistryBuilder::build`] could not build the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The model refused a call, as a server would.
    #[error("call {index} ({operation}) refused")]
    Refused {
        /// The call's position, from 0.
        index: usize,
        /// The operation.
        operation: &'static str,
        /// The model's answer.
        #[source]
        error: OpError,
    },
    /// The account id is not twelve digits.
    #[error("account id")]
    Account(#[source] ConstraintError),
    /// The builder was used out of order.
    #[error("{0}")]
    Order(&'static str),
}

/// Builds a [`Registry`] call by call. Start with [`Registry::builder`].
///
/// ```
/// use ecr_contract::model::Registry;
/// use ecr_contract::strategy::manifests::{ContentBlob, Layout, schema2};
///
/// let config = ContentBlob::from_seed("config");
/// let manifest = schema2(&config, &[ContentBlob::from_seed("layer")], Layout::Docker);
/// let registry = Registry::builder()
///     .repository("team/app")
///     .image(manifest.as_str())
///     .tag("v1")
///     .tag("latest")
///     .build()
///     .expect("the model accepts these calls");
/// let repository = registry.repository("123456789012", "team/app").expect("created");
/// assert_eq!(repository.tags.len(), 2);
/// assert_eq!(repository.images.len(), 1);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RegistryBuilder {
    account: String,
    region: String,
    calls: Vec<Call>,
    repository: Option<String>,
    /// The last image, and whether some call has pushed it yet.
    image: Option<(ImageManifest, bool)>,
    misuse: Option<&'static str>,
}

impl Registry {
    /// A builder for a registry of account `123456789012` in `us-east-1` (the embedded
    /// server's defaults), empty until its calls are added.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            calls: Vec::new(),
            repository: None,
            image: None,
            misuse: None,
        }
    }
}

impl RegistryBuilder {
    /// The caller's account (twelve digits).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// The region, for ARNs and URIs.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Creates a repository with mutable tags; the images that follow go there.
    pub fn repository(self, name: impl Into<String>) -> Self {
        self.create(name.into(), false)
    }

    /// Creates a repository with immutable tags; the images that follow go there.
    pub fn immutable_repository(self, name: impl Into<String>) -> Self {
        self.create(name.into(), true)
    }

    fn create(mut self, name: String, immutable: bool) -> Self {
        self.flush();
        self.calls
            .push(Call::CreateRepository(CreateRepositoryRequest {
                repository_name: Some(name.clone()),
                image_tag_mutability: immutable.then(|| "IMMUTABLE".to_owned()),
                ..Default::default()
            }));
        self.repository = Some(name);
        self
    }

    /// Pushes `manifest` to the current repository: untagged, unless [`tag`](Self::tag)s follow.
    pub fn image(mut self, manifest: impl Into<ImageManifest>) -> Self {
        self.flush();
        if self.repository.is_none() {
            self.misuse.get_or_insert("image() before any repository()");
        }
        self.image = Some((manifest.into(), false));
        self
    }

    /// Points `tag` at the last image (a PutImage of it with that tag; an existing tag moves,
    /// or is refused in an immutable repository).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        match (&mut self.image, &self.repository) {
            (Some((manifest, pushed)), Some(repository)) => {
                let put = put(repository, manifest, Some(tag.into()));
                *pushed = true;
                self.calls.push(put);
            }
            _ => {
                self.misuse.get_or_insert("tag() before any image()");
            }
        }
        self
    }

    /// Any other transition, applied in order (for example a `BatchDeleteImage`).
    pub fn call(mut self, call: Call) -> Self {
        self.flush();
        self.calls.push(call);
        self
    }

    /// Every call so far, in order: what a server must accept to hold the same state.
    pub fn calls(&self) -> Vec<Call> {
        self.clone().flushed().calls
    }

    /// Applies the calls to an empty registry; the first refused call is an error.
    pub fn build(self) -> Result<Registry, BuildError> {
        let this = self.flushed();
        if let Some(misuse) = this.misuse {
            return Err(BuildError::Order(misuse));
        }
        let account = RegistryId::parse(&this.account).map_err(BuildError::Account)?;
        let mut registry = Registry::new(account, this.region);
        for (index, call) in this.calls.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)] // a few calls, far below 2^52
            let now = 1_700_000_000.0 + index as f64;
            registry
                .apply(call, now)
                .map_err(|error| BuildError::Refused {
                    index,
                    operation: call.operation().name(),
                    error,
                })?;
        }
        Ok(registry)
    }

    fn flushed(mut self) -> Self {
        self.flush();
        self
    }

    /// Pushes the last image untagged if no tag pushed it.
    fn flush(&mut self) {
        if let (Some((manifest, false)), Some(repository)) = (&self.image, &self.repository) {
            self.calls.push(put(repository, manifest, None));
        }
        self.image = None;
    }
}

fn put(repository: &str, image: &ImageManifest, tag: Option<String>) -> Call {
    Call::PutImage(PutImageRequest {
        repository_name: Some(repository.to_owned()),
        image_manifest: Some(image.manifest.clone()),
        image_manifest_media_type: image.media_type.clone(),
        image_tag: tag,
        ..Default::default()
    })
}
