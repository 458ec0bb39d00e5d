//! How PutImage digests are named, after what the server showed (STATE-PUT-DIGEST): the
//! [`PutDigests`] state, pinning a manifest's SHA-256, and whether a probe names a digest.
//! Pure: it must not send anything or judge a rule.

use crate::model::ImageDigest;
use crate::wire;

/// How PutImage digests are sent, after what the server showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutDigests {
    /// The server reports the manifest's SHA-256: nothing to adapt to.
    Content,
    /// It reported a digest of its own: every PutImage names the SHA-256 as `imageDigest`,
    /// which it honours, so that by-digest probes address the images pushed.
    Named,
    /// It reports digests of its own and refuses the SHA-256 when named: probes that name a
    /// digest cannot be judged, the others still are.
    ServerOwn,
}

/// Whether a BatchGetImage body names a digest.
pub(super) fn names_digest(body: &[u8]) -> bool {
    body.windows(b"\"imageDigest\"".len())
        .any(|w| w == b"\"imageDigest\"")
}

/// Names the manifest's SHA-256 as `imageDigest` in a PutImage that names none.
pub(super) fn pin_digest(put: &mut wire::PutImageRequest) {
    if put.image_digest.is_none() {
        let manifest = put.image_manifest.as_deref().unwrap_or_default();
        put.image_digest = Some(ImageDigest::of(manifest.as_bytes()).to_string());
    }
}
