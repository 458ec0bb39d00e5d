//! `serve --outcomes`: the choices the server makes where the spec allows several outcomes.

use crate::model::{DigestTags, Profile};

/// Names accepted by [`parse_profile`], for help texts.
pub const PROFILE_HELP: &str = "comma-separated: digest-tags=none|first|each, fail-untranslatable, \
digest-of-translation, reject-invalid-digest, mismatch-as-not-found, dedupe-ids (default: none of them, digest-tags=none)";

/// Parses a profile such as `digest-tags=each,mismatch-as-not-found`.
pub fn parse_profile(text: &str) -> Result<Profile, String> {
    let mut profile = Profile::default();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "fail-untranslatable" => profile.fail_untranslatable = true,
            "digest-of-translation" => profile.digest_of_translation = true,
            "reject-invalid-digest" => profile.reject_invalid_digest = true,
            "mismatch-as-not-found" => profile.mismatch_as_not_found = true,
            "dedupe-ids" => profile.dedupe_ids = true,
            "digest-tags=none" => profile.digest_tags = DigestTags::None,
            "digest-tags=first" => profile.digest_tags = DigestTags::First,
            "digest-tags=each" => profile.digest_tags = DigestTags::Each,
            other => return Err(format!("unknown outcome choice {other:?}; {PROFILE_HELP}")),
        }
    }
    Ok(profile)
}
