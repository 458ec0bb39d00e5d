//! Operations, their targets, and how a request goes on the wire (before signing).

use serde::Serialize;

use super::decode::Decode;
use super::shapes::*;

/// `Content-Type` of every AWS JSON 1.1 request and response.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` prefix of Amazon ECR.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921";

/// The operations the harness speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Operation {
    /// `BatchGetImage`, the operation under test.
    BatchGetImage,
    /// `CreateRepository`.
    CreateRepository,
    /// `InitiateLayerUpload`.
    InitiateLayerUpload,
    /// `UploadLayerPart`.
    UploadLayerPart,
    /// `CompleteLayerUpload`.
    CompleteLayerUpload,
    /// `PutImage`.
    PutImage,
    /// `BatchDeleteImage`.
    BatchDeleteImage,
    /// `DeleteRepository`.
    DeleteRepository,
    /// `DescribeRepositories`.
    DescribeRepositories,
    /// `ListImages`.
    ListImages,
    /// `DescribeImages`.
    DescribeImages,
    /// `BatchCheckLayerAvailability`.
    BatchCheckLayerAvailability,
    /// `GetAuthorizationToken`.
    GetAuthorizationToken,
}

impl Operation {
    /// Every operation: the spec's, then the reads common clients call.
    pub const ALL: [Operation; 13] = [
        Operation::BatchGetImage,
        Operation::CreateRepository,
        Operation::InitiateLayerUpload,
        Operation::UploadLayerPart,
        Operation::CompleteLayerUpload,
        Operation::PutImage,
        Operation::BatchDeleteImage,
        Operation::DeleteRepository,
        Operation::DescribeRepositories,
        Operation::ListImages,
        Operation::DescribeImages,
        Operation::BatchCheckLayerAvailability,
        Operation::GetAuthorizationToken,
    ];

    /// The operation's name in the service model.
    pub fn name(self) -> &'static str {
        match self {
            Operation::BatchGetImage => "BatchGetImage",
            Operation::CreateRepository => "CreateRepository",
            Operation::InitiateLayerUpload => "InitiateLayerUpload",
            Operation::UploadLayerPart => "UploadLayerPart",
            Operation::CompleteLayerUpload => "CompleteLayerUpload",
            Operation::PutImage => "PutImage",
            Operation::BatchDeleteImage => "BatchDeleteImage",
            Operation::DeleteRepository => "DeleteRepository",
            Operation::DescribeRepositories => "DescribeRepositories",
            Operation::ListImages => "ListImages",
            Operation::DescribeImages => "DescribeImages",
            Operation::BatchCheckLayerAvailability => "BatchCheckLayerAvailability",
            Operation::GetAuthorizationToken => "GetAuthorizationToken",
        }
    }

    /// The operation named `name` in the service model, such as `"PutImage"`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operation only reads: it changes nothing on the server.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Operation::BatchGetImage
                | Operation::DescribeRepositories
                | Operation::ListImages
                | Operation::DescribeImages
                | Operation::BatchCheckLayerAvailability
                | Operation::GetAuthorizationToken
        )
    }

    /// The `X-Amz-Target` header value.
    pub fn target(self) -> String {
        format!("{TARGET_PREFIX}.{}", self.name())
    }

    /// The operation named by an `X-Amz-Target` value, if it is one of ours.
    pub fn from_target(target: &str) -> Option<Self> {
        let name = target.strip_prefix(TARGET_PREFIX)?.strip_prefix('.')?;
        Self::from_name(name)
    }
}

/// A request shape: which operation it is the input of, and that operation's output.
pub trait Input: Serialize + Decode {
    /// The operation.
    const OPERATION: Operation;
    /// The operation's output shape.
    type Output: Serialize + Decode;
}

macro_rules! inputs {
    ($($input:ty => $op:ident => $output:ty;)*) => {$(
        impl Input for $input {
            const OPERATION: Operation = Operation::$op;
            type Output = $output;
        }
    )*};
}

inputs! {
    BatchGetImageRequest => BatchGetImage => BatchGetImageResponse;
    CreateRepositoryRequest => CreateRepository => CreateRepositoryResponse;
    InitiateLayerUploadRequest => InitiateLayerUpload => InitiateLayerUploadResponse;
    UploadLayerPartRequest => UploadLayerPart => UploadLayerPartResponse;
    CompleteLayerUploadRequest => CompleteLayerUpload => CompleteLayerUploadResponse;
    PutImageRequest => PutImage => PutImageResponse;
    BatchDeleteImageRequest => BatchDeleteImage => BatchDeleteImageResponse;
    DeleteRepositoryRequest => DeleteRepository => DeleteRepositoryResponse;
    DescribeRepositoriesRequest => DescribeRepositories => DescribeRepositoriesResponse;
    ListImagesRequest => ListImages => ListImagesResponse;
    DescribeImagesRequest => DescribeImages => DescribeImagesResponse;
    BatchCheckLayerAvailabilityRequest => BatchCheckLayerAvailability => BatchCheckLayerAvailabilityResponse;
    GetAuthorizationTokenRequest => GetAuthorizationToken => GetAuthorizationTokenResponse;
}

/// An unsigned HTTP request, ready for a transport to sign and send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequest {
    /// Always `POST`.
    pub method: &'static str,
    /// Always `/`.
    pub path: &'static str,
    /// Headers in the order they are sent.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    #[serde(serialize_with = "body_as_text")]
    pub body: Vec<u8>,
}

fn body_as_text<S: serde::Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

/// Encodes `input` as the AWS JSON 1.1 request of its operation.
pub fn encode_request<I: Input>(input: &I) -> HttpRequest {
    encode_raw(I::OPERATION, to_json(input))
}

/// Encodes an arbitrary body for `operation`, for probes that send malformed input.
pub fn encode_raw(operation: Operation, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        method: "POST",
        path: "/",
        headers: vec![
            ("Content-Type", CONTENT_TYPE.to_owned()),
            ("X-Amz-Target", operation.target()),
            ("Content-Length", body.len().to_string()),
        ],
        body,
    }
}

/// Serialises a shape. Shapes hold strings, numbers and lists only, so this cannot fail.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
