//! The registry API's write side: blob uploads (started, chunked, completed, in one request,
//! mounted, cancelled), manifest PUTs and DELETEs (spec `registry-api.md` section 6), each as
//! the model operations ECR turns it into (UploadLayerPart, CompleteLayerUpload, PutImage,
//! BatchDeleteImage), so the AWS JSON API sees a push at once.
//!
//! By default with ECR's quirks ([`PushAs::Ecr`]): a chunk is answered `201`, a chunk after
//! one under 5 MiB is refused, a wrong digest is `BLOB_UPLOAD_INVALID`, a manifest ECR cannot
//! take is `405 UNSUPPORTED`, a mount is never made. [`PushAs::Distribution`] answers as the
//! distribution spec says instead. Never panics: bad input is a 4xx with the error envelope.

use std::sync::RwLock;

use http::HeaderMap;

use crate::model::{
    ImageDigest, JoinedUpload, OpError, PartRule, PreparedChunk, PreparedImage, Registry,
    UploadTarget, manifest::Contents,
};
use crate::wire;
use crate::wire::registry::{
    DIGEST_HEADER, ErrorCode, Reference, Route, RouteError, TAG_INVALID, UPLOAD_UUID_HEADER,
    content_range, encode_registry_error_text, route,
};

use super::registry_api::{Answer, check_name, op_error};

/// Which answers the push path gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PushAs {
    /// ECR's, quirks included (spec section 6): the default.
    #[default]
    Ecr,
    /// The OCI distribution spec's: `202` for a chunk, chunks of any size, `DIGEST_INVALID`
    /// for a wrong digest, `400 MANIFEST_INVALID` for a manifest refused, mounts made.
    Distribution,
}

impl PushAs {
    /// `ecr` or `distribution`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ecr" => Some(Self::Ecr),
            "distribution" => Some(Self::Distribution),
            _ => None,
        }
    }

    fn part_rule(self) -> PartRule {
        match self {
            Self::Ecr => PartRule::Ecr,
            Self::Distribution => PartRule::AnySize,
        }
    }
}

/// The largest request body of an upload (a chunk, a single-request upload, a manifest):
/// 64 MiB, the largest chunk the spec records ECR taking on this path (section 6, "Large
/// chunks (64 MiB and more) are accepted"). A larger body is refused unread past the bound.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024 * 1024;

/// The most bytes of registry-API write bodies (chunks, single-request uploads, manifests)
/// read at once over every connection: 256 MiB, four chunks at [`MAX_CHUNK_BYTES`] and a
/// quarter of [`STATE_LIMITS`](super::STATE_LIMITS)' byte budget. A request reserves its
/// `Content-Length` (or [`MAX_CHUNK_BYTES`] without one) before its body is read, and waits
/// for room within the body timeout, else is answered `429 TOOMANYREQUESTS`: memory then
/// grows with this bound, not with the number of clients times their chunks.
pub const MAX_UPLOAD_BYTES_IN_FLIGHT: usize = 256 * 1024 * 1024;

/// Whether a registry request is the push path's: a write method, or an upload's location.
pub(super) fn takes(method: &str, uri: &str) -> bool {
    let upload = matches!(
        route(uri),
        Ok(Route::Upload { .. } | Route::UploadStart { .. })
    );
    upload || matches!(method, "POST" | "PATCH" | "PUT" | "DELETE")
}

/// One push request against the endpoint's state; authentication is done before.
pub(super) struct Push<'a> {
    pub state: &'a RwLock<Registry>,
    pub push_as: PushAs,
    pub now: f64,
}

impl Push<'_> {
    /// Answers a push-path request (one [`takes`]).
    pub fn answer(&self, method: &str, uri: &str, headers: &HeaderMap, body: &[u8]) -> Answer {
        let route = match route(uri) {
            Ok(route) => route,
            Err(e @ RouteError::Unknown) => {
                return Answer::error(404, ErrorCode::Unsupported, &e.to_string());
            }
            Err(e) => return Answer::error(400, ErrorCode::NameInvalid, &e.to_string()),
        };
        let name = match &route {
            Route::UploadStart { name, .. }
            | Route::Upload { name, .. }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. } => name.as_str(),
            _ => return not_allowed(),
        };
        if let Some(refused) = check_name(name) {
            return refused;
        }
        match (method, &route) {
            (
                "POST",
                Route::UploadStart {
                    digest,
                    mount,
                    from,
                    ..
                },
            ) => self.start(
                name,
                digest.as_deref(),
                mount.as_deref(),
                from.as_deref(),
                body,
            ),
            ("PATCH", Route::Upload { id, .. }) => {
                self.chunk(UploadTarget { name, id }, headers, body)
            }
            ("PUT", Route::Upload { id, digest, .. }) => {
                self.complete(UploadTarget { name, id }, digest.as_deref(), headers, body)
            }
            ("GET" | "HEAD", Route::Upload { id, .. }) => self.status(UploadTarget { name, id }),
            ("DELETE", Route::Upload { id, .. }) => self.cancel(UploadTarget { name, id }),
            ("PUT", Route::Manifest { reference, .. }) => {
                self.manifest(name, reference, headers, body)
            }
            ("DELETE", Route::Manifest { reference, .. }) => self.delete(name, reference),
            _ => not_allowed(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `POST .../blobs/uploads/`: a mount, a single-request upload, or a new upload (`202`).
    fn start(
        &self,
        name: &str,
        digest: Option<&str>,
        mount: Option<&str>,
        from: Option<&str>,
        body: &[u8],
    ) -> Answer {
        if let (PushAs::Distribution, Some(mount), Some(from)) = (self.push_as, mount, from)
            && ImageDigest::is_well_formed(mount)
        {
            match self.write().mount_blob(name, from, mount) {
                Ok(true) => return blob_created(name, mount),
                Ok(false) => {}
                Err(e) => return self.upload_error(&e),
            }
        }
        let request = wire::InitiateLayerUploadRequest {
            repository_name: Some(name.to_owned()),
            ..Default::default()
        };
        let started = self.write().initiate_layer_upload(&request);
        let id = match started {
            Ok(started) => started.upload_id.unwrap_or_default(),
            Err(e) => return self.upload_error(&e),
        };
        let target = UploadTarget { name, id: &id };
        match digest {
            Some(digest) => self.complete(target, Some(digest), &HeaderMap::new(), body),
            None => upload_answer(202, target, 0),
        }
    }

    /// `PATCH <location>`: a chunk, at its `Content-Range` or where the upload ended.
    fn chunk(&self, target: UploadTarget<'_>, headers: &HeaderMap, body: &[u8]) -> Answer {
        let received = match self.append(target, headers, body) {
            Ok(received) => received,
            Err(refused) => return refused,
        };
        let status = match self.push_as {
            PushAs::Ecr => 201,
            PushAs::Distribution => 202,
        };
        upload_answer(status, target, received)
    }

    /// Appends `body` to the upload: the bytes received in all, or the refusal.
    fn append(
        &self,
        target: UploadTarget<'_>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<u64, Answer> {
        let range = headers
            .get(http::header::CONTENT_RANGE)
            .map(|v| v.to_str().ok().and_then(content_range));
        let start = match range {
            None => None,
            Some(None) => {
                let message = "Content-Range must be <start>-<end>";
                return Err(Answer::error(416, ErrorCode::BlobUploadInvalid, message));
            }
            Some(Some((start, end))) if end - start + 1 != body.len() as u64 => {
                let message = format!(
                    "Content-Range {start}-{end} does not span the {} bytes sent",
                    body.len()
                );
                return Err(Answer::error(416, ErrorCode::BlobUploadInvalid, &message));
            }
            Some(Some((start, _))) => Some(start),
        };
        let chunk = PreparedChunk::of(body);
        let rule = self.push_as.part_rule();
        let pushed = self.write().push_chunk(target, start, chunk, rule);
        pushed.map_err(|e| self.upload_error(&e))
    }

    /// `PUT <location>?digest=`: an optional last chunk, then CompleteLayerUpload (`201`).
    fn complete(
        &self,
        target: UploadTarget<'_>,
        digest: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Answer {
        let Some(digest) = digest.filter(|d| ImageDigest::is_well_formed(d)) else {
            let message = "the digest parameter is missing or not a sha256 digest";
            return Answer::error(400, ErrorCode::DigestInvalid, message);
        };
        if !body.is_empty()
            && let Err(refused) = self.append(target, headers, body)
        {
            return refused;
        }
        let request = wire::CompleteLayerUploadRequest {
            repository_name: Some(target.name.to_owned()),
            upload_id: Some(target.id.to_owned()),
            layer_digests: Some(vec![digest.to_owned()]),
            ..Default::default()
        };
        let parts = self.read().upload_parts(&request);
        let joined = parts.map(|p| JoinedUpload::of(&p));
        let completed = self.write().complete_joined_upload(&request, joined);
        match completed {
            Ok(_) => blob_created(target.name, digest),
            Err(e) if e.code == "LayerAlreadyExistsException" => blob_created(target.name, digest),
            Err(e) => self.upload_error(&e),
        }
    }

    /// `GET <location>`: `204` with the bytes received as `Range`.
    fn status(&self, target: UploadTarget<'_>) -> Answer {
        match self.read().upload_offset(target) {
            Ok(received) => upload_answer(204, target, received),
            Err(e) => self.upload_error(&e),
        }
    }

    /// `DELETE <location>`: the upload is forgotten (`204`).
    fn cancel(&self, target: UploadTarget<'_>) -> Answer {
        match self.write().cancel_upload(target) {
            Ok(()) => Answer::new(204, "text/plain; charset=utf-8", Vec::new()),
            Err(e) => self.upload_error(&e),
        }
    }

    /// `PUT .../manifests/<reference>`: PutImage (`201`), its blobs required.
    fn manifest(
        &self,
        name: &str,
        reference: &Reference,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Answer {
        let Ok(manifest) = std::str::from_utf8(body) else {
            let refusal = OpError::invalid(
                "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
            );
            return self.manifest_error(&refusal, name);
        };
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let inner = Contents::parse(manifest).and_then(|c| c.media_type);
        let (tag, digest) = match reference {
            Reference::Tag(tag) => (Some(tag.clone()), None),
            Reference::Digest(digest) => (None, Some(digest.clone())),
        };
        let request = wire::PutImageRequest {
            repository_name: Some(name.to_owned()),
            image_manifest: Some(manifest.to_owned()),
            image_manifest_media_type: inner
                .is_none()
                .then(|| content_type.map(str::to_owned))
                .flatten(),
            image_tag: tag,
            image_digest: digest,
            ..Default::default()
        };
        let prepared = PreparedImage::of(&request);
        let pushed = self.write().push_manifest(&request, prepared, self.now);
        let digest = ImageDigest::of(body).to_string();
        match pushed {
            Err(e) if e.code != "ImageAlreadyExistsException" => self.manifest_error(&e, name),
            _ => Answer::new(201, "text/plain; charset=utf-8", Vec::new())
                .with("location", format!("/v2/{name}/manifests/{digest}"))
                .with(DIGEST_HEADER, digest),
        }
    }

    /// `DELETE .../manifests/<digest>`: BatchDeleteImage of the digest (`202`).
    fn delete(&self, name: &str, reference: &Reference) -> Answer {
        let Reference::Digest(digest) = reference else {
            let message = "a manifest is deleted by digest: delete a tag with BatchDeleteImage";
            return Answer::error(400, ErrorCode::Unsupported, message);
        };
        if !ImageDigest::is_well_formed(digest) {
            return Answer::error(400, ErrorCode::DigestInvalid, "invalid digest");
        }
        let request = wire::BatchDeleteImageRequest {
            repository_name: Some(name.to_owned()),
            image_ids: Some(vec![wire::ImageIdentifier {
                image_digest: Some(digest.clone()),
                image_tag: None,
            }]),
            ..Default::default()
        };
        let deleted = match self.write().batch_delete_image(&request) {
            Ok(deleted) => deleted,
            Err(e) => return op_error(&e),
        };
        let failure = deleted.failures.unwrap_or_default().into_iter().next();
        match failure {
            None => Answer::new(202, "text/plain; charset=utf-8", Vec::new()),
            Some(f) => {
                let reason = f.failure_reason.unwrap_or_default();
                match f.failure_code.as_deref() {
                    Some("ImageReferencedByManifestList") => {
                        let message =
                            format!("Requested image referenced by manifest list: {reason}");
                        Answer::error(400, ErrorCode::Denied, &message)
                    }
                    _ => Answer::error(404, ErrorCode::ManifestUnknown, &reason),
                }
            }
        }
    }

    /// An upload's error, as the registry API says it.
    fn upload_error(&self, e: &OpError) -> Answer {
        let invalid = ErrorCode::BlobUploadInvalid;
        match e.code {
            "InvalidLayerPartException" => Answer::error(416, invalid, &e.message),
            "LayerPartTooSmallException" => Answer::error(400, invalid, &e.message),
            "EmptyUploadException" => {
                let message = format!(
                    "{} cannot be completed because it does not have any parts.",
                    e.message.trim_end_matches(" is empty")
                );
                Answer::error(400, invalid, &message)
            }
            "InvalidLayerException" => match self.push_as {
                PushAs::Ecr => Answer::error(
                    400,
                    invalid,
                    "None of the provided layer digests match the calculated layer digest",
                ),
                PushAs::Distribution => Answer::error(400, ErrorCode::DigestInvalid, &e.message),
            },
            "UploadNotFoundException" => {
                Answer::error(404, ErrorCode::BlobUploadUnknown, &e.message)
            }
            "LimitExceededException" => Answer::error(403, ErrorCode::Denied, &e.message),
            _ => op_error(e),
        }
    }

    /// A PutImage error, as the registry API says it.
    fn manifest_error(&self, e: &OpError, name: &str) -> Answer {
        match e.code {
            "ImageTagAlreadyExistsException" => Answer {
                body: encode_registry_error_text(TAG_INVALID, &e.message),
                ..Answer::error(400, ErrorCode::Unsupported, "")
            },
            "LayersNotFoundException" => {
                Answer::error(400, ErrorCode::ManifestBlobUnknown, &e.message)
            }
            "ReferencedImagesNotFoundException" => {
                let account = self.read().account.to_string();
                let message = format!(
                    "Images with digests '[{}]' required for pushing image into repository with name '{name}' in the registry with id '{account}' do not exist",
                    e.message.rsplit(": ").next().unwrap_or_default()
                );
                Answer::error(400, ErrorCode::ManifestBlobUnknown, &message)
            }
            "ImageDigestDoesNotMatchException" => {
                Answer::error(400, ErrorCode::DigestInvalid, &e.message)
            }
            "InvalidParameterException" => match self.push_as {
                PushAs::Ecr => Answer::error(405, ErrorCode::Unsupported, &e.message),
                PushAs::Distribution => Answer::error(400, ErrorCode::ManifestInvalid, &e.message),
            },
            "LimitExceededException" => Answer::error(403, ErrorCode::Denied, &e.message),
            _ => op_error(e),
        }
    }
}

/// `405 UNSUPPORTED` for a method the path does not take.
fn not_allowed() -> Answer {
    Answer::error(
        405,
        ErrorCode::Unsupported,
        "the registry API does not take this method here",
    )
}

/// `201` for a blob now stored.
fn blob_created(name: &str, digest: &str) -> Answer {
    Answer::new(201, "text/plain; charset=utf-8", Vec::new())
        .with("location", format!("/v2/{name}/blobs/{digest}"))
        .with(DIGEST_HEADER, digest)
}

/// An answer about an upload in progress: its location, id and the bytes received as `Range`.
fn upload_answer(status: u16, target: UploadTarget<'_>, received: u64) -> Answer {
    let UploadTarget { name, id } = target;
    Answer::new(status, "text/plain; charset=utf-8", Vec::new())
        .with("location", format!("/v2/{name}/blobs/uploads/{id}"))
        .with("range", format!("0-{}", received.saturating_sub(1)))
        .with(UPLOAD_UUID_HEADER, id)
}
