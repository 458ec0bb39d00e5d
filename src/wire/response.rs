//! Reading a response: success or error, by status and envelope, named by the Smithy rules.

use http::HeaderMap;
use serde::Serialize;

use super::decode::{Decode, Decoded, decode_body};
use super::envelope::{ErrorMembers, error_members};
use super::error::{DecodeError, MAX_BODY_BYTES};
use super::operation::to_json;

/// A decoded response: the operation's output, or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<O> {
    /// A 2xx answer with its decoded body.
    Success(Decoded<O>),
    /// Any other status.
    Error(ErrorReply),
}

/// Where the error's name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum CodeSource {
    /// The body member `__type`: what Smithy prefers and botocore reads.
    BodyType,
    /// The body member `code`.
    BodyCode,
    /// The `X-Amzn-Errortype` header.
    Header,
}

/// Which member carried the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum MessageMember {
    /// `message`, the modelled member.
    Lower,
    /// `Message`, which botocore also reads.
    Upper,
}

/// What an error body was.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// No bytes at all.
    Empty,
    /// A JSON value.
    Json(serde_json::Value),
    /// JSON, but over [`MAX_ERROR_VALUE_BYTES`]: its members were read, the value not kept.
    LargeJson {
        /// Length of the body.
        len: usize,
    },
    /// Not JSON; `html` when it looks like an HTML page.
    NotJson {
        /// Whether it starts like an HTML document.
        html: bool,
    },
}

/// An error answer, with the error named as a client would name it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    /// HTTP status.
    pub status: u16,
    /// The cleaned error name, such as `RepositoryNotFoundException`.
    pub code: Option<String>,
    /// The value before cleaning.
    pub raw_code: Option<String>,
    /// Where the name came from.
    pub code_source: Option<CodeSource>,
    /// The error message, if the body carried one as a string.
    pub message: Option<String>,
    /// Which member held the message.
    pub message_member: Option<MessageMember>,
    /// The body.
    pub body: ErrorBody,
}

/// Cleans an error name by the Smithy rules: the text before the first `:`, then after the `#`.
pub fn clean_error_name(raw: &str) -> &str {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    match before_colon.split_once('#') {
        Some((_, name)) => name,
        None => before_colon,
    }
}

/// Decodes a response of an operation whose output is `O`.
///
/// Success and error are told apart by status: 2xx is a success whose body must be a JSON
/// object; anything else is an error, named from body `__type`, body `code`, or the
/// `X-Amzn-Errortype` header, in that order. Never panics; bodies over [`MAX_BODY_BYTES`] are
/// refused.
pub fn parse_response<O: Decode>(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply<O>, DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(DecodeError::TooLarge {
            len: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    if (200..300).contains(&status) {
        return decode_body::<O>(body).map(Reply::Success);
    }
    Ok(Reply::Error(parse_error(status, headers, body)))
}

/// The largest error body kept as a JSON value: ECR's error bodies are a name and a message,
/// a few hundred bytes; 64 KiB keeps any error body a server plausibly sends, while a value
/// read from a larger one would cost many times its size.
pub const MAX_ERROR_VALUE_BYTES: usize = 64 * 1024;

fn parse_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorReply {
    let members = error_members(body);
    let body = classify_error_body(body, members.is_some());
    let members = members.unwrap_or_default();
    let header = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok());
    let ErrorMembers {
        error_type,
        code,
        message,
        message_upper,
    } = members;
    let (raw_code, code_source) = match (error_type, code, header) {
        (Some(t), _, _) => (Some(t), Some(CodeSource::BodyType)),
        (None, Some(c), _) => (Some(c), Some(CodeSource::BodyCode)),
        (None, None, Some(h)) => (Some(h.to_owned()), Some(CodeSource::Header)),
        (None, None, None) => (None, None),
    };
    let (message, message_member) = match (message, message_upper) {
        (Some(m), _) => (Some(m), Some(MessageMember::Lower)),
        (None, Some(m)) => (Some(m), Some(MessageMember::Upper)),
        (None, None) => (None, None),
    };
    let code = raw_code
        .as_deref()
        .map(|raw| clean_error_name(raw).to_owned());
    ErrorReply {
        status,
        code,
        raw_code,
        code_source,
        message,
        message_member,
        body,
    }
}

fn classify_error_body(body: &[u8], json: bool) -> ErrorBody {
    if body.iter().all(u8::is_ascii_whitespace) {
        return ErrorBody::Empty;
    }
    match (json, body.len() <= MAX_ERROR_VALUE_BYTES) {
        (false, _) => ErrorBody::NotJson {
            html: looks_like_html(body),
        },
        (true, true) => serde_json::from_slice(body)
            .map(ErrorBody::Json)
            .unwrap_or_else(|_| ErrorBody::NotJson {
                html: looks_like_html(body),
            }),
        (true, false) => ErrorBody::LargeJson { len: body.len() },
    }
}

/// Whether a body starts like an HTML document (after white space, case-insensitively).
pub fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..]
        .iter()
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

/// The body of an AWS JSON 1.1 error: `{"__type": code, "message": message}`.
pub fn encode_error(code: &str, message: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(rename = "__type")]
        code: &'a str,
        message: &'a str,
    }
    to_json(&Envelope { code, message })
}
