//! How large an answer each operation can need, from the service model's limits: a server
//! that sends more is cut off ([`TransportError::TooLarge`](super::TransportError)) before
//! its answer is held whole, so that an operation that cannot need much never costs much.
//! `wire::MAX_BODY_BYTES` (801 MiB) is the bound of BatchGetImage alone.

use crate::wire::{self, BatchGetImageRequest, MAX_BODY_BYTES, Operation};

/// The service model's largest manifest (`ImageManifest`, `max: 4194304` characters).
const MANIFEST_CHARS: usize = 4_194_304;

/// The most bytes one manifest character can take once the manifest is a JSON string in an
/// answer: a code point outside the Basic Multilingual Plane escaped as two `\uXXXX` (as
/// Python's `json.dumps` writes every non-ASCII character, so moto does). Doubling, the
/// factor `wire::MAX_BODY_BYTES` assumes, is not enough: moto's answer to the 4 MiB manifest
/// case is over twice the manifest.
const ESCAPED_BYTES_PER_CHAR: usize = 12;

/// One manifest of the service model's largest size, as an answer may carry it.
const ESCAPED_MANIFEST_BYTES: usize = MANIFEST_CHARS * ESCAPED_BYTES_PER_CHAR;

/// The envelope and every other member of an answer, as in `wire::MAX_BODY_BYTES`.
const ENVELOPE_BYTES: usize = 1 << 20;

/// An answer about one repository or one upload (CreateRepository, DeleteRepository,
/// InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, GetAuthorizationToken: at most
/// 10 registries, `GetAuthorizationTokenRegistryIdList` `max: 10`), or about a batch of at
/// most 100 ids or digests (BatchDeleteImage, `ImageIdentifierList` `max: 100`;
/// BatchCheckLayerAvailability, `BatchedOperationLayerDigestList` `max: 100`), each entry a
/// digest, a tag of at most 300 characters and a reason: well under 10 KiB an entry, so under
/// 1 MiB in all.
pub const SMALL_ANSWER_BYTES: usize = ENVELOPE_BYTES;

/// PutImage's answer: the image pushed, its one manifest of at most 4,194,304 characters,
/// each escaped into at most 12 bytes (`ESCAPED_BYTES_PER_CHAR`), and the envelope (49 MiB).
pub const ONE_MANIFEST_ANSWER_BYTES: usize = ESCAPED_MANIFEST_BYTES + ENVELOPE_BYTES;

/// A page of DescribeRepositories, ListImages or DescribeImages: at most 1,000 entries
/// (`MaxResults` `max: 1000`), each under 16 KiB (a repository's ARN and URI, an image id, or
/// an image detail with its tags; the model bounds the page, not an image's tag list). `check`
/// sends none of them.
pub const PAGE_ANSWER_BYTES: usize = 1_000 * 16 * 1024;

/// A registry API answer: a manifest of at most 4,194,304 bytes (sent raw, not escaped) and
/// 1 MiB for anything else. The blobs `check` pulls are the ones it pushed, each under 1 KiB;
/// a `tags/list` page holds one tag (`n=1`); an error envelope is a few hundred bytes.
pub const REGISTRY_ANSWER_BYTES: usize = MANIFEST_CHARS + ENVELOPE_BYTES;

/// The largest answer `operation` can need: over it, the answer is refused unread.
pub fn answer_bound(operation: Operation) -> usize {
    match operation {
        Operation::BatchGetImage => MAX_BODY_BYTES,
        Operation::PutImage => ONE_MANIFEST_ANSWER_BYTES,
        Operation::DescribeRepositories | Operation::ListImages | Operation::DescribeImages => {
            PAGE_ANSWER_BYTES
        }
        _ => SMALL_ANSWER_BYTES,
    }
}

/// The largest answer the request `body` of `operation` can need: for BatchGetImage, one
/// manifest (escaped) per requested id, as ECR answers each id once (per repetition at
/// most), and the envelope; [`answer_bound`] for any other operation, and for a request whose
/// ids cannot be counted. A server that answers more images than ids breaks ID-ACCOUNTING,
/// which then ends the run instead of being judged, only past this bound.
pub fn request_bound(operation: Operation, body: &[u8]) -> usize {
    let bound = answer_bound(operation);
    if operation != Operation::BatchGetImage {
        return bound;
    }
    let ids = wire::decode_body::<BatchGetImageRequest>(body)
        .ok()
        .and_then(|d| d.value.image_ids)
        .map_or(0, |ids| ids.len());
    match ids {
        0 => bound,
        n => n
            .saturating_mul(ESCAPED_MANIFEST_BYTES)
            .saturating_add(ENVELOPE_BYTES)
            .min(bound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_get_image_answer_needs_one_manifest_per_requested_id() {
        let ids = |n: usize| {
            let ids: Vec<String> = (0..n)
                .map(|i| format!("{{\"imageTag\":\"t{i}\"}}"))
                .collect();
            format!(
                "{{\"repositoryName\":\"a\",\"imageIds\":[{}]}}",
                ids.join(",")
            )
        };
        let bound = |body: &str| request_bound(Operation::BatchGetImage, body.as_bytes());
        assert_eq!(bound(&ids(1)), ONE_MANIFEST_ANSWER_BYTES);
        assert_eq!(bound(&ids(2)), 2 * ESCAPED_MANIFEST_BYTES + ENVELOPE_BYTES);
        assert_eq!(bound(&ids(100)), MAX_BODY_BYTES);
        assert_eq!(bound(&ids(101)), MAX_BODY_BYTES);
        for uncounted in ["{}", "{\"imageIds\":[]}", "not JSON", "{\"imageIds\":7}"] {
            assert_eq!(bound(uncounted), MAX_BODY_BYTES, "{uncounted}");
        }
        let create = br#"{"repositoryName":"a"}"#;
        assert_eq!(
            request_bound(Operation::CreateRepository, create),
            SMALL_ANSWER_BYTES
        );
    }

    #[test]
    fn only_batch_get_image_needs_the_decoders_whole_bound() {
        for operation in Operation::ALL {
            let bound = answer_bound(operation);
            assert!(bound <= MAX_BODY_BYTES, "{operation:?}");
            match operation {
                Operation::BatchGetImage => assert_eq!(bound, MAX_BODY_BYTES),
                _ => assert!(bound <= 64 << 20, "{operation:?}: {bound}"),
            }
        }
    }
}
