//! A state-changing call as data, so setup sequences can be generated, stored and replayed.

use crate::wire;

use super::error::OpError;
use super::registry::Registry;

/// One call of an operation that builds state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "operation", content = "input")]
#[non_exhaustive]
pub enum Call {
    /// `CreateRepository`.
    CreateRepository(wire::CreateRepositoryRequest),
    /// `InitiateLayerUpload`.
    InitiateLayerUpload(wire::InitiateLayerUploadRequest),
    /// `UploadLayerPart`.
    UploadLayerPart(wire::UploadLayerPartRequest),
    /// `CompleteLayerUpload`.
    CompleteLayerUpload(wire::CompleteLayerUploadRequest),
    /// `PutImage`.
    PutImage(wire::PutImageRequest),
    /// `BatchDeleteImage`.
    BatchDeleteImage(wire::BatchDeleteImageRequest),
    /// `DeleteRepository`.
    DeleteRepository(wire::DeleteRepositoryRequest),
}

impl Call {
    /// The operation called.
    pub fn operation(&self) -> wire::Operation {
        match self {
            Call::CreateRepository(_) => wire::Operation::CreateRepository,
            Call::InitiateLayerUpload(_) => wire::Operation::InitiateLayerUpload,
            Call::UploadLayerPart(_) => wire::Operation::UploadLayerPart,
            Call::CompleteLayerUpload(_) => wire::Operation::CompleteLayerUpload,
            Call::PutImage(_) => wire::Operation::PutImage,
            Call::BatchDeleteImage(_) => wire::Operation::BatchDeleteImage,
            Call::DeleteRepository(_) => wire::Operation::DeleteRepository,
        }
    }
}

impl Registry {
    /// Applies `call` at time `now`, answering the operation's output as JSON.
    pub fn apply(&mut self, call: &Call, now: f64) -> Result<serde_json::Value, OpError> {
        fn json<T: serde::Serialize>(
            output: Result<T, OpError>,
        ) -> Result<serde_json::Value, OpError> {
            output.map(|o| serde_json::to_value(o).unwrap_or_default())
        }
        match call {
            Call::CreateRepository(r) => json(self.create_repository(r, now)),
            Call::InitiateLayerUpload(r) => json(self.initiate_layer_upload(r)),
            Call::UploadLayerPart(r) => json(self.upload_layer_part(r)),
            Call::CompleteLayerUpload(r) => json(self.complete_layer_upload(r)),
            Call::PutImage(r) => json(self.put_image(r, now)),
            Call::BatchDeleteImage(r) => json(self.batch_delete_image(r)),
            Call::DeleteRepository(r) => json(self.delete_repository(r)),
        }
    }
}
