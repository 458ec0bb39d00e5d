//! The registry state and the repository operations: CreateRepository, DeleteRepository.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::wire;

use super::error::{OpError, required};
use super::limits::{Limits, limit_exceeded};
use super::manifest::StoredManifest;
use super::names::{ImageDigest, ImageTag, RegistryId, RepositoryName};

/// How tags behave when an image is pushed with a tag that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum TagMutability {
    /// Tags move to the newly pushed image.
    #[default]
    Mutable,
    /// Pushing an existing tag fails with `ImageTagAlreadyExistsException`.
    Immutable,
}

impl TagMutability {
    /// Parses the service model's enum. The `*_WITH_EXCLUSION` values behave as their base
    /// here, as the harness never sets exclusion filters.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MUTABLE" | "MUTABLE_WITH_EXCLUSION" => Some(Self::Mutable),
            "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" => Some(Self::Immutable),
            _ => None,
        }
    }

    /// The service model's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mutable => "MUTABLE",
            Self::Immutable => "IMMUTABLE",
        }
    }
}

/// How a repository is encrypted at rest: ECR's `EncryptionConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Encryption {
    /// `encryptionType`: `AES256` (ECR's default), `KMS` or `KMS_DSSE`.
    pub encryption_type: &'static str,
    /// `kmsKey`, when one was given.
    pub kms_key: Option<String>,
}

impl Default for Encryption {
    fn default() -> Self {
        Self {
            encryption_type: "AES256",
            kms_key: None,
        }
    }
}

impl Encryption {
    /// Reads a CreateRepository `encryptionConfiguration` (absent: the default, `AES256`).
    pub fn parse(given: Option<&wire::EncryptionConfiguration>) -> Result<Self, OpError> {
        let Some(given) = given else {
            return Ok(Self::default());
        };
        let encryption_type = match given.encryption_type.as_deref() {
            Some("AES256") => "AES256",
            Some("KMS") => "KMS",
            Some("KMS_DSSE") => "KMS_DSSE",
            None => return Err(OpError::missing("encryptionConfiguration.encryptionType")),
            Some(other) => {
                return Err(OpError::invalid(format!(
                    "Invalid parameter at 'encryptionConfiguration.encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]', found '{other}'"
                )));
            }
        };
        let kms_key = given.kms_key.clone();
        if let Some(key) = &kms_key {
            if encryption_type == "AES256" {
                return Err(OpError::invalid(
                    "Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: 'kmsKey can only be specified with encryptionType KMS or KMS_DSSE'",
                ));
            }
            if !(1..=2048).contains(&key.chars().count()) {
                return Err(OpError::invalid(
                    "Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: 'Member must have length between 1 and 2048'",
                ));
            }
        }
        Ok(Self {
            encryption_type,
            kms_key,
        })
    }

    /// The wire shape.
    pub fn to_wire(&self) -> wire::EncryptionConfiguration {
        wire::EncryptionConfiguration {
            encryption_type: Some(self.encryption_type.to_owned()),
            kms_key: self.kms_key.clone(),
        }
    }
}

/// An uploaded blob's bytes, shared: cloning a registry does not copy them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredBlob(Arc<[u8]>);

impl StoredBlob {
    /// A blob of `bytes`.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        Self(bytes.into())
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

impl std::fmt::Debug for StoredBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

/// An image: its stored manifest and the tags that point at it now.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    /// The manifest as pushed.
    pub manifest: Arc<StoredManifest>,
    /// Tags pointing at this image.
    pub tags: BTreeSet<ImageTag>,
    /// When it was first pushed, seconds since the epoch.
    pub pushed_at: f64,
}

/// One repository.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRepository {
    /// Its registry.
    pub registry_id: RegistryId,
    /// Its name.
    pub name: RepositoryName,
    /// Tag mutability.
    pub mutability: TagMutability,
    /// Creation time, seconds since the epoch, as given by the caller.
    pub created_at: f64,
    /// `imageScanningConfiguration.scanOnPush`: `false` unless asked at creation.
    pub scan_on_push: bool,
    /// `encryptionConfiguration`: `AES256` unless asked at creation.
    pub encryption: Encryption,
    /// Images by digest.
    pub images: HashMap<ImageDigest, StoredImage>,
    /// Tag to digest. The model changes it only through `point_tag` and `remove_tag`, which
    /// keep the case-folded index in step.
    pub tags: HashMap<ImageTag, ImageDigest>,
    /// How many tags fold to each lower-case form: finds a tag differing only in letter case
    /// by a hash lookup rather than a scan.
    folded_tags: HashMap<String, usize>,
    /// Uploaded blobs by digest.
    pub blobs: HashMap<String, StoredBlob>,
    /// Layer uploads in progress, by upload id: at most [`MAX_UPLOADS`](super::upload::MAX_UPLOADS).
    pub uploads: HashMap<String, Upload>,
}

/// A layer upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Upload {
    /// The parts received so far, in order: kept apart, so that a part is added without
    /// copying those before it.
    pub parts: Vec<StoredBlob>,
    /// Which upload of the registry it was (from 1): the oldest is forgotten first.
    pub started: u64,
}

impl Upload {
    /// How many bytes it has received.
    pub fn received(&self) -> usize {
        self.parts.iter().map(|p| p.bytes().len()).sum()
    }
}

impl StoredRepository {
    /// The image `tag` points at.
    pub fn image_by_tag(&self, tag: &str) -> Option<&StoredImage> {
        self.images.get(self.tags.get(tag)?)
    }

    /// Whether some tag equals `tag` ignoring ASCII letter case.
    pub fn has_tag_ignoring_case(&self, tag: &str) -> bool {
        self.folded_tags.contains_key(&tag.to_ascii_lowercase())
    }

    /// Points `tag` at `digest` (adding the tag, or moving it).
    pub(crate) fn point_tag(&mut self, tag: ImageTag, digest: ImageDigest) {
        let folded = tag.as_str().to_ascii_lowercase();
        if self.tags.insert(tag, digest).is_none() {
            *self.folded_tags.entry(folded).or_default() += 1;
        }
    }

    /// Removes `tag` from the tag map.
    pub(crate) fn remove_tag(&mut self, tag: &ImageTag) {
        if self.tags.remove(tag).is_none() {
            return;
        }
        let folded = tag.as_str().to_ascii_lowercase();
        if let Some(count) = self.folded_tags.get_mut(&folded) {
            *count -= 1;
            if *count == 0 {
                self.folded_tags.remove(&folded);
            }
        }
    }

    /// Whether some image's manifest list names `digest`.
    pub fn is_referenced_by_list(&self, digest: &ImageDigest) -> bool {
        self.images.values().any(|i| {
            i.manifest
                .contents
                .manifests
                .iter()
                .any(|m| m == digest.as_str())
        })
    }

    /// Describes the repository in the wire shape.
    pub fn to_wire(&self, region: &str) -> wire::Repository {
        let (account, name) = (self.registry_id.as_str(), self.name.as_str());
        wire::Repository {
            registry_id: Some(account.to_owned()),
            repository_name: Some(name.to_owned()),
            repository_arn: Some(format!("arn:aws:ecr:{region}:{account}:repository/{name}")),
            repository_uri: Some(format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}")),
            created_at: Some(self.created_at),
            image_tag_mutability: Some(self.mutability.as_str().to_owned()),
            image_scanning_configuration: Some(wire::ImageScanningConfiguration {
                scan_on_push: Some(self.scan_on_push),
            }),
            encryption_configuration: Some(self.encryption.to_wire()),
        }
    }
}

/// The state of the registries a caller can see: repositories keyed by registry id and name.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// The caller's own account: the default `registryId`.
    pub account: RegistryId,
    /// The region, used in ARNs and URIs.
    pub region: String,
    /// Whether PutImage requires the config and layer blobs to have been uploaded, as real
    /// ECR does (`LayersNotFoundException`). Servers without a layer API do not.
    pub require_blobs: bool,
    /// How much state it may hold: ECR's quotas unless set lower.
    pub limits: Limits,
    repositories: HashMap<RegistryId, HashMap<RepositoryName, StoredRepository>>,
    uploads_started: u64,
}

impl Registry {
    /// An empty registry for `account` in `region`, not requiring blobs.
    pub fn new(account: RegistryId, region: impl Into<String>) -> Self {
        Self {
            account,
            region: region.into(),
            require_blobs: false,
            limits: Limits::ECR,
            repositories: HashMap::default(),
            uploads_started: 0,
        }
    }

    /// The registry named by an optional `registryId` member: the caller's when absent.
    pub fn resolve_registry(&self, registry_id: Option<&str>) -> Result<RegistryId, OpError> {
        match registry_id {
            None => Ok(self.account.clone()),
            Some(id) => Ok(RegistryId::parse(id)?),
        }
    }

    /// The repository `name` in `registry`, if it exists.
    pub fn repository(&self, registry: &str, name: &str) -> Option<&StoredRepository> {
        self.repositories.get(registry)?.get(name)
    }

    /// Every repository, ordered by registry and name: what a run does with them must not
    /// depend on the hashes of their names, which hold the run's prefix (a replay and a
    /// server held to a recording take the same steps).
    pub fn repositories(&self) -> impl Iterator<Item = &StoredRepository> {
        let mut all: Vec<&StoredRepository> = self
            .repositories
            .values()
            .flat_map(HashMap::values)
            .collect();
        all.sort_by(|a, b| (&a.registry_id, &a.name).cmp(&(&b.registry_id, &b.name)));
        all.into_iter()
    }

    /// Validates `registryId` and `repositoryName` and finds the repository for a write.
    pub(crate) fn target_mut(
        &mut self,
        registry_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<&mut StoredRepository, OpError> {
        let registry = self.resolve_registry(registry_id)?;
        let name = RepositoryName::parse(required(name, "repositoryName")?)?;
        self.repositories
            .get_mut(registry.as_str())
            .and_then(|r| r.get_mut(name.as_str()))
            .ok_or_else(|| OpError::repository_not_found(name.as_str(), registry.as_str()))
    }

    /// `CreateRepository`, at time `now` (seconds since the epoch).
    pub fn create_repository(
        &mut self,
        request: &wire::CreateRepositoryRequest,
        now: f64,
    ) -> Result<wire::CreateRepositoryResponse, OpError> {
        let registry_id = self.resolve_registry(request.registry_id.as_deref())?;
        let name = required(request.repository_name.as_deref(), "repositoryName")?;
        let name = RepositoryName::parse(name)?;
        let mutability = match request.image_tag_mutability.as_deref() {
            None => TagMutability::Mutable,
            Some(s) => TagMutability::parse(s).ok_or_else(|| {
                OpError::invalid(format!(
                    "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]', found '{s}'"
                ))
            })?,
        };
        let scan_on_push = request
            .image_scanning_configuration
            .as_ref()
            .and_then(|c| c.scan_on_push)
            .unwrap_or(false);
        let encryption = Encryption::parse(request.encryption_configuration.as_ref())?;
        if self
            .repository(registry_id.as_str(), name.as_str())
            .is_some()
        {
            return Err(OpError::new(
                "RepositoryAlreadyExistsException",
                format!(
                    "The repository with name '{name}' already exists in the registry with id '{registry_id}'"
                ),
            ));
        }
        self.check_new_repository(&registry_id)?;
        let in_registry = self.repositories.entry(registry_id.clone()).or_default();
        let repository = StoredRepository {
            registry_id,
            name: name.clone(),
            mutability,
            created_at: now,
            scan_on_push,
            encryption,
            images: HashMap::default(),
            tags: HashMap::default(),
            folded_tags: HashMap::default(),
            blobs: HashMap::default(),
            uploads: HashMap::default(),
        };
        let wire = repository.to_wire(&self.region);
        in_registry.insert(name, repository);
        Ok(wire::CreateRepositoryResponse {
            repository: Some(wire),
        })
    }

    /// `DeleteRepository`: refused with `RepositoryNotEmptyException` unless empty or `force`.
    pub fn delete_repository(
        &mut self,
        request: &wire::DeleteRepositoryRequest,
    ) -> Result<wire::DeleteRepositoryResponse, OpError> {
        let region = self.region.clone();
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        if !repository.images.is_empty() && request.force != Some(true) {
            return Err(OpError::new(
                "RepositoryNotEmptyException",
                format!(
                    "The repository with name '{}' in registry with id '{}' cannot be deleted because it still contains images",
                    repository.name, repository.registry_id
                ),
            ));
        }
        let wire = repository.to_wire(&region);
        let (registry, name) = (repository.registry_id.clone(), repository.name.clone());
        if let Some(in_registry) = self.repositories.get_mut(registry.as_str()) {
            in_registry.remove(name.as_str());
            if in_registry.is_empty() {
                self.repositories.remove(registry.as_str());
            }
        }
        Ok(wire::DeleteRepositoryResponse {
            repository: Some(wire),
        })
    }

    /// `LimitExceededException` unless `registry` has room for one more repository, and, when
    /// it has none yet, the registry for one more registry id.
    fn check_new_repository(&self, registry: &RegistryId) -> Result<(), OpError> {
        let limits = self.limits;
        match self.repositories.get(registry.as_str()) {
            Some(in_registry) if in_registry.len() >= limits.repositories_per_registry => {
                Err(limit_exceeded(format!(
                    "The registry with id '{registry}' already has the maximum of {} repositories",
                    limits.repositories_per_registry
                )))
            }
            None if self.repositories.len() >= limits.registries => Err(limit_exceeded(format!(
                "The maximum of {} registries with repositories has been reached",
                limits.registries
            ))),
            _ => Ok(()),
        }
    }

    /// A fresh upload id, shaped like the service model's UUID pattern, and its sequence
    /// number.
    pub(crate) fn next_upload_id(&mut self) -> (String, u64) {
        self.uploads_started = self.uploads_started.wrapping_add(1);
        let n = self.uploads_started;
        (
            format!(
                "{:08x}-0000-4000-8000-{:012x}",
                n >> 48,
                n & 0xffff_ffff_ffff
            ),
            n,
        )
    }
}
