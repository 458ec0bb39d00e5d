//! The layer upload: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload.
//!
//! The limits are ECR's. The service model bounds `layerPartBlob` to 20,971,520 bytes and
//! `partFirstByte`/`partLastByte` (`PartSize`) to at least 0; ECR's service quotas page
//! ("Amazon ECR service quotas", user guide) sets the minimum layer part size to 5 MiB and
//! the maximum to 10 MiB (a larger part is `InvalidLayerPartException`, "The layer part size
//! is not valid" in the service model). The service model's `LayerPartTooSmallException`
//! ("Layer parts must be at least 5 MiB in size") is an error of CompleteLayerUpload, so a
//! part too small is found when the upload completes, as with multipart uploads in S3: every
//! part but the last must be 5 MiB or more. A single part (the harness's own seeding) is the
//! last part, of any size. More than 4,200 parts (the quota) is `LimitExceededException`.
//!
//! Upload state is bounded without a clock: a repository keeps at most [`MAX_UPLOADS`] uploads
//! in progress, and starting one more forgets the oldest (its id then answers
//! `UploadNotFoundException`, as an expired upload does in ECR). A completed upload is
//! forgotten at once.

use crate::wire;

use super::error::{OpError, required};
use super::names::ImageDigest;
use super::registry::{Registry, StoredBlob, Upload};

/// The largest layer part ECR takes: 10 MiB (service quotas, "Maximum layer part size").
/// InitiateLayerUpload announces it as `partSize`.
pub const PART_SIZE: i64 = 10 * 1024 * 1024;

/// The smallest part other than the last: 5 MiB (service quotas, "Minimum layer part size";
/// service model, `LayerPartTooSmallException`).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// The largest `layerPartBlob` the service model allows (`LayerPartBlob`, max 20,971,520).
pub const MAX_PART_BLOB: usize = 20_971_520;

/// Uploads in progress a repository keeps; starting one more forgets the oldest.
pub const MAX_UPLOADS: usize = 64;

/// Parts one upload may have: ECR's quota of 4,200 layer parts.
pub const MAX_PARTS: usize = 4_200;

impl Registry {
    /// `InitiateLayerUpload`: a new upload id. A repository with [`MAX_UPLOADS`] uploads in
    /// progress forgets its oldest.
    pub fn initiate_layer_upload(
        &mut self,
        request: &wire::InitiateLayerUploadRequest,
    ) -> Result<wire::InitiateLayerUploadResponse, OpError> {
        self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let (upload_id, started) = self.next_upload_id();
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        while repository.uploads.len() >= MAX_UPLOADS {
            let oldest = repository
                .uploads
                .iter()
                .min_by_key(|(_, u)| u.started)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => repository.uploads.remove(&id),
                None => break,
            };
        }
        repository.uploads.insert(
            upload_id.clone(),
            Upload {
                started,
                ..Upload::default()
            },
        );
        Ok(wire::InitiateLayerUploadResponse {
            upload_id: Some(upload_id),
            part_size: Some(PART_SIZE),
        })
    }

    /// `UploadLayerPart`: parts must arrive in order, each starting where the last ended, and
    /// be at most [`PART_SIZE`] bytes (`InvalidLayerPartException`); a part past the byte
    /// budget of [`Limits`](super::Limits) is `LimitExceededException`.
    pub fn upload_layer_part(
        &mut self,
        request: &wire::UploadLayerPartRequest,
    ) -> Result<wire::UploadLayerPartResponse, OpError> {
        self.upload_prepared_part(request, PreparedPart::of(request))
    }

    /// `UploadLayerPart` of `request`, its bytes copied out of it beforehand as `prepared`.
    pub fn upload_prepared_part(
        &mut self,
        request: &wire::UploadLayerPartRequest,
        prepared: PreparedPart,
    ) -> Result<wire::UploadLayerPartResponse, OpError> {
        let repository = self.target_mut(
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        )?;
        let upload_id = required(request.upload_id.as_deref(), "uploadId")?;
        let first = *required(request.part_first_byte.as_ref(), "partFirstByte")?;
        let last = *required(request.part_last_byte.as_ref(), "partLastByte")?;
        let blob = required(request.layer_part_blob.as_ref(), "layerPartBlob")?;
        let part = prepared.0;
        for (member, value) in [("partFirstByte", first), ("partLastByte", last)] {
            if value < 0 {
                return Err(OpError::invalid(format!(
                    "Invalid parameter at '{member}' failed to satisfy constraint: 'Member must have value greater than or equal to 0'"
                )));
            }
        }
        let len = blob.0.len();
        if len > MAX_PART_BLOB {
            return Err(OpError::invalid(format!(
                "Invalid parameter at 'layerPartBlob' failed to satisfy constraint: 'Member must have length less than or equal to {MAX_PART_BLOB}'"
            )));
        }
        let (registry_id, name) = (
            repository.registry_id.to_string(),
            repository.name.to_string(),
        );
        let part = part.unwrap_or_else(|| StoredBlob::new(blob.0.as_slice()));
        let target = (
            request.registry_id.as_deref(),
            request.repository_name.as_deref(),
        );
        self.append_part(target, upload_id, first, last, part)?;
        Ok(wire::UploadLayerPartResponse {
            registry_id: Some(registry_id),
            repository_name: Some(name),
            upload_id: Some(upload_id.to_owned()),
            last_byte_received: Some(last),
        })
    }

    /// The heart of `UploadLayerPart`: appends `part` (bytes `first` to `last`) to the upload
    /// `upload_id` of the repository `target` (registry id, name), under the checks of
    /// [`check_part`] and the byte budget. The registry API's chunks go through it too.
    pub(crate) fn append_part(
        &mut self,
        target: (Option<&str>, Option<&str>),
        upload_id: &str,
        first: i64,
        last: i64,
        part: StoredBlob,
    ) -> Result<(), OpError> {
        let len = part.bytes().len();
        let upload = self
            .target_mut(target.0, target.1)?
            .uploads
            .get(upload_id)
            .ok_or_else(|| upload_not_found(upload_id))?;
        check_part(upload, first, last, len)?;
        self.check_bytes(len as u64)?;
        let upload = self
            .target_mut(target.0, target.1)?
            .uploads
            .get_mut(upload_id)
            .ok_or_else(|| upload_not_found(upload_id))?;
        upload.parts.push(part);
        Ok(())
    }

    /// `CompleteLayerUpload`: the bytes' digest must be the one given, and every part but the
    /// last at least [`MIN_PART_SIZE`]; a known blob is `LayerAlreadyExistsException`.
    pub fn complete_layer_upload(
        &mut self,
        request: &wire::CompleteLayerUploadRequest,
    ) -> Result<wire::CompleteLayerUploadResponse, OpError> {
        self.complete_joined_upload(request, None)
    }

    /// The parts of the upload `request` names, if it exists (shared, not copied): for
    /// [`JoinedUpload::of`] outside a lock.
    pub fn upload_parts(
        &self,
        request: &wire::CompleteLayerUploadRequest,
    ) -> Option<Vec<StoredBlob>> {
        let registry = self.resolve_registry(request.registry_id.as_deref()).ok()?;
        let repository = self.repository(registry.as_str(), request.repository_name.as_deref()?)?;
        Some(
            repository
                .uploads
                .get(request.upload_id.as_deref()?)?
                .parts
                .clone(),
        )
    }

    /// `CompleteLayerUpload`, with the upload's bytes joined and digested beforehand as
    /// `joined` (used only if the upload still has exactly those parts).
    pub fn complete_joined_upload(
        &mut self,
        request: &wire::CompleteLayerUploadRequest,
        joined: Option<JoinedUpload>,
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
        let upload = repository
            .uploads
            .get(upload_id)
            .ok_or_else(|| upload_not_found(upload_id))?;
        if upload.received() == 0 {
            return Err(OpError::new(
                "EmptyUploadException",
                format!("The upload with id '{upload_id}' is empty"),
            ));
        }
        let all_but_last = &upload.parts[..upload.parts.len().saturating_sub(1)];
        let mut sizes = all_but_last.iter().map(|p| p.bytes().len());
        if let Some(small) = sizes.find(|n| *n < MIN_PART_SIZE) {
            return Err(OpError::new(
                "LayerPartTooSmallException",
                format!(
                    "Layer parts must be at least 5 MiB in size: the upload with id '{upload_id}' has a part of {small} bytes before its last"
                ),
            ));
        }
        let joined = joined
            .filter(|j| j.parts == upload.parts.len())
            .unwrap_or_else(|| JoinedUpload::of(&upload.parts));
        let digest = joined.digest;
        if digest.as_str() != given {
            return Err(OpError::new(
                "InvalidLayerException",
                format!(
                    "The layer digest calculated for the upload, {digest}, does not match {given}"
                ),
            ));
        }
        if repository.uploads.remove(upload_id).is_none() {
            return Err(upload_not_found(upload_id));
        }
        if repository.blobs.contains_key(digest.as_str()) {
            return Err(OpError::new(
                "LayerAlreadyExistsException",
                format!("The layer {digest} already exists"),
            ));
        }
        repository.blobs.insert(digest.to_string(), joined.blob);
        Ok(wire::CompleteLayerUploadResponse {
            registry_id: Some(repository.registry_id.to_string()),
            repository_name: Some(repository.name.to_string()),
            upload_id: Some(upload_id.to_owned()),
            layer_digest: Some(digest.to_string()),
        })
    }
}

/// A part's bytes, copied out of its UploadLayerPart request (before taking a lock on the
/// state, in a server); none when the request has none or too many.
#[derive(Debug, Clone)]
pub struct PreparedPart(Option<StoredBlob>);

impl PreparedPart {
    /// Copies the part of `request`.
    pub fn of(request: &wire::UploadLayerPartRequest) -> Self {
        let blob = request.layer_part_blob.as_ref();
        Self(
            blob.filter(|b| b.0.len() <= MAX_PART_BLOB)
                .map(|b| StoredBlob::new(b.0.as_slice())),
        )
    }
}

/// An upload's parts joined into one blob, and its digest (before taking a lock on the state,
/// in a server).
#[derive(Debug, Clone)]
pub struct JoinedUpload {
    parts: usize,
    digest: ImageDigest,
    blob: StoredBlob,
}

impl JoinedUpload {
    /// Joins and digests `parts`.
    pub fn of(parts: &[StoredBlob]) -> Self {
        let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.bytes().len()).sum());
        for part in parts {
            bytes.extend_from_slice(part.bytes());
        }
        Self {
            parts: parts.len(),
            digest: ImageDigest::of(&bytes),
            blob: StoredBlob::new(bytes),
        }
    }
}

/// A part of `len` bytes (at least one) from `first` to `last` must start where the upload
/// ended, end at
/// `first + len - 1`, be at most [`PART_SIZE`] bytes and not exceed [`MAX_PARTS`]. In `i128`,
/// so that no `i64` the caller sends can overflow.
fn check_part(upload: &Upload, first: i64, last: i64, len: usize) -> Result<(), OpError> {
    let received = upload.received();
    let expected_last = i128::from(first) + len as i128 - 1;
    if len == 0 {
        return Err(OpError::new(
            "InvalidLayerPartException",
            format!("The part from byte {first} to {last} has no bytes"),
        ));
    }
    if i128::from(first) != received as i128 || i128::from(last) != expected_last {
        return Err(OpError::new(
            "InvalidLayerPartException",
            format!(
                "The part from byte {first} to {last} does not follow the {received} bytes received"
            ),
        ));
    }
    if len as i128 > i128::from(PART_SIZE) {
        return Err(OpError::new(
            "InvalidLayerPartException",
            format!(
                "The layer part of {len} bytes is over the maximum layer part size of {PART_SIZE} bytes"
            ),
        ));
    }
    if upload.parts.len() >= MAX_PARTS {
        return Err(OpError::new(
            "LimitExceededException",
            format!("The upload already has the maximum of {MAX_PARTS} layer parts"),
        ));
    }
    Ok(())
}

pub(crate) fn upload_not_found(upload_id: &str) -> OpError {
    OpError::new(
        "UploadNotFoundException",
        format!("The upload with id '{upload_id}' does not exist"),
    )
}
