//! proptest strategies: registries built by random call sequences, BatchGetImage requests
//! that hit them, and server profiles. One generator feeds the property tests, the fuzz seed
//! corpus and the harness's property phase.

use proptest::prelude::*;
use proptest::sample::select;

use crate::model::manifest::{DOCKER_LIST, OCI, OCI_INDEX, S1, S2};
use crate::model::{Call, DigestTags, ImageDigest, Profile, Registry, RegistryId};
use crate::wire::{
    BatchDeleteImageRequest, BatchGetImageRequest, CreateRepositoryRequest,
    DeleteRepositoryRequest, ImageIdentifier, PutImageRequest,
};

use super::fixture::{ACCOUNT, REGION};
use super::manifests::{Blob, Layout, S1_MEDIA_TYPE, manifest_list, oci, schema1, schema2};

/// Repository names the generated calls use.
pub const REPOSITORIES: [&str; 3] = ["team/app", "solo", "a.b/c-d"];
/// Tags the generated calls use; `Latest` differs from `latest` only in case.
pub const TAGS: [&str; 6] = ["latest", "v1", "v2", "Latest", "1.0", "rc_1"];

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

fn arb_layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::Docker),
        Just(Layout::Compact),
        Just(Layout::Indented)
    ]
}

/// An image manifest: Docker schema 2, OCI or schema 1, with up to three layers.
pub fn arb_manifest() -> impl Strategy<Value = Pushable> {
    (
        0..3u8,
        0..8u8,
        proptest::collection::vec(0..16u8, 0..4),
        arb_layout(),
    )
        .prop_map(|(kind, config, layers, layout)| {
            let config = Blob::from_seed(&format!("config-{config}"));
            let layers: Vec<Blob> = layers
                .iter()
                .map(|l| Blob::from_seed(&format!("layer-{l}")))
                .collect();
            match kind {
                0 => Pushable {
                    manifest: schema2(&config, &layers, layout),
                    media_type: S2,
                },
                1 => Pushable {
                    manifest: oci(&config, &layers, layout),
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
        pool
    })
}

fn arb_call(pool: Vec<Pushable>) -> impl Strategy<Value = Call> {
    let repo = select(REPOSITORIES.to_vec());
    let tag = select(TAGS.to_vec());
    let digests: Vec<String> = pool.iter().map(Pushable::digest).collect();
    prop_oneof![
        2 => (repo.clone(), any::<bool>()).prop_map(|(r, immutable)| Call::CreateRepository(CreateRepositoryRequest {
            repository_name: Some(r.to_owned()),
            image_tag_mutability: immutable.then(|| "IMMUTABLE".to_owned()),
            ..Default::default()
        })),
        8 => (repo.clone(), select(pool), proptest::option::weighted(0.8, tag.clone())).prop_map(|(r, p, t)| Call::PutImage(PutImageRequest {
            repository_name: Some(r.to_owned()),
            image_manifest: Some(p.manifest),
            image_manifest_media_type: Some(p.media_type.to_owned()),
            image_tag: t.map(str::to_owned),
            ..Default::default()
        })),
        2 => (repo.clone(), prop_oneof![tag.prop_map(ImageIdentifier::tag), select(digests).prop_map(ImageIdentifier::digest)])
            .prop_map(|(r, id)| Call::BatchDeleteImage(BatchDeleteImageRequest {
                repository_name: Some(r.to_owned()),
                image_ids: Some(vec![id]),
                ..Default::default()
            })),
        1 => repo.prop_map(|r| Call::DeleteRepository(DeleteRepositoryRequest {
            repository_name: Some(r.to_owned()),
            force: Some(true),
            ..Default::default()
        })),
    ]
}

/// A call sequence over `pool`, starting with the creation of `team/app`.
pub fn arb_calls(pool: Vec<Pushable>) -> impl Strategy<Value = Vec<Call>> {
    proptest::collection::vec(arb_call(pool), 0..16).prop_map(|mut calls| {
        calls.insert(
            0,
            Call::CreateRepository(CreateRepositoryRequest {
                repository_name: Some(REPOSITORIES[0].to_owned()),
                ..Default::default()
            }),
        );
        calls
    })
}

/// Digests a request may name: the pool's, an absent one, one in upper-case hex, malformed ones.
fn request_digests(pool: &[Pushable]) -> Vec<String> {
    let mut digests: Vec<String> = pool.iter().map(Pushable::digest).collect();
    if let Some(first) = digests.first().cloned() {
        digests.push(format!("sha256:{}", first[7..].to_uppercase()));
    }
    digests.push(format!("sha256:{}", "0".repeat(64)));
    digests.extend([
        "sha256:xyz".to_owned(),
        "no-colon".to_owned(),
        "sha256:".to_owned(),
    ]);
    digests
}

fn request_tags() -> Vec<String> {
    let mut tags: Vec<String> = TAGS.iter().map(|t| (*t).to_owned()).collect();
    tags.extend(["absent".to_owned(), "a/b".to_owned(), "t".repeat(300)]);
    tags
}

/// An image id naming pool digests and tags, sometimes malformed.
pub fn arb_image_id(pool: &[Pushable]) -> impl Strategy<Value = ImageIdentifier> + use<> {
    let tag = select(request_tags());
    let digest = select(request_digests(pool));
    prop_oneof![
        4 => tag.clone().prop_map(ImageIdentifier::tag),
        3 => digest.clone().prop_map(ImageIdentifier::digest),
        2 => (tag, digest).prop_map(|(t, d)| ImageIdentifier::tag_and_digest(t, d)),
        1 => Just(ImageIdentifier::default()),
    ]
}

fn arb_accepted() -> impl Strategy<Value = Option<Vec<String>>> {
    let types = vec![
        S1,
        S1_MEDIA_TYPE,
        S2,
        OCI,
        DOCKER_LIST,
        OCI_INDEX,
        "text/plain",
    ];
    proptest::option::weighted(0.6, proptest::sample::subsequence(types, 1..4))
        .prop_map(|t| t.map(|t| t.into_iter().map(str::to_owned).collect()))
}

fn arb_registry_id() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        8 => Just(None),
        2 => Just(Some(ACCOUNT.to_owned())),
        1 => Just(Some("210987654321".to_owned())),
        1 => Just(Some("12345".to_owned())),
    ]
}

/// A BatchGetImage request against registries built from `pool`: mostly valid, sometimes
/// naming absent or invalid repositories, registries, tags and digests.
pub fn arb_request(pool: &[Pushable]) -> impl Strategy<Value = BatchGetImageRequest> + use<> {
    let mut names: Vec<&str> = REPOSITORIES.to_vec();
    names.extend(["absent", "x", "Bad_Name"]);
    (
        arb_registry_id(),
        prop_oneof![9 => select(REPOSITORIES.to_vec()), 1 => select(names)],
        proptest::collection::vec(arb_image_id(pool), 1..6),
        arb_accepted(),
    )
        .prop_map(|(registry_id, name, ids, accepted)| BatchGetImageRequest {
            registry_id,
            repository_name: Some(name.to_owned()),
            image_ids: Some(ids),
            accepted_media_types: accepted,
        })
}

/// A registry built by random calls and a request against it.
pub fn arb_scenario() -> impl Strategy<Value = Scenario> {
    arb_manifests().prop_flat_map(|pool| {
        let request = arb_request(&pool);
        (arb_calls(pool), request).prop_map(|(calls, request)| Scenario { calls, request })
    })
}

/// Any profile: every choice a conforming server may make.
pub fn arb_profile() -> impl Strategy<Value = Profile> {
    (
        prop_oneof![
            Just(DigestTags::None),
            Just(DigestTags::First),
            Just(DigestTags::Each)
        ],
        any::<[bool; 5]>(),
    )
        .prop_map(|(digest_tags, b)| Profile {
            digest_tags,
            fail_untranslatable: b[0],
            digest_of_translation: b[1],
            reject_invalid_digest: b[2],
            mismatch_as_not_found: b[3],
            dedupe_ids: b[4],
        })
}
