//! proptest strategies: registries built by random call sequences, BatchGetImage requests
//! that hit them, and server profiles. One generator feeds the property tests, the fuzz seed
//! corpus and the harness's property phase.

use proptest::prelude::*;

use crate::model::manifest::{DOCKER_LIST, OCI, OCI_INDEX, S1, S2};
use crate::model::{Call, DigestTags, ImageDigest, ImageManifest, Profile, Registry, RegistryId};
use crate::wire::{
    BatchDeleteImageRequest, BatchGetImageRequest, CreateRepositoryRequest,
    DeleteRepositoryRequest, ImageIdentifier, PutImageRequest,
};

use super::fixture::{ACCOUNT, REGION};
use super::manifests::{
    ContentBlob, Layout, S1_MEDIA_TYPE, exotic, manifest_list, oci, schema1, schema2,
};

/// Repository names the generated calls use.
pub(crate) const REPOSITORIES: [&str; 3] = ["team/app", "solo", "a.b/c-d"];
/// Tags the generated calls use; `Latest` differs from `latest` only in case.
pub(crate) const TAGS: [&str; 6] = ["latest", "v1", "v2", "Latest", "1.0", "rc_1"];

/// A registry state, given as the calls that build it, and a request against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The calls, applied in order to an empty registry (failing calls change nothing).
    pub calls: Vec<Call>,
    /// The request.
    pub request: BatchGetImageRequest,
}

impl Scenario {
    /// The registry the calls build, for the fixture's account and region.
    pub fn registry(&self) -> Registry {
        build_registry(&self.calls)
    }
}

/// Applies `calls` to an empty registry of the fixture's account, ignoring failing calls.
pub fn build_registry(calls: &[Call]) -> Registry {
    let account = RegistryId::parse(ACCOUNT).unwrap_or_else(|_| unreachable_account());
    let mut registry = Registry::new(account, REGION);
    for (i, call) in calls.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let _ = registry.apply(call, 1_700_000_000.0 + i as f64);
    }
    registry
}

fn unreachable_account() -> RegistryId {
    // ACCOUNT is twelve digits; this path is never taken.
    RegistryId::parse("000000000000").unwrap_or_else(|_| unreachable_account())
}

/// A manifest to push: bytes and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushable {
    /// The manifest.
    pub manifest: String,
    /// The media type to push it with.
    pub media_type: &'static str,
}

impl Pushable {
    /// Its digest.
    pub fn digest(&self) -> String {
        ImageDigest::of(self.manifest.as_bytes()).to_string()
    }
}

/// For [`Registry::builder`]: `.image(pushable)`.
impl From<Pushable> for ImageManifest {
    fn from(p: Pushable) -> Self {
        ImageManifest::new(p.manifest).with_media_type(p.media_type)
    }
}

// The strategies below use only tuples, vectors and ranges, never `prop_oneof!`,
// `prop_flat_map` or option strategies: those fork the RNG, and under the fuzzers'
// pass-through RNG every fork takes half of the remaining input. Choices are drawn as
// indices instead, so fuzz bytes map one to one onto choices and recorded bytes replay the
// same value.

/// Draws `true` with probability `numerator / 10`.
fn tenths(numerator: u8) -> impl Strategy<Value = bool> {
    (0..10u8).prop_map(move |n| n < numerator)
}

fn config_blob(seed: u8) -> ContentBlob {
    ContentBlob::from_seed(&format!("config-{seed}"))
}

fn layer_blob(seed: u8) -> ContentBlob {
    ContentBlob::from_seed(&format!("layer-{seed}"))
}

/// Every blob the generated manifests name: 8 configs and 16 layers.
pub(crate) fn generated_blobs() -> impl Iterator<Item = ContentBlob> {
    (0..8).map(config_blob).chain((0..16).map(layer_blob))
}

/// An image manifest: Docker schema 2, OCI, schema 1, or an OCI manifest that stresses
/// byte-exactness (see [`exotic`]), with up to three layers.
pub fn arb_manifest() -> impl Strategy<Value = Pushable> {
    (
        0..4u8,
        0..8u8,
        proptest::collection::vec(0..16u8, 0..4),
        0..3u8,
    )
        .prop_map(|(kind, config, layers, layout)| {
            let layout = [Layout::Docker, Layout::Compact, Layout::Indented][usize::from(layout)];
            let config = config_blob(config);
            let layers: Vec<ContentBlob> = layers.iter().map(|l| layer_blob(*l)).collect();
            match kind {
                0 => Pushable {
                    manifest: schema2(&config, &layers, layout),
                    media_type: S2,
                },
                1 => Pushable {
                    manifest: oci(&config, &layers, layout),
                    media_type: OCI,
                },
                3 => Pushable {
                    manifest: exotic(&config, &layers),
                    media_type: OCI,
                },
                _ => Pushable {
                    manifest: schema1("app", "tag", &layers, layout),
                    media_type: S1_MEDIA_TYPE,
                },
            }
        })
}

/// One to five distinct manifests, and a manifest list of the first two when there are two.
pub fn arb_manifests() -> impl Strategy<Value = Vec<Pushable>> {
    proptest::collection::vec(arb_manifest(), 1..6).prop_map(|mut pool| {
        pool.sort_by(|a, b| a.manifest.cmp(&b.manifest));
        pool.dedup();
        if pool.len() >= 2 {
            push_list_of_first_two(&mut pool);
        }
        pool
    })
}

/// Adds a Docker manifest list of the pool's first two manifests.
fn push_list_of_first_two(pool: &mut Vec<Pushable>) {
    let refs: Vec<(String, usize)> = pool
        .iter()
        .take(2)
        .map(|p| (p.digest(), p.manifest.len()))
        .collect();
    let refs: Vec<(&str, usize, &str)> = refs
        .iter()
        .map(|(d, n)| (d.as_str(), *n, "amd64"))
        .collect();
    pool.push(Pushable {
        manifest: manifest_list(&refs, Layout::Docker),
        media_type: DOCKER_LIST,
    });
}

/// A fixed pool for strategies drawn apart ([`arb_registry`](super::arb_registry) and
/// [`arb_batch_get_image_request`](super::arb_batch_get_image_request)): one manifest of each
/// kind and layout the generators make, and a manifest list of the first two.
pub(crate) fn shared_pool() -> &'static [Pushable] {
    static POOL: std::sync::OnceLock<Vec<Pushable>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let layers = |n: u8| (0..n).map(layer_blob).collect::<Vec<_>>();
        let mut pool = vec![
            Pushable {
                manifest: schema2(&config_blob(0), &layers(2), Layout::Docker),
                media_type: S2,
            },
            Pushable {
                manifest: oci(&config_blob(1), &layers(1), Layout::Compact),
                media_type: OCI,
            },
            Pushable {
                manifest: schema1("app", "tag", &layers(3), Layout::Indented),
                media_type: S1_MEDIA_TYPE,
            },
            Pushable {
                manifest: exotic(&config_blob(2), &layers(2)),
                media_type: OCI,
            },
            Pushable {
                manifest: schema2(&config_blob(3), &[], Layout::Compact),
                media_type: S2,
            },
        ];
        push_list_of_first_two(&mut pool);
        pool
    })
}

/// A call, with its manifest and digest named by index into the pool.
#[derive(Debug, Clone)]
pub(super) struct CallChoice {
    kind: u8,
    repository: usize,
    manifest: usize,
    tag: Option<usize>,
    immutable: bool,
    by_digest: bool,
}

pub(super) fn arb_call_choice() -> impl Strategy<Value = CallChoice> {
    (
        0..25u8,
        0..10usize,
        any::<usize>(),
        (tenths(8), 0..TAGS.len()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, repository, manifest, (tagged, tag), immutable, by_digest)| CallChoice {
                kind,
                repository,
                manifest,
                tag: tagged.then_some(tag),
                immutable,
                by_digest,
            },
        )
}

/// Weights: create 2, put 18, delete an image 4, delete a repository 1 (of 25); `team/app`
/// 6 of 10, the other repositories 2 each.
fn resolve_call(c: &CallChoice, pool: &[Pushable]) -> Call {
    let repository_name = Some(
        REPOSITORIES[match c.repository {
            0..=5 => 0,
            6..=7 => 1,
            _ => 2,
        }]
        .to_owned(),
    );
    let pushable = &pool[c.manifest % pool.len()];
    match c.kind {
        0..=1 => Call::CreateRepository(CreateRepositoryRequest {
            repository_name,
            image_tag_mutability: c.immutable.then(|| "IMMUTABLE".to_owned()),
            ..Default::default()
        }),
        2..=19 => Call::PutImage(PutImageRequest {
            repository_name,
            image_manifest: Some(pushable.manifest.clone()),
            image_manifest_media_type: Some(pushable.media_type.to_owned()),
            image_tag: c.tag.map(|t| TAGS[t].to_owned()),
            ..Default::default()
        }),
        20..=23 => {
            let id = match c.by_digest {
                true => ImageIdentifier::digest(pushable.digest()),
                false => ImageIdentifier::tag(TAGS[c.tag.unwrap_or(0)]),
            };
            Call::BatchDeleteImage(BatchDeleteImageRequest {
                repository_name,
                image_ids: Some(vec![id]),
                ..Default::default()
            })
        }
        _ => Call::DeleteRepository(DeleteRepositoryRequest {
            repository_name,
            force: Some(true),
            ..Default::default()
        }),
    }
}

/// The calls of a scenario: `team/app` is created first, then up to sixteen random calls.
pub(super) fn resolve_calls(choices: &[CallChoice], pool: &[Pushable]) -> Vec<Call> {
    let first = Call::CreateRepository(CreateRepositoryRequest {
        repository_name: Some(REPOSITORIES[0].to_owned()),
        ..Default::default()
    });
    std::iter::once(first)
        .chain(choices.iter().map(|c| resolve_call(c, pool)))
        .collect()
}

/// A digest a request names: 8 in 10 times one of the pool's, else an absent one, one in
/// upper-case hex, or a malformed one (ASCII or not).
fn request_digest(pool: &[Pushable], (kind, i): (u8, usize)) -> String {
    if kind < 8 {
        return pool[i % pool.len()].digest();
    }
    let first = pool[0].digest();
    let odd = [
        format!("sha256:{}", first[7..].to_uppercase()),
        format!("sha256:{}", "0".repeat(64)),
    ];
    match i % 6 {
        0 | 1 => odd[i % 6].clone(),
        2 => "sha256:xyz".to_owned(),
        3 => "no-colon".to_owned(),
        4 => format!("sha256:{}", "\u{e9}".repeat(64)),
        _ => "sha256:".to_owned(),
    }
}

/// A tag a request names: 8 in 10 times one the calls use, else an absent one, one with a
/// slash, one with non-ASCII letters, or one of 300 characters.
fn request_tag((kind, i): (u8, usize)) -> String {
    match (kind < 8, i % 4) {
        (true, _) => TAGS[i % TAGS.len()].to_owned(),
        // Distinct absent tags, so that long lists of ids are lists of distinct ids.
        (false, 0) => format!("absent{}", i % 97),
        (false, 1) => "a/b".to_owned(),
        (false, 2) => format!("v\u{e9}rsion-\u{7248}{}", i % 97),
        (false, _) => "t".repeat(300),
    }
}

/// Media types a request may accept; `text/plain` is one the table does not know.
const ACCEPTABLE: [&str; 7] = [
    S1,
    S1_MEDIA_TYPE,
    S2,
    OCI,
    DOCKER_LIST,
    OCI_INDEX,
    "text/plain",
];

/// An id: its kind, then a tag and a digest, each as a weight draw and an index.
type IdChoice = (u8, (u8, usize), (u8, usize));

/// A request, with its digests named by index.
#[derive(Debug, Clone)]
pub(super) struct RequestChoice {
    registry: u8,
    name: (bool, usize),
    ids: Vec<IdChoice>,
    /// One request in ten has up to 94 more ids, derived from their index: large batches.
    more: (bool, usize),
    accepted: (bool, Vec<usize>),
}

pub(super) fn arb_request_choice() -> impl Strategy<Value = RequestChoice> {
    let pick = || (0..10u8, any::<usize>());
    (
        0..12u8,
        (tenths(9), 0..20usize),
        proptest::collection::vec((0..10u8, pick(), pick()), 1..6),
        (tenths(1), 0..95usize),
        (
            tenths(6),
            proptest::collection::vec(0..ACCEPTABLE.len(), 1..4),
        ),
    )
        .prop_map(|(registry, name, ids, more, accepted)| RequestChoice {
            registry,
            name,
            ids,
            more,
            accepted,
        })
}

/// Weights of ids: tag 4, digest 3, both 2, neither 1 (of 10). Registry ids: none 8, the
/// caller's 2, a foreign one 1, an invalid one 1 (of 12).
pub(super) fn resolve_request(c: &RequestChoice, pool: &[Pushable]) -> BatchGetImageRequest {
    let registry_id = match c.registry {
        0..=7 => None,
        8..=9 => Some(ACCOUNT.to_owned()),
        10 => Some("210987654321".to_owned()),
        _ => Some("12345".to_owned()),
    };
    let name = match c.name {
        (true, 0..=13) | (false, 0..=9) => REPOSITORIES[0],
        (true, 14..=16) | (false, 10..=13) => REPOSITORIES[1],
        (true, _) | (false, 14..=16) => REPOSITORIES[2],
        (false, 17) => "absent",
        (false, 18) => "x",
        (false, _) => "Bad_Name",
    };
    let more = (0..if c.more.0 { c.more.1 } else { 0 }).map(|i| {
        let weight = u8::try_from(i % 10).unwrap_or(0);
        (weight, (weight, i * 3), (9 - weight, i * 7))
    });
    let ids = c
        .ids
        .iter()
        .copied()
        .chain(more)
        .map(|(kind, t, d)| {
            let (tag, digest) = (request_tag(t), request_digest(pool, d));
            match kind {
                0..=3 => ImageIdentifier::tag(tag),
                4..=6 => ImageIdentifier::digest(digest),
                7..=8 => ImageIdentifier::tag_and_digest(tag, digest),
                _ => ImageIdentifier::default(),
            }
        })
        .collect();
    let accepted = c.accepted.0.then(|| {
        let mut types: Vec<String> = Vec::new();
        for t in c.accepted.1.iter().map(|i| ACCEPTABLE[*i].to_owned()) {
            if !types.contains(&t) {
                types.push(t);
            }
        }
        types
    });
    BatchGetImageRequest {
        registry_id,
        repository_name: Some(name.to_owned()),
        image_ids: Some(ids),
        accepted_media_types: accepted,
    }
}

/// A BatchGetImage request against registries built from `pool`: mostly valid, sometimes
/// naming absent or invalid repositories, registries, tags and digests.
pub fn arb_request(pool: Vec<Pushable>) -> impl Strategy<Value = BatchGetImageRequest> {
    arb_request_choice().prop_map(move |c| resolve_request(&c, &pool))
}

/// A registry built by random calls and a request against it.
pub fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (
        arb_manifests(),
        proptest::collection::vec(arb_call_choice(), 0..16),
        arb_request_choice(),
    )
        .prop_map(|(pool, calls, request)| Scenario {
            calls: resolve_calls(&calls, &pool),
            request: resolve_request(&request, &pool),
        })
}

/// Any profile: every choice a conforming server may make.
pub fn arb_profile() -> impl Strategy<Value = Profile> {
    (0..3usize, any::<[bool; 5]>()).prop_map(|(digest_tags, b)| Profile {
        digest_tags: [DigestTags::None, DigestTags::First, DigestTags::Each][digest_tags],
        fail_untranslatable: b[0],
        digest_of_translation: b[1],
        reject_invalid_digest: b[2],
        mismatch_as_not_found: b[3],
        dedupe_ids: b[4],
    })
}
