//! The reference semantics of BatchGetImage and of the operations that build state (spec
//! sections 2-7), and of the reads common clients call (the paginated listings,
//! BatchCheckLayerAvailability, GetAuthorizationToken), as pure functions over an in-memory
//! [`Registry`].
//!
//! No I/O, no clock (callers pass the time), no randomness, nothing `async`: everything here
//! can be fuzzed and property-tested without a server. Where the spec allows several
//! outcomes, [`batch_get_image`] returns the whole set as an [`Expected`], and
//! [`Expected::answer`] picks one by a [`Profile`].

mod answer;
mod authorization;
mod batch_get;
mod builder;
mod call;
mod error;
mod expected;
mod images;
mod limits;
mod lookup;
pub mod manifest;
mod names;
mod pages;
mod pull;
mod push;
mod reads;
mod registry;
mod request;
mod upload;

pub use answer::{DigestTags, Profile};
pub use authorization::{MAX_TOKEN_REGISTRIES, TOKEN_LIFETIME_SECONDS, TokenKey, TokenRefusal};
pub use batch_get::{batch_get_image, batch_get_image_body};
pub use builder::{BuildError, ImageManifest, RegistryBuilder};
pub use call::{Call, CallOutput};
pub use error::OpError;
pub use expected::*;
pub use images::{MAX_MANIFEST_CHARS, PreparedImage};
pub use limits::{Limits, Usage};
pub use lookup::{
    Agreement, REASON_INVALID_DIGEST, REASON_INVALID_TAG, REASON_MISMATCH, REASON_MISSING,
    REASON_NOT_FOUND,
};
pub use manifest::{Format, StoredManifest};
pub use names::{ConstraintError, ImageDigest, ImageTag, MediaType, RegistryId, RepositoryName};
pub use pages::{DEFAULT_PAGE_SIZE, MAX_RESULTS};
pub use pull::{TagPage, manifest_request};
pub use push::{PartRule, PreparedChunk, UploadTarget};
pub use registry::{
    Encryption, Registry, StoredBlob, StoredImage, StoredRepository, TagMutability, Upload,
};
pub use upload::{
    JoinedUpload, MAX_PART_BLOB, MAX_PARTS, MAX_UPLOADS, MIN_PART_SIZE, PART_SIZE, PreparedPart,
};
