//! Attribution: the one place that decides under which rule (and so at which level) a
//! deviation of one id's answer is filed (spec section 4). Every per-id judgement of a
//! BatchGetImage answer, in contract cases and random sequences alike, asks [`rules_of`].
//!
//! A deviation is filed under the rule whose text it breaks, never a stricter one: a wrong
//! failure code where the spec only says *should* for the code is never a *must* violation.

use crate::model::{FailureCause, Resolution};

use super::rules::RuleId;

/// One way an answer to one requested id deviates from what the model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deviation {
    /// An id that must fail (for `cause`) was answered with an image.
    ImageForFailure(FailureCause),
    /// An id failed as it may, for `cause`, but with another modelled code than the ones
    /// allowed. `tag_sent` says whether the id named a tag (it decides the row of an id whose
    /// digest differs from a stored one only in hex case).
    WrongCode {
        /// Why the id may fail.
        cause: FailureCause,
        /// Whether the id named a tag.
        tag_sent: bool,
    },
    /// An id that names an image, resolved as `Resolution` says, failed where only the image
    /// is acceptable.
    FailureForImage(Resolution),
    /// An image entry answered an id with a tag other than the one the row prescribes.
    WrongTag(Resolution),
}

/// The rules a deviation breaks: the rows of section 4 whose text it contradicts.
pub fn rules_of(deviation: Deviation) -> &'static [RuleId] {
    use FailureCause as C;
    match deviation {
        Deviation::ImageForFailure(cause) => match cause {
            C::MissingDigestAndTag => &[RuleId::IdMissingBoth],
            C::InvalidDigest => &[RuleId::IdInvalidDigest],
            C::UnusualTag => &[RuleId::IdInvalidTag],
            C::TagCase => &[RuleId::IdCase],
            // "must that no image is returned; should for the code": both are broken.
            C::TagDigestMismatch => &[RuleId::IdTagAndDigest, RuleId::IdMismatchCode],
            _ => &[RuleId::IdNotFound],
        },
        Deviation::WrongCode { cause, tag_sent } => match cause {
            C::MissingDigestAndTag => &[RuleId::IdMissingBoth],
            C::InvalidDigest => &[RuleId::IdInvalidDigest],
            C::UnusualTag => &[RuleId::IdInvalidTag],
            C::TagDigestMismatch => &[RuleId::IdMismatchCode],
            // A hex-case digest that does not match is, with a tag, "T exists, points
            // elsewhere" (should for the code); alone, "D absent" (should).
            C::DigestHexCase if tag_sent => &[RuleId::IdMismatchCode],
            // No acceptable manifest: every modelled code is allowed, so nothing is broken
            // here; ID-FAILURE-CODE judges the code's form.
            C::NoAcceptableManifest => &[],
            _ => &[RuleId::IdNotFound],
        },
        Deviation::FailureForImage(resolution) | Deviation::WrongTag(resolution) => {
            match resolution {
                Resolution::ByTag => &[RuleId::IdByTag],
                Resolution::ByDigest => &[RuleId::IdByDigest],
                Resolution::TagAndDigest => &[RuleId::IdTagAndDigest],
            }
        }
    }
}
