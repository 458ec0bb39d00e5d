//! How much state a registry holds: caps on registries, repositories and images, and a budget
//! of stored bytes (blobs, uploads in progress, manifests). A write past a cap is refused with
//! `LimitExceededException`, the error ECR gives at its service quotas ("Amazon ECR service
//! quotas", user guide), and only by operations whose errors in the service model include it
//! (CreateRepository, PutImage, UploadLayerPart).
//!
//! The defaults ([`Limits::ECR`]) are ECR's quotas, so the model, as the reference, refuses
//! nothing a real registry takes within them; `serve` holds its state in memory and runs with
//! lower ones (`serve::Config::limits`).

use super::error::OpError;
use super::registry::Registry;

/// Caps on a registry's state; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Registry ids with repositories. ECR has no such quota (a caller sees its own account
    /// and those that share with it); the default is unbounded.
    pub registries: usize,
    /// Repositories in one registry: ECR's "Registered repositories" quota, 100,000.
    pub repositories_per_registry: usize,
    /// Images in one repository: ECR's "Images per repository" quota, 20,000.
    pub images_per_repository: usize,
    /// Images across every repository. ECR has no such quota; the default is unbounded.
    pub images: usize,
    /// Bytes of blobs, uploads in progress and manifests together. ECR has no such quota (its
    /// storage is billed, not capped); the default is unbounded.
    pub stored_bytes: u64,
}

impl Limits {
    /// ECR's own quotas, unbounded where it has none.
    pub const ECR: Self = Self {
        registries: usize::MAX,
        repositories_per_registry: 100_000,
        images_per_repository: 20_000,
        images: usize::MAX,
        stored_bytes: u64::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::ECR
    }
}

/// What a registry holds now, counted for [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Images across every repository.
    pub images: usize,
    /// Bytes of blobs, uploads in progress and manifests.
    pub stored_bytes: u64,
}

impl Registry {
    /// What the registry holds now. Counted rather than kept, so it cannot drift from the
    /// state; the caps keep the count short.
    pub fn usage(&self) -> Usage {
        let mut usage = Usage::default();
        for repository in self.repositories() {
            usage.images += repository.images.len();
            let manifests = repository.images.values().map(|i| i.manifest.bytes.len());
            let uploads = repository.uploads.values().map(|u| u.received());
            let bytes = manifests.chain(uploads).map(|n| n as u64);
            let blobs = repository.blobs.values().map(|b| b.size());
            usage.stored_bytes = usage.stored_bytes.saturating_add(bytes.chain(blobs).sum());
        }
        usage
    }

    /// `LimitExceededException` unless `more` bytes fit the budget.
    pub(crate) fn check_bytes(&self, more: u64) -> Result<(), OpError> {
        let budget = self.limits.stored_bytes;
        match self.usage().stored_bytes.saturating_add(more) <= budget {
            true => Ok(()),
            false => Err(limit_exceeded(format!(
                "The registry's storage of {budget} bytes for blobs, uploads and manifests is full"
            ))),
        }
    }

    /// `LimitExceededException` unless one more image fits `repository_images` (the images of
    /// its repository now) and the registry's total, with `bytes` of manifest.
    pub(crate) fn check_new_image(
        &self,
        repository_images: usize,
        bytes: u64,
    ) -> Result<(), OpError> {
        let limits = self.limits;
        if repository_images >= limits.images_per_repository {
            return Err(limit_exceeded(format!(
                "The repository already has the maximum of {} images",
                limits.images_per_repository
            )));
        }
        if self.usage().images >= limits.images {
            return Err(limit_exceeded(format!(
                "The registry already holds the maximum of {} images",
                limits.images
            )));
        }
        self.check_bytes(bytes)
    }
}

/// ECR's error at a service quota.
pub(crate) fn limit_exceeded(message: String) -> OpError {
    OpError::new("LimitExceededException", message)
}
