//! Reading a request, as a server does: the operation from `X-Amz-Target`, the body as that
//! operation's input shape.

use http::HeaderMap;

use super::decode::{Decoded, decode_body};
use super::error::DecodeError;
use super::operation::{Operation, TARGET_PREFIX};
use super::shapes::*;

/// The largest request body a server built on this decoder reads: the largest layer part the
/// service model allows (`LayerPartBlob`, 20,971,520 bytes) in base64, with room for the
/// envelope. A manifest of 4,194,304 characters, JSON-escaped, fits too.
pub const MAX_REQUEST_BYTES: usize = 20_971_520 / 3 * 4 + 4 + (1 << 16);

/// A decoded request of one of the operations.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// `BatchGetImage`.
    BatchGetImage(Decoded<BatchGetImageRequest>),
    /// `CreateRepository`.
    CreateRepository(Decoded<CreateRepositoryRequest>),
    /// `InitiateLayerUpload`.
    InitiateLayerUpload(Decoded<InitiateLayerUploadRequest>),
    /// `UploadLayerPart`.
    UploadLayerPart(Decoded<UploadLayerPartRequest>),
    /// `CompleteLayerUpload`.
    CompleteLayerUpload(Decoded<CompleteLayerUploadRequest>),
    /// `PutImage`.
    PutImage(Decoded<PutImageRequest>),
    /// `BatchDeleteImage`.
    BatchDeleteImage(Decoded<BatchDeleteImageRequest>),
    /// `DeleteRepository`.
    DeleteRepository(Decoded<DeleteRepositoryRequest>),
    /// `DescribeRepositories`.
    DescribeRepositories(Decoded<DescribeRepositoriesRequest>),
    /// `ListImages`.
    ListImages(Decoded<ListImagesRequest>),
    /// `DescribeImages`.
    DescribeImages(Decoded<DescribeImagesRequest>),
    /// `BatchCheckLayerAvailability`.
    BatchCheckLayerAvailability(Decoded<BatchCheckLayerAvailabilityRequest>),
    /// `GetAuthorizationToken`.
    GetAuthorizationToken(Decoded<GetAuthorizationTokenRequest>),
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No `X-Amz-Target` header, or not one of this service's.
    #[error("missing or foreign X-Amz-Target {0:?}")]
    MissingTarget(Option<String>),
    /// A target of this service naming an operation the decoder does not know.
    #[error("unknown operation {0:?}")]
    UnknownOperation(String),
    /// The body is larger than [`MAX_REQUEST_BYTES`].
    #[error("request body of {0} bytes is over the limit of {MAX_REQUEST_BYTES}")]
    TooLarge(usize),
    /// The body is not a JSON object.
    #[error("request body: {0}")]
    Body(#[from] DecodeError),
}

impl Request {
    /// The operation requested.
    pub fn operation(&self) -> Operation {
        match self {
            Request::BatchGetImage(_) => Operation::BatchGetImage,
            Request::CreateRepository(_) => Operation::CreateRepository,
            Request::InitiateLayerUpload(_) => Operation::InitiateLayerUpload,
            Request::UploadLayerPart(_) => Operation::UploadLayerPart,
            Request::CompleteLayerUpload(_) => Operation::CompleteLayerUpload,
            Request::PutImage(_) => Operation::PutImage,
            Request::BatchDeleteImage(_) => Operation::BatchDeleteImage,
            Request::DeleteRepository(_) => Operation::DeleteRepository,
            Request::DescribeRepositories(_) => Operation::DescribeRepositories,
            Request::ListImages(_) => Operation::ListImages,
            Request::DescribeImages(_) => Operation::DescribeImages,
            Request::BatchCheckLayerAvailability(_) => Operation::BatchCheckLayerAvailability,
            Request::GetAuthorizationToken(_) => Operation::GetAuthorizationToken,
        }
    }
}

/// Decodes a request from its headers and body. Never panics.
pub fn decode_request(headers: &HeaderMap, body: &[u8]) -> Result<Request, RequestError> {
    let target = headers
        .get("x-amz-target")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let operation = match target.as_deref() {
        Some(t) if t.starts_with(TARGET_PREFIX) => {
            Operation::from_target(t).ok_or_else(|| RequestError::UnknownOperation(t.to_owned()))?
        }
        _ => return Err(RequestError::MissingTarget(target)),
    };
    decode_operation(operation, body)
}

/// Decodes `body` as the input of `operation`.
pub fn decode_operation(operation: Operation, body: &[u8]) -> Result<Request, RequestError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge(body.len()));
    }
    Ok(match operation {
        Operation::BatchGetImage => Request::BatchGetImage(decode_body(body)?),
        Operation::CreateRepository => Request::CreateRepository(decode_body(body)?),
        Operation::InitiateLayerUpload => Request::InitiateLayerUpload(decode_body(body)?),
        Operation::UploadLayerPart => Request::UploadLayerPart(decode_body(body)?),
        Operation::CompleteLayerUpload => Request::CompleteLayerUpload(decode_body(body)?),
        Operation::PutImage => Request::PutImage(decode_body(body)?),
        Operation::BatchDeleteImage => Request::BatchDeleteImage(decode_body(body)?),
        Operation::DeleteRepository => Request::DeleteRepository(decode_body(body)?),
        Operation::DescribeRepositories => Request::DescribeRepositories(decode_body(body)?),
        Operation::ListImages => Request::ListImages(decode_body(body)?),
        Operation::DescribeImages => Request::DescribeImages(decode_body(body)?),
        Operation::BatchCheckLayerAvailability => {
            Request::BatchCheckLayerAvailability(decode_body(body)?)
        }
        Operation::GetAuthorizationToken => Request::GetAuthorizationToken(decode_body(body)?),
    })
}
