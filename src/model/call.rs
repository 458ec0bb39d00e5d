//! A state-changing call as data, so setup sequences can be generated, stored, scoped and
//! replayed, and its output as data, so a server's answer can be held against the model's.
//!
//! The seven operations are listed once, in [`calls!`]: the `Call` and `CallOutput` enums, the
//! operation of each, its repository, its wire body, and the decoding of requests and answers
//! all come from that one table. Only [`Registry::apply`], which calls each transition with
//! its own arguments, matches on the variants by hand.

use crate::wire::{self, DecodeError, Decoded, Operation};

use super::error::OpError;
use super::registry::Registry;

macro_rules! calls {
    ($($op:ident($input:ident) -> $output:ident;)*) => {
        /// One call of an operation that builds state.
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(tag = "operation", content = "input")]
        #[non_exhaustive]
        pub enum Call {
            $(
                #[doc = concat!("`", stringify!($op), "`.")]
                $op(wire::$input),
            )*
        }

        /// What a [`Call`] answers when it succeeds (serialised as the output shape alone).
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(untagged)]
        #[non_exhaustive]
        pub enum CallOutput {
            $(
                #[doc = concat!("`", stringify!($op), "`.")]
                $op(wire::$output),
            )*
        }

        impl Call {
            /// The operation called.
            pub fn operation(&self) -> Operation {
                match self {
                    $(Call::$op(_) => Operation::$op,)*
                }
            }

            /// The repository the call names, to scope it (see the check's run prefix).
            pub fn repository_name_mut(&mut self) -> &mut Option<String> {
                match self {
                    $(Call::$op(input) => &mut input.repository_name,)*
                }
            }

            /// The repository the call names.
            pub fn repository_name(&self) -> Option<&str> {
                match self {
                    $(Call::$op(input) => input.repository_name.as_deref(),)*
                }
            }

            /// The AWS JSON 1.1 body of the call.
            pub fn body(&self) -> Vec<u8> {
                match self {
                    $(Call::$op(input) => wire::encode_request(input).body,)*
                }
            }

            /// The call a decoded request makes, if it is one of the state-building
            /// operations.
            pub fn from_request(request: wire::Request) -> Option<Decoded<Call>> {
                match request {
                    $(wire::Request::$op(d) => Some(Decoded {
                        value: Call::$op(d.value),
                        shape_issues: d.shape_issues,
                        unknown_members: d.unknown_members,
                        dropped: d.dropped,
                    }),)*
                    _ => None,
                }
            }
        }

        impl CallOutput {
            /// Reads a successful answer to `operation`; `None` for an operation that is not
            /// a [`Call`].
            pub fn decode(
                operation: Operation,
                body: &[u8],
            ) -> Option<Result<CallOutput, DecodeError>> {
                match operation {
                    $(Operation::$op => Some(
                        wire::decode_body::<wire::$output>(body).map(|d| CallOutput::$op(d.value)),
                    ),)*
                    _ => None,
                }
            }
        }
    };
}

calls! {
    CreateRepository(CreateRepositoryRequest) -> CreateRepositoryResponse;
    InitiateLayerUpload(InitiateLayerUploadRequest) -> InitiateLayerUploadResponse;
    UploadLayerPart(UploadLayerPartRequest) -> UploadLayerPartResponse;
    CompleteLayerUpload(CompleteLayerUploadRequest) -> CompleteLayerUploadResponse;
    PutImage(PutImageRequest) -> PutImageResponse;
    BatchDeleteImage(BatchDeleteImageRequest) -> BatchDeleteImageResponse;
    DeleteRepository(DeleteRepositoryRequest) -> DeleteRepositoryResponse;
}

impl Call {
    /// Decodes `body` as a call of `operation`, refusing what the service model does not
    /// define (unknown members, members of the wrong type) and operations that build no
    /// state.
    pub fn decode_exact(operation: Operation, body: &[u8]) -> Result<Call, String> {
        let request = wire::decode_operation(operation, body).map_err(|e| e.to_string())?;
        let decoded = Call::from_request(request)
            .ok_or_else(|| format!("{} is not a call that builds state", operation.name()))?;
        if !decoded.is_clean() {
            return Err(format!(
                "malformed {} input: {:?} {:?}",
                operation.name(),
                decoded.shape_issues,
                decoded.unknown_members
            ));
        }
        Ok(decoded.value)
    }
}

impl Registry {
    /// Applies `call` at time `now`, answering the operation's output.
    pub fn apply(&mut self, call: &Call, now: f64) -> Result<CallOutput, OpError> {
        Ok(match call {
            Call::CreateRepository(r) => {
                CallOutput::CreateRepository(self.create_repository(r, now)?)
            }
            Call::InitiateLayerUpload(r) => {
                CallOutput::InitiateLayerUpload(self.initiate_layer_upload(r)?)
            }
            Call::UploadLayerPart(r) => CallOutput::UploadLayerPart(self.upload_layer_part(r)?),
            Call::CompleteLayerUpload(r) => {
                CallOutput::CompleteLayerUpload(self.complete_layer_upload(r)?)
            }
            Call::PutImage(r) => CallOutput::PutImage(self.put_image(r, now)?),
            Call::BatchDeleteImage(r) => CallOutput::BatchDeleteImage(self.batch_delete_image(r)?),
            Call::DeleteRepository(r) => CallOutput::DeleteRepository(self.delete_repository(r)?),
        })
    }
}
