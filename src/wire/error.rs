//! Why a body could not be decoded.

/// The largest body the decoder reads: 100 manifests of 4,194,304 characters, each of which
/// may double in size when JSON-escaped, plus 1 MiB for the envelope and the other members.
pub const MAX_BODY_BYTES: usize = 100 * 4_194_304 * 2 + (1 << 20);

/// A body that is not a well-formed JSON object. Carries what went wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("body of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Length of the body.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("body is not valid JSON at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset of the error.
        offset: usize,
        /// What the JSON parser said.
        reason: String,
    },
    /// The body is not UTF-8.
    #[error("body is not UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The body ends in the middle of a JSON value.
    #[error("body ends early at byte {offset}")]
    Truncated {
        /// Length of the body.
        offset: usize,
    },
    /// Nesting exceeds the parser's recursion limit.
    #[error("body nests deeper than the limit of 128 at byte {offset}")]
    TooDeep {
        /// Byte offset where the limit was reached.
        offset: usize,
    },
    /// The body is JSON but not an object.
    #[error("body is {found}, not a JSON object")]
    NotAnObject {
        /// What it is instead.
        found: String,
    },
}

impl DecodeError {
    /// Translates a serde_json error, turning its line and column into a byte offset.
    pub(crate) fn from_json(e: &serde_json::Error, body: &[u8]) -> Self {
        let offset = byte_offset(body, e.line(), e.column());
        let reason = e.to_string();
        let reason = match reason.rfind(" at line ") {
            Some(i) => reason[..i].to_owned(),
            None => reason,
        };
        if reason.contains("recursion limit exceeded") {
            DecodeError::TooDeep { offset }
        } else if e.is_eof() {
            DecodeError::Truncated { offset: body.len() }
        } else {
            DecodeError::Syntax { offset, reason }
        }
    }
}

/// serde_json counts lines from 1 and columns from 1 (0 before the first byte of a line).
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match body[start..].iter().position(|b| *b == b'\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(body.len())
}
