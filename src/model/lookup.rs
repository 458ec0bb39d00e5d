//! What one image id names in a repository: the shared first step of resolving an id for
//! BatchGetImage and BatchDeleteImage (spec section 4).

use crate::wire::ImageIdentifier;

use super::names::{ImageDigest, ImageTag};
use super::registry::{StoredImage, StoredRepository};

/// `failureReason` of `MissingDigestAndTag`.
pub const REASON_MISSING: &str = "Invalid request parameters: both tag and digest cannot be null";
/// `failureReason` of `InvalidImageDigest`.
pub const REASON_INVALID_DIGEST: &str = "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'";
/// `failureReason` of `InvalidImageTag`.
pub const REASON_INVALID_TAG: &str =
    "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9-_.]+'";
/// `failureReason` of `ImageNotFound`.
pub const REASON_NOT_FOUND: &str = "Requested image not found";
/// `failureReason` of `ImageTagDoesNotMatchDigest`.
pub const REASON_MISMATCH: &str =
    "Invalid request parameters: given tag does not map to the given digest";

/// What an image id names.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'r> {
    /// Neither tag nor digest.
    MissingBoth,
    /// A digest that does not match the digest pattern.
    InvalidDigest,
    /// A tag alone.
    Tag {
        /// The image the tag points at, if it exists.
        image: Option<&'r StoredImage>,
        /// The tag has characters outside `[a-zA-Z0-9-_.]`.
        unusual_characters: bool,
        /// The tag does not exist, but one differing only in letter case does.
        case_variant_exists: bool,
    },
    /// A digest alone.
    Digest {
        /// The image with exactly this digest.
        image: Option<&'r StoredImage>,
        /// An image whose digest differs only in the case of its hex, when no exact match.
        hex_case_variant: Option<&'r StoredImage>,
    },
    /// A tag and a digest.
    TagAndDigest {
        /// The image the tag points at, if it exists.
        tagged: Option<&'r StoredImage>,
        /// Whether that image has the requested digest.
        agrees: Agreement,
    },
}

/// Whether the image a tag points at has the digest sent beside the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The same digest, to the letter.
    Exactly,
    /// The same digest but for the case of its hex (spec: may match or not).
    IgnoringHexCase,
    /// Another digest, or no image.
    No,
}

impl<'r> Lookup<'r> {
    /// Looks `id` up in `repository`.
    pub fn of(repository: &'r StoredRepository, id: &ImageIdentifier) -> Self {
        let tag = id.image_tag.as_deref();
        let digest = id.image_digest.as_deref();
        match (tag, digest) {
            (None, None) => Lookup::MissingBoth,
            (_, Some(d)) if !ImageDigest::is_well_formed(d) => Lookup::InvalidDigest,
            (Some(t), None) => {
                let image = repository.image_by_tag(t);
                Lookup::Tag {
                    image,
                    unusual_characters: !ImageTag::has_plain_characters(t),
                    case_variant_exists: image.is_none() && repository.has_tag_ignoring_case(t),
                }
            }
            (None, Some(d)) => {
                let image = repository.images.get(d);
                // Stored digests are content addresses in lower case (`ImageDigest::of`), so
                // the only one equal to `d` ignoring case is `d` in lower case.
                let hex_case_variant = match image {
                    Some(_) => None,
                    None => repository.images.get(d.to_ascii_lowercase().as_str()),
                };
                Lookup::Digest {
                    image,
                    hex_case_variant,
                }
            }
            (Some(t), Some(d)) => {
                let tagged = repository.image_by_tag(t);
                Lookup::TagAndDigest {
                    tagged,
                    agrees: match tagged.map(|i| i.manifest.digest.as_str()) {
                        Some(stored) if stored == d => Agreement::Exactly,
                        Some(stored) if stored.eq_ignore_ascii_case(d) => {
                            Agreement::IgnoringHexCase
                        }
                        _ => Agreement::No,
                    },
                }
            }
        }
    }
}
