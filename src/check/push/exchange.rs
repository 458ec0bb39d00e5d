//! What every push probe shares: sending with the token, reading back through the AWS JSON
//! API, locations, and judging.

use crate::model::manifest::{OCI, S2};
use crate::oracle::PushedImage;
use crate::remote::{Fetched, TransportError};
use crate::wire::{self, Operation};

use super::super::session::{CheckError, Session};
use super::Pusher;

/// BatchGetImage of `id` in `name`, every format accepted: the image, if one is returned.
pub(super) async fn batch_get(
    session: &mut Session<'_>,
    name: &str,
    id: wire::ImageIdentifier,
) -> Result<Option<PushedImage>, CheckError> {
    let request = wire::BatchGetImageRequest {
        repository_name: Some(name.to_owned()),
        image_ids: Some(vec![id]),
        accepted_media_types: Some(vec![OCI.to_owned(), S2.to_owned()]),
        ..Default::default()
    };
    let exchange = session
        .send(
            Operation::BatchGetImage,
            wire::encode_request(&request).body,
        )
        .await?;
    let image = wire::decode_body::<wire::BatchGetImageResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.images)
        .and_then(|images| images.into_iter().next());
    Ok(image.map(|i| PushedImage {
        manifest: i.image_manifest.unwrap_or_default(),
        digest: i
            .image_id
            .and_then(|id| id.image_digest)
            .unwrap_or_default(),
        media_type: i.image_manifest_media_type,
    }))
}

/// Whether BatchCheckLayerAvailability reports `digest` `AVAILABLE` in `name`.
pub(super) async fn available(
    session: &mut Session<'_>,
    name: &str,
    digest: &str,
) -> Result<bool, CheckError> {
    let request = wire::BatchCheckLayerAvailabilityRequest {
        repository_name: Some(name.to_owned()),
        layer_digests: Some(vec![digest.to_owned()]),
        ..Default::default()
    };
    let exchange = session
        .send(
            Operation::BatchCheckLayerAvailability,
            wire::encode_request(&request).body,
        )
        .await?;
    let layers = wire::decode_body::<wire::BatchCheckLayerAvailabilityResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.layers)
        .unwrap_or_default();
    Ok(layers
        .iter()
        .any(|l| l.layer_availability.as_deref() == Some("AVAILABLE")))
}

/// A `Content-Range` header for `len` bytes from `start`.
pub(super) fn range(start: usize, len: usize) -> (&'static str, String) {
    ("content-range", format!("{start}-{}", start + len - 1))
}

/// `location` with `digest=` added to its query.
pub(super) fn with_digest(location: &str, digest: &str) -> String {
    let separator = match location.contains('?') {
        true => '&',
        false => '?',
    };
    format!("{location}{separator}digest={digest}")
}

/// The answer's `Location`, made absolute against the registry's base URL.
pub(super) fn next_location(pusher: &Pusher, fetched: &Fetched) -> Option<String> {
    let location = fetched.headers.get("location")?.to_str().ok()?;
    Some(match location.starts_with('/') {
        true => {
            let origin = pusher.base.find("://").and_then(|at| {
                pusher.base[at + 3..]
                    .find('/')
                    .map(|p| &pusher.base[..at + 3 + p])
            });
            format!("{}{location}", origin.unwrap_or(&pusher.base))
        }
        false => location.to_owned(),
    })
}

pub(super) async fn send(
    session: &mut Session<'_>,
    pusher: &Pusher,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Fetched, TransportError> {
    session.probes += 1;
    let mut all = vec![("authorization", pusher.authorization.clone())];
    all.extend(headers.iter().cloned());
    session.target.push(method, url, &all, body).await
}
