//! A registry-API push (spec `registry-api.md` section 6) as the operations ECR turns it
//! into: a chunk is UploadLayerPart ([`Registry::append_part`]), completing is
//! CompleteLayerUpload, a manifest PUT is PutImage, a manifest DELETE is BatchDeleteImage.
//! So both APIs see one state, at once.
//!
//! A chunk may be larger than ECR's largest layer part: it is stored as parts of at most
//! [`PART_SIZE`] bytes, every one but the last at least [`MIN_PART_SIZE`] ([`PreparedChunk`]).
//! Under [`PartRule::Ecr`] a chunk after one under [`MIN_PART_SIZE`] is refused, as ECR
//! refuses it (`LayerPartTooSmallException`); under [`PartRule::AnySize`] (the distribution
//! spec's) a small part is joined with the chunk that follows it.
//!
//! No I/O, no clock: the time of a manifest push is passed in.

use crate::wire;

use super::error::OpError;
use super::images::PreparedImage;
use super::registry::{Registry, StoredBlob};
use super::upload::{MIN_PART_SIZE, PART_SIZE, upload_not_found};

/// Which chunk sizes a registry-API upload takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PartRule {
    /// ECR's: every chunk but the last at least [`MIN_PART_SIZE`], refused when the next one
    /// arrives or when the upload completes.
    #[default]
    Ecr,
    /// The distribution spec's: chunks of any size.
    AnySize,
}

/// A chunk's bytes cut into layer parts (before taking a lock on the state, in a server).
#[derive(Debug, Clone, Default)]
pub struct PreparedChunk(Vec<StoredBlob>);

impl PreparedChunk {
    /// `bytes` as parts of at most [`PART_SIZE`], each but the last at least
    /// [`MIN_PART_SIZE`].
    pub fn of(bytes: &[u8]) -> Self {
        let mut parts = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let take = part_size(rest.len());
            let (part, tail) = rest.split_at(take);
            parts.push(StoredBlob::new(part));
            rest = tail;
        }
        Self(parts)
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|p| p.bytes().len()).sum()
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The size of the next part of `left` bytes: all of it up to [`PART_SIZE`]; else
/// [`PART_SIZE`] when what remains is at least [`MIN_PART_SIZE`], else half (both halves
/// are then over [`MIN_PART_SIZE`], since `left` is over twice it).
fn part_size(left: usize) -> usize {
    match left {
        n if n <= PART_SIZE as usize => n,
        n if n - PART_SIZE as usize >= MIN_PART_SIZE => PART_SIZE as usize,
        n => n / 2,
    }
}

/// The upload a registry request names: the repository (in the caller's registry) and the
/// upload id.
#[derive(Debug, Clone, Copy)]
pub struct UploadTarget<'a> {
    /// The repository name.
    pub name: &'a str,
    /// The upload id.
    pub id: &'a str,
}

impl Registry {
    /// How many bytes the upload has received.
    pub fn upload_offset(&self, target: UploadTarget<'_>) -> Result<u64, OpError> {
        let name = super::names::RepositoryName::parse(target.name)?;
        let repository = self
            .repository(self.account.as_str(), name.as_str())
            .ok_or_else(|| OpError::repository_not_found(name.as_str(), self.account.as_str()))?;
        let upload = repository
            .uploads
            .get(target.id)
            .ok_or_else(|| upload_not_found(target.id))?;
        Ok(upload.received() as u64)
    }

    /// A chunk of an upload, starting at byte `start` (`None`: where the upload ended), as
    /// UploadLayerPart calls; returns the bytes received in all. A chunk that does not start
    /// where the upload ended is `InvalidLayerPartException` with ECR's registry message;
    /// under [`PartRule::Ecr`] a chunk after a part under [`MIN_PART_SIZE`] is
    /// `LayerPartTooSmallException`. Nothing is stored when it is refused.
    pub fn push_chunk(
        &mut self,
        target: UploadTarget<'_>,
        start: Option<u64>,
        chunk: PreparedChunk,
        rule: PartRule,
    ) -> Result<u64, OpError> {
        let received = self.upload_offset(target)?;
        if let Some(start) = start
            && start != received
        {
            return Err(OpError::new(
                "InvalidLayerPartException",
                format!("First byte of the layer part is {start} instead of {received}"),
            ));
        }
        if chunk.is_empty() {
            return Ok(received);
        }
        self.check_bytes(chunk.len() as u64)?;
        let account = self.account.to_string();
        let key = (Some(account.as_str()), Some(target.name));
        let repository = self.target_mut(key.0, key.1)?;
        let upload = repository
            .uploads
            .get_mut(target.id)
            .ok_or_else(|| upload_not_found(target.id))?;
        let small_last = upload
            .parts
            .last()
            .filter(|p| p.bytes().len() < MIN_PART_SIZE)
            .cloned();
        let parts = match (small_last, rule) {
            (None, _) => chunk.0,
            (Some(small), PartRule::Ecr) => {
                return Err(OpError::new(
                    "LayerPartTooSmallException",
                    format!(
                        "All layer parts except the last part should be at least 5MB: the part before this one has {} bytes",
                        small.bytes().len()
                    ),
                ));
            }
            (Some(small), PartRule::AnySize) => {
                upload.parts.pop();
                let mut joined = small.bytes().to_vec();
                for part in &chunk.0 {
                    joined.extend_from_slice(part.bytes());
                }
                PreparedChunk::of(&joined).0
            }
        };
        let mut offset = upload.received() as u64;
        for part in parts {
            let len = part.bytes().len() as u64;
            let (first, last) = (offset as i64, (offset + len - 1) as i64);
            self.append_part(key, target.id, first, last, part)?;
            offset += len;
        }
        Ok(offset)
    }

    /// Forgets an upload in progress (a registry `DELETE` of its location).
    pub fn cancel_upload(&mut self, target: UploadTarget<'_>) -> Result<(), OpError> {
        let account = self.account.to_string();
        let repository = self.target_mut(Some(account.as_str()), Some(target.name))?;
        repository
            .uploads
            .remove(target.id)
            .map(drop)
            .ok_or_else(|| upload_not_found(target.id))
    }

    /// A cross-repository mount of blob `digest` from repository `from` into `name` (both in
    /// the caller's registry): `Ok(true)` when the blob was there to mount (and now is in
    /// `name` too), `Ok(false)` when it was not.
    pub fn mount_blob(&mut self, name: &str, from: &str, digest: &str) -> Result<bool, OpError> {
        let account = self.account.to_string();
        let Some(blob) = self
            .repository(&account, from)
            .and_then(|r| r.blobs.get(digest))
            .cloned()
        else {
            return Ok(false);
        };
        let repository = self.target_mut(Some(account.as_str()), Some(name))?;
        if repository.blobs.contains_key(digest) {
            return Ok(true);
        }
        self.check_bytes(blob.size())?;
        let repository = self.target_mut(Some(account.as_str()), Some(name))?;
        repository.blobs.insert(digest.to_owned(), blob);
        Ok(true)
    }

    /// PutImage of a manifest pushed through the registry API: its config and layers must
    /// have been uploaded, whatever [`Registry::require_blobs`] says (a registry client
    /// uploads them first, and ECR refuses a manifest whose blobs it does not have).
    pub fn push_manifest(
        &mut self,
        request: &wire::PutImageRequest,
        prepared: PreparedImage,
        now: f64,
    ) -> Result<wire::PutImageResponse, OpError> {
        let require_blobs = std::mem::replace(&mut self.require_blobs, true);
        let answer = self.put_prepared_image(request, prepared, now);
        self.require_blobs = require_blobs;
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_cut_into_parts_ecr_takes() {
        let mib = 1024 * 1024;
        for len in [
            0,
            1,
            5 * mib,
            10 * mib,
            10 * mib + 1,
            14 * mib,
            15 * mib,
            64 * mib + 3,
        ] {
            let chunk = PreparedChunk::of(&vec![7u8; len]);
            assert_eq!(chunk.len(), len);
            let sizes: Vec<usize> = chunk.0.iter().map(|p| p.bytes().len()).collect();
            assert!(sizes.iter().all(|s| *s <= PART_SIZE as usize), "{sizes:?}");
            let all_but_last = &sizes[..sizes.len().saturating_sub(1)];
            assert!(
                all_but_last.iter().all(|s| *s >= MIN_PART_SIZE),
                "{sizes:?}"
            );
        }
    }
}
