//! Newtypes for the identifiers of the service model, with its constraints.
//!
//! Each has a fallible constructor that returns the `InvalidParameterException` text the
//! service would give, so the model cannot hold a value the service would refuse.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest as _, Sha256};

/// Why a value does not satisfy a constraint of the service model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid parameter at '{member}' failed to satisfy constraint: '{constraint}'")]
pub struct ConstraintError {
    /// The member, as named in AWS's messages.
    pub member: &'static str,
    /// The constraint, as worded in AWS's messages.
    pub constraint: String,
}

impl ConstraintError {
    fn new(member: &'static str, constraint: impl Into<String>) -> Self {
        Self {
            member,
            constraint: constraint.into(),
        }
    }
}

macro_rules! newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

newtype!(
    /// A registry (account) id: twelve digits.
    RegistryId
);
newtype!(
    /// A repository name: 2 to 256 characters, valid under either name pattern of the spec.
    RepositoryName
);
newtype!(
    /// An image tag: 1 to 300 characters.
    ImageTag
);
newtype!(
    /// An image digest: `algorithm:hex`.
    ImageDigest
);
newtype!(
    /// A media type, such as `application/vnd.oci.image.manifest.v1+json`.
    MediaType
);

impl RegistryId {
    /// Parses a registry id (`[0-9]{12}`).
    pub fn parse(s: &str) -> Result<Self, ConstraintError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ConstraintError::new(
                "registryId",
                "must satisfy regular expression '[0-9]{12}'",
            ))
        }
    }
}

/// The older pattern (API reference, real error messages, moto).
static OLDER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
        .expect("pattern compiles")
});
/// The newer pattern (current service model).
static NEWER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
        .expect("pattern compiles")
});

impl RepositoryName {
    /// Parses a repository name: length 2..=256 and either pattern.
    pub fn parse(s: &str) -> Result<Self, ConstraintError> {
        let len = s.chars().count();
        if len < 2 {
            return Err(ConstraintError::new(
                "repositoryName",
                "Member must have length greater than or equal to 2",
            ));
        }
        if len > 256 {
            return Err(ConstraintError::new(
                "repositoryName",
                "Member must have length less than or equal to 256",
            ));
        }
        if OLDER_NAME.is_match(s) || NEWER_NAME.is_match(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ConstraintError::new(
                "repositoryName",
                format!(
                    "must satisfy regular expression '{}'",
                    &OLDER_NAME.as_str()[1..OLDER_NAME.as_str().len() - 1]
                ),
            ))
        }
    }
}

impl ImageTag {
    /// Parses a tag: length 1..=300, any characters (the model has no pattern).
    pub fn parse(s: &str) -> Result<Self, ConstraintError> {
        match s.chars().count() {
            0 => Err(ConstraintError::new(
                "imageTag",
                "Member must have length greater than or equal to 1",
            )),
            1..=300 => Ok(Self(s.to_owned())),
            _ => Err(ConstraintError::new(
                "imageTag",
                "Member must have length less than or equal to 300",
            )),
        }
    }

    /// Whether every character is in `[a-zA-Z0-9-_.]`, the characters a stored tag may have.
    pub fn has_plain_characters(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    }
}

impl ImageDigest {
    /// Parses a digest: `[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+`.
    pub fn parse(s: &str) -> Result<Self, ConstraintError> {
        if Self::is_well_formed(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ConstraintError::new(
                "imageDigest",
                "image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
            ))
        }
    }

    /// Whether `s` matches the digest pattern.
    pub fn is_well_formed(s: &str) -> bool {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return false;
        };
        !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'))
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The content address of `bytes`: `sha256:` and lower-case hex.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut out = String::with_capacity(71);
        out.push_str("sha256:");
        for byte in hash {
            out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        Self(out)
    }

    /// Whether `other` names this digest with its hex in another case.
    pub fn eq_ignoring_hex_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl MediaType {
    /// Wraps a media type; any string is one (the service model's `MediaType` has no
    /// constraint). What PutImage stores is checked by [`MediaType::is_header_value`].
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// Whether `s` can be sent as an HTTP field value, as a registry GET sends the stored media
    /// type in `Content-Type`: RFC 9110 section 5.5 (`field-value`) allows visible characters,
    /// spaces and tabs between them, and obsolete non-ASCII text, and nothing else: no control
    /// character, no leading or trailing space or tab.
    pub fn is_header_value(s: &str) -> bool {
        let blank = |c: char| c == ' ' || c == '\t';
        let allowed = |c: char| c == '\t' || !c.is_ascii_control();
        s.chars().all(allowed) && !s.starts_with(blank) && !s.ends_with(blank)
    }
}
