//! The layer upload: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload.

use crate::wire;

use super::error::{OpError, required};
use super::names::ImageDigest;
use super::registry::Registry;

/// The part size the model announces: the service's maximum part, 20 MiB.
pub const PART_SIZE: i64 = 20_971_520;

impl Registry {
    /// `InitiateLayerUpload`.
    pub fn initiate_layer_upload(
        &mut self,
        request: &wire::InitiateLayerUploadRequest,
    ) -> Result<wire::InitiateLayerUploadResponse, OpError> {
        self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let upload_id = self.next_upload_id();
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        repository.uploads.insert(upload_id.clone(), Vec::new());
        Ok(wire::InitiateLayerUploadResponse {
            upload_id: Some(upload_id),
            part_size: Some(PART_SIZE),
        })
    }

    /// `UploadLayerPart`: parts must arrive in order, each starting where the last ended.
    pub fn upload_layer_part(
        &mut self,
        request: &wire::UploadLayerPartRequest,
    ) -> Result<wire::UploadLayerPartResponse, OpError> {
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let upload_id = required(request.upload_id.as_deref(), "uploadId")?;
        let blob = required(request.layer_part_blob.as_ref(), "layerPartBlob")?;
        let first = *required(request.part_first_byte.as_ref(), "partFirstByte")?;
        let last = *required(request.part_last_byte.as_ref(), "partLastByte")?;
        let (registry_id, name) = (
            repository.registry_id.to_string(),
            repository.name.to_string(),
        );
        let received = repository
            .uploads
            .get_mut(upload_id)
            .ok_or_else(|| upload_not_found(upload_id))?;
        let expected_first = i64::try_from(received.len()).unwrap_or(i64::MAX);
        let expected_last =
            first.saturating_add(i64::try_from(blob.0.len()).unwrap_or(i64::MAX)) - 1;
        if first != expected_first || last != expected_last {
            return Err(OpError::new(
                "InvalidLayerPartException",
                format!(
                    "The part from byte {first} to {last} does not follow the {expected_first} bytes received"
                ),
            ));
        }
        received.extend_from_slice(&blob.0);
        Ok(wire::UploadLayerPartResponse {
            registry_id: Some(registry_id),
            repository_name: Some(name),
            upload_id: Some(upload_id.to_owned()),
            last_byte_received: Some(last),
        })
    }

    /// `CompleteLayerUpload`: the bytes' digest must be the one given; a known blob is
    /// `LayerAlreadyExistsException`.
    pub fn complete_layer_upload(
        &mut self,
        request: &wire::CompleteLayerUploadRequest,
    ) -> Result<wire::CompleteLayerUploadResponse, OpError> {
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let upload_id = required(request.upload_id.as_deref(), "uploadId")?;
        let digests = required(request.layer_digests.as_deref(), "layerDigests")?;
        let [given] = digests else {
            return Err(OpError::invalid(
                "Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Member must have length equal to 1'",
            ));
        };
        let received = repository
            .uploads
            .get(upload_id)
            .ok_or_else(|| upload_not_found(upload_id))?;
        if received.is_empty() {
            return Err(OpError::new(
                "EmptyUploadException",
                format!("The upload with id '{upload_id}' is empty"),
            ));
        }
        let digest = ImageDigest::of(received);
        if digest.as_str() != given {
            return Err(OpError::new(
                "InvalidLayerException",
                format!(
                    "The layer digest calculated for the upload, {digest}, does not match {given}"
                ),
            ));
        }
        let size = received.len() as u64;
        repository.uploads.remove(upload_id);
        if repository.blobs.contains_key(digest.as_str()) {
            return Err(OpError::new(
                "LayerAlreadyExistsException",
                format!("The layer {digest} already exists"),
            ));
        }
        repository.blobs.insert(digest.to_string(), size);
        Ok(wire::CompleteLayerUploadResponse {
            registry_id: Some(repository.registry_id.to_string()),
            repository_name: Some(repository.name.to_string()),
            upload_id: Some(upload_id.to_owned()),
            layer_digest: Some(digest.to_string()),
        })
    }
}

fn upload_not_found(upload_id: &str) -> OpError {
    OpError::new(
        "UploadNotFoundException",
        format!("The upload with id '{upload_id}' does not exist"),
    )
}
