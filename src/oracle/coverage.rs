//! The coverage model of the contract: the rows of the spec's decision tables
//! (`batch-get-image.md` sections 2 to 7, `registry-api.md` sections 1 to 6), each crossed
//! with the contexts it covers, as data; and pure functions that say which (row, context)
//! pairs a request against a state, a registry-API request, or a state transition exercises.
//! A run adds up what its probes exercised; the report shows, per rule, what was reached and
//! what was not. No I/O, no clock.

use std::collections::BTreeSet;

use crate::model::{
    Call, Expected, FailureCause, Format, IdAnswer, ManifestCause, Registry, RequestCause,
    Resolution,
};
use crate::wire::{self, BatchGetImageRequest, ImageIdentifier};

use super::rules::RuleId;

/// A context a row is exercised in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Context {
    /// The only context of a row that has no variants.
    Any,
    /// The repository named exists.
    RepositoryPresent,
    /// The repository named does not exist.
    RepositoryAbsent,
    /// Every character of the tags and digests sent is ASCII.
    Ascii,
    /// Some tag or digest sent has a non-ASCII character.
    NonAscii,
    /// The stored manifest is Docker schema 2.
    StoredS2,
    /// The stored manifest is OCI.
    StoredOci,
    /// The stored manifest is Docker schema 1.
    StoredS1,
    /// The stored manifest is a list or an index.
    StoredList,
    /// Registry API: one `Accept` line per type.
    AcceptLines,
    /// Registry API: several types joined by commas on one line.
    AcceptJoined,
    /// Registry API: `q=` values.
    AcceptWeighted,
    /// Registry API: no `Accept`.
    AcceptNone,
}

/// One row of a decision table: a stable key, the rule it belongs to, and the contexts it
/// covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// A stable key, `section.row`.
    pub key: &'static str,
    /// The rule the row belongs to.
    pub rule: RuleId,
    /// The contexts it covers.
    pub contexts: &'static [Context],
}

use Context as C;

const PRESENCE: &[Context] = &[C::RepositoryPresent, C::RepositoryAbsent];
const CHARACTERS: &[Context] = &[C::Ascii, C::NonAscii];
const STORED: &[Context] = &[C::StoredS2, C::StoredOci, C::StoredS1, C::StoredList];
/// The stored formats the translation table has a column for.
const TABLE_COLUMNS: &[Context] = &[C::StoredS2, C::StoredOci, C::StoredS1];
const ANY: &[Context] = &[C::Any];
const ACCEPT_FORMS: &[Context] = &[
    C::AcceptLines,
    C::AcceptJoined,
    C::AcceptWeighted,
    C::AcceptNone,
];

macro_rules! rows {
    ($( $key:literal => $rule:ident, $contexts:expr; )*) => {
        /// Every row of the contract's decision tables, in the spec's order.
        pub const ROWS: &[Row] = &[
            $( Row { key: $key, rule: RuleId::$rule, contexts: $contexts }, )*
        ];
    };
}

rows! {
    // batch-get-image.md section 2: whole-request validation, against present and absent
    // repositories (validation before lookup or after, section 2's order of checks).
    "2.registry-id" => ValRegistryId, PRESENCE;
    "2.repository-name" => ValRepoName, ANY;
    "2.image-ids-count" => ValImageIdsCount, PRESENCE;
    "2.tag-length" => ValTagLength, PRESENCE;
    "2.media-types-count" => ValMediaTypesCount, PRESENCE;
    "2.malformed" => ValMalformed, ANY;
    // Section 3.
    "3.not-found" => RepoNotFound, ANY;
    "3.foreign-registry" => RepoForeignRegistry, ANY;
    // Section 4, one row per line of its table, and the further rules.
    "4.missing-both" => IdMissingBoth, ANY;
    "4.invalid-digest" => IdInvalidDigest, CHARACTERS;
    "4.unusual-tag" => IdInvalidTag, CHARACTERS;
    "4.tag-exists" => IdByTag, STORED;
    "4.tag-absent" => IdNotFound, ANY;
    "4.digest-exists" => IdByDigest, STORED;
    "4.digest-absent" => IdNotFound, ANY;
    "4.tag-and-digest-agree" => IdTagAndDigest, ANY;
    "4.tag-and-digest-disagree" => IdMismatchCode, ANY;
    "4.tag-and-digest-tag-absent" => IdNotFound, ANY;
    "4.tag-case" => IdCase, ANY;
    "4.digest-hex-case" => IdByDigest, ANY;
    // Section 5: the negotiation, by why the manifest comes back as it does.
    "5.by-digest" => ManNoTranslationByDigest, ANY;
    "5.none-listed" => ManTranslation, ANY;
    "5.stored-accepted" => ManAcceptedStored, STORED;
    "5.translation-table" => ManTranslation, TABLE_COLUMNS;
    "5.list-not-accepted" => ManTranslation, ANY;
    // Section 7: the transitions.
    "7.put" => StateReadAfterPut, ANY;
    "7.retag" => StateRetag, ANY;
    "7.move" => StateTagMove, ANY;
    "7.delete-by-tag" => StateDelete, ANY;
    "7.delete-by-digest" => StateDelete, ANY;
    "7.re-push-after-delete" => StateDelete, ANY;
    "7.repository-delete" => StateDelete, ANY;
    // registry-api.md sections 1 to 5.
    "R1.challenge" => RegAuthChallenge, ANY;
    "R1.token" => RegAuthToken, ANY;
    "R1.denied" => RegAuthDenied, ANY;
    "R2.manifest-by-tag" => RegAcceptNegotiation, ACCEPT_FORMS;
    "R2.manifest-by-digest" => RegAcceptByDigest, ANY;
    "R2.manifest-head" => RegManifestHead, ANY;
    "R2.manifest-unknown" => RegManifestUnknown, ANY;
    "R2.name-unknown" => RegNameUnknown, ANY;
    "R2.malformed-digest" => RegManifestAsBatchgetimage, ANY;
    "R3.blob" => RegBlobBytes, ANY;
    "R3.blob-head" => RegBlobHead, ANY;
    "R3.blob-unknown" => RegBlobUnknown, ANY;
    "R4.tags-paged" => RegTagsList, ANY;
    "R4.tags-default-page" => RegTagsLimits, ANY;
    "R4.tags-over-limit" => RegTagsLimits, ANY;
    "R5.after-write" => RegSameState, ANY;
}

/// A (row, context) pair a probe exercised.
pub type Reached = (&'static str, Context);

/// Every (row, context) pair the model has.
pub fn all_pairs() -> BTreeSet<Reached> {
    ROWS.iter()
        .flat_map(|r| r.contexts.iter().map(move |c| (r.key, *c)))
        .collect()
}

/// The pair `(key, context)` if the row has that context, else `(key, Any)` when it has no
/// variants.
fn pair(key: &'static str, context: Context) -> Option<Reached> {
    let row = ROWS.iter().find(|r| r.key == key)?;
    match row.contexts {
        [C::Any] => Some((key, C::Any)),
        contexts if contexts.contains(&context) => Some((key, context)),
        _ => None,
    }
}

fn characters(id: &ImageIdentifier) -> Context {
    let ascii = |s: &Option<String>| s.as_deref().is_none_or(str::is_ascii);
    match ascii(&id.image_tag) && ascii(&id.image_digest) {
        true => C::Ascii,
        false => C::NonAscii,
    }
}

fn stored(format: Format) -> Context {
    match format {
        Format::Oci => C::StoredOci,
        Format::S1 => C::StoredS1,
        Format::DockerList | Format::OciIndex => C::StoredList,
        _ => C::StoredS2,
    }
}

/// The rows and contexts a BatchGetImage `request` against `state` exercises, by what the
/// model expects of it (`expected`, from `batch_get_image(state, request)`).
pub fn exercised_by_request(
    state: &Registry,
    request: &BatchGetImageRequest,
    expected: &Expected,
) -> BTreeSet<Reached> {
    let mut out = BTreeSet::new();
    // An invalid registry id names no registry: the caller's is the one a server that looked
    // up first would search.
    let registry_id = request
        .registry_id
        .as_deref()
        .filter(|id| crate::model::RegistryId::parse(id).is_ok())
        .unwrap_or(state.account.as_str());
    let present = request
        .repository_name
        .as_deref()
        .is_some_and(|name| state.repository(registry_id, name).is_some());
    let presence = if present {
        C::RepositoryPresent
    } else {
        C::RepositoryAbsent
    };
    if let Some(error) = &expected.error
        && expected.success.is_none()
    {
        let key = match error.cause {
            RequestCause::RegistryId => "2.registry-id",
            RequestCause::RepositoryName => "2.repository-name",
            RequestCause::ImageIdsCount => "2.image-ids-count",
            RequestCause::TagLength => "2.tag-length",
            RequestCause::MediaTypesCount => "2.media-types-count",
            RequestCause::Malformed => "2.malformed",
            RequestCause::ForeignRegistry => "3.foreign-registry",
            _ => "3.not-found",
        };
        out.extend(pair(key, presence));
    }
    let Some(batch) = &expected.success else {
        return out;
    };
    for id in &batch.ids {
        out.extend(id_rows(&id.requested, &id.answer));
    }
    out
}

fn id_rows(requested: &ImageIdentifier, answer: &IdAnswer) -> Vec<Reached> {
    let characters = characters(requested);
    match answer {
        IdAnswer::Fails(f) => {
            let key = match f.cause {
                FailureCause::MissingDigestAndTag => "4.missing-both",
                FailureCause::InvalidDigest => "4.invalid-digest",
                FailureCause::UnusualTag => "4.unusual-tag",
                FailureCause::TagNotFound => "4.tag-absent",
                FailureCause::TagCase => "4.tag-case",
                FailureCause::DigestNotFound => "4.digest-absent",
                FailureCause::TagDigestMismatch => "4.tag-and-digest-disagree",
                FailureCause::TagAndDigestNotFound => "4.tag-and-digest-tag-absent",
                FailureCause::DigestHexCase => "4.digest-hex-case",
                _ => return vec![],
            };
            pair(key, characters).into_iter().collect()
        }
        IdAnswer::Found(e) => {
            let format = stored(e.stored.format);
            let key = match (e.resolution, &e.or_fails) {
                (_, Some(alt)) if alt.cause == FailureCause::DigestHexCase => "4.digest-hex-case",
                (Resolution::ByTag, _) => "4.tag-exists",
                (Resolution::ByDigest, _) => "4.digest-exists",
                (Resolution::TagAndDigest, _) => "4.tag-and-digest-agree",
            };
            let negotiation = match e.manifest.cause {
                ManifestCause::ByDigest => "5.by-digest",
                ManifestCause::NoneListed => "5.none-listed",
                ManifestCause::StoredAccepted => "5.stored-accepted",
                ManifestCause::Table => "5.translation-table",
                _ => "5.list-not-accepted",
            };
            pair(key, format)
                .into_iter()
                .chain(pair(negotiation, format))
                .collect()
        }
    }
}

/// The transition rows (section 7) a sequence of calls exercises from `start`: each call is
/// applied to a copy of the state, as the model would, to know what it did (a put that adds a
/// tag to a held image is a retag, one that points a tag elsewhere a move, one of a manifest
/// deleted earlier in the sequence a re-push after delete).
pub fn exercised_by_calls(start: &Registry, calls: &[Call]) -> BTreeSet<Reached> {
    let mut state = start.clone();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeSet::new();
    for call in calls {
        if let Some(key) = transition(&state, call, &deleted) {
            out.extend(pair(key, C::Any));
        }
        if let Call::BatchDeleteImage(delete) = call {
            deleted.extend(deleted_digests(&state, delete));
        }
        // A refused call changes nothing: the model says so.
        let _refused = state.apply(call, 0.0).is_err();
    }
    out
}

/// The digests a BatchDeleteImage removes from `state`: those named, and those of the tags
/// named.
fn deleted_digests(state: &Registry, delete: &wire::BatchDeleteImageRequest) -> Vec<String> {
    let Some(repo) = delete
        .repository_name
        .as_deref()
        .and_then(|n| state.repository(state.account.as_str(), n))
    else {
        return vec![];
    };
    let ids = delete.image_ids.as_deref().unwrap_or_default();
    ids.iter()
        .filter_map(|id| match (&id.image_digest, &id.image_tag) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(t)) => repo
                .tags
                .iter()
                .find(|(tag, _)| tag.as_str() == t)
                .map(|(_, d)| d.to_string()),
            _ => None,
        })
        .collect()
}

fn transition(state: &Registry, call: &Call, deleted: &BTreeSet<String>) -> Option<&'static str> {
    let repository = |name: &Option<String>| {
        name.as_deref()
            .and_then(|n| state.repository(state.account.as_str(), n))
    };
    match call {
        Call::PutImage(put) => {
            let repo = repository(&put.repository_name)?;
            let digest = put
                .image_manifest
                .as_deref()
                .map(|m| crate::model::ImageDigest::of(m.as_bytes()).to_string())?;
            let held = repo.images.keys().any(|k| k.as_str() == digest);
            let tagged_elsewhere = put.image_tag.as_deref().is_some_and(|t| {
                repo.tags
                    .iter()
                    .any(|(tag, d)| tag.as_str() == t && d.as_str() != digest)
            });
            Some(match (held, tagged_elsewhere) {
                (_, true) => "7.move",
                (true, false) => "7.retag",
                (false, false) if deleted.contains(&digest) => "7.re-push-after-delete",
                (false, false) => "7.put",
            })
        }
        Call::BatchDeleteImage(delete) => {
            repository(&delete.repository_name)?;
            let ids = delete.image_ids.as_deref().unwrap_or_default();
            Some(match ids.iter().any(|id| id.image_digest.is_some()) {
                true => "7.delete-by-digest",
                false => "7.delete-by-tag",
            })
        }
        Call::DeleteRepository(delete) => {
            repository(&delete.repository_name)?;
            Some("7.repository-delete")
        }
        _ => None,
    }
}

/// What a registry-API request is, for the coverage model: the probes of `check` name theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryProbe<'a> {
    /// `GET /v2/` without credentials.
    Challenge,
    /// `GET /v2/` with the token.
    Token,
    /// `GET /v2/` with an invalid token.
    Denied,
    /// A manifest GET, with its `Accept` lines, against `state`.
    Manifest {
        /// The repository.
        name: &'a str,
        /// The reference.
        reference: &'a wire::registry::Reference,
        /// The `Accept` lines as sent.
        accept: &'a [&'a str],
    },
    /// A manifest HEAD.
    ManifestHead,
    /// A blob GET.
    Blob,
    /// A blob HEAD.
    BlobHead,
    /// A blob nobody uploaded.
    BlobUnknown,
    /// tags/list with `n` (`None`: without).
    Tags(Option<usize>),
    /// A read right after a write through the other API.
    AfterWrite,
}

/// The rows and contexts a registry-API request exercises against `state`.
pub fn exercised_by_registry(state: &Registry, probe: RegistryProbe<'_>) -> BTreeSet<Reached> {
    use wire::registry::Reference;
    let key = match probe {
        RegistryProbe::Challenge => "R1.challenge",
        RegistryProbe::Token => "R1.token",
        RegistryProbe::Denied => "R1.denied",
        RegistryProbe::ManifestHead => "R2.manifest-head",
        RegistryProbe::Blob => "R3.blob",
        RegistryProbe::BlobHead => "R3.blob-head",
        RegistryProbe::BlobUnknown => "R3.blob-unknown",
        RegistryProbe::Tags(Some(n)) if n > super::pull::TAGS_MAX_N => "R4.tags-over-limit",
        RegistryProbe::Tags(Some(_)) => "R4.tags-paged",
        RegistryProbe::Tags(None) => "R4.tags-default-page",
        RegistryProbe::AfterWrite => "R5.after-write",
        RegistryProbe::Manifest {
            name,
            reference,
            accept,
        } => {
            let Some(repo) = state.repository(state.account.as_str(), name) else {
                return pair("R2.name-unknown", C::Any).into_iter().collect();
            };
            return match reference {
                Reference::Digest(d) if !super::pull::is_distribution_digest(d) => {
                    pair("R2.malformed-digest", C::Any).into_iter().collect()
                }
                Reference::Digest(d) if repo.images.keys().any(|k| k.as_str() == d) => {
                    pair("R2.manifest-by-digest", C::Any).into_iter().collect()
                }
                Reference::Tag(t) if repo.tags.keys().any(|k| k.as_str() == t) => {
                    pair("R2.manifest-by-tag", accept_form(accept))
                        .into_iter()
                        .collect()
                }
                _ => pair("R2.manifest-unknown", C::Any).into_iter().collect(),
            };
        }
    };
    pair(key, C::Any).into_iter().collect()
}

/// The form of a request's `Accept` lines.
fn accept_form(accept: &[&str]) -> Context {
    match accept {
        [] => C::AcceptNone,
        lines if lines.iter().any(|l| l.contains("q=")) => C::AcceptWeighted,
        lines if lines.iter().any(|l| l.contains(',')) => C::AcceptJoined,
        _ => C::AcceptLines,
    }
}

/// Per rule of the model: how many of its (row, context) pairs `reached` holds, of how many,
/// and the ones it does not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleCoverage {
    /// The rule.
    pub rule: RuleId,
    /// Pairs reached.
    pub reached: usize,
    /// Pairs the model has for the rule.
    pub total: usize,
    /// The pairs not reached, as `row (context)`.
    pub missing: Vec<String>,
    /// Of those, the ones the server's deviations made unreachable: `row (context)` and the
    /// probe that would have reached it.
    pub unreachable: Vec<(String, String)>,
}

/// The coverage of every rule that has rows, in catalogue order; `blocked` are the pairs the
/// server's deviations kept probes from reaching ([`Coverage::blocked`]).
pub fn coverage(
    reached: &BTreeSet<Reached>,
    blocked: &std::collections::BTreeMap<Reached, String>,
) -> Vec<RuleCoverage> {
    let mut out: Vec<RuleCoverage> = Vec::new();
    for rule in super::rules::RULES {
        let pairs: Vec<Reached> = ROWS
            .iter()
            .filter(|r| r.rule == rule.id)
            .flat_map(|r| r.contexts.iter().map(move |c| (r.key, *c)))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let missing: Vec<String> = pairs
            .iter()
            .filter(|p| !reached.contains(p))
            .map(|(k, c)| format!("{k} ({c:?})"))
            .collect();
        let unreachable = pairs
            .iter()
            .filter(|p| !reached.contains(p))
            .filter_map(|p| {
                blocked
                    .get(p)
                    .map(|probe| (format!("{} ({:?})", p.0, p.1), probe.clone()))
            })
            .collect();
        out.push(RuleCoverage {
            rule: rule.id,
            reached: pairs.len() - missing.len(),
            total: pairs.len(),
            missing,
            unreachable,
        });
    }
    out
}

/// What a run has reached so far: the pairs, and the digests it deleted (so that a later push
/// of one is a re-push after delete).
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// The (row, context) pairs reached.
    pub reached: BTreeSet<Reached>,
    /// Pairs a probe would have reached had the server answered its setup as ECR does, with
    /// the probe: the rows the server's deviations made unreachable, when nothing else
    /// reaches them.
    pub blocked: std::collections::BTreeMap<Reached, String>,
    deleted: BTreeSet<String>,
}

impl Coverage {
    /// Records a BatchGetImage `body` judged against `state` as `expected`.
    pub fn record_request(&mut self, state: &Registry, body: &[u8], expected: &Expected) {
        let request = wire::decode_body::<BatchGetImageRequest>(body)
            .map(|d| d.value)
            .unwrap_or_default();
        self.reached
            .extend(exercised_by_request(state, &request, expected));
    }

    /// Records a call applied to `state` (`None`: a state the mirror could not follow).
    pub fn record_call(&mut self, state: Option<&Registry>, call: &Call) {
        let Some(state) = state else { return };
        if let Some(key) = transition(state, call, &self.deleted) {
            self.reached.extend(pair(key, C::Any));
        }
        if let Call::BatchDeleteImage(delete) = call {
            self.deleted.extend(deleted_digests(state, delete));
        }
    }

    /// Records what a registry-API probe against `state` exercised.
    pub fn record_registry(&mut self, state: &Registry, probe: RegistryProbe<'_>) {
        self.reached.extend(exercised_by_registry(state, probe));
    }

    /// Records that `probe` was not judged (the server answered its setup otherwise than
    /// ECR): the pairs it would have reached are blocked, unless something else reaches them.
    pub fn record_blocked(&mut self, pairs: BTreeSet<Reached>, probe: &str) {
        for pair in pairs {
            self.blocked.entry(pair).or_insert_with(|| probe.to_owned());
        }
    }

    /// Adds what another part of the run reached.
    pub fn join(&mut self, other: Coverage) {
        self.reached.extend(other.reached);
        for (pair, probe) in other.blocked {
            self.blocked.entry(pair).or_insert(probe);
        }
        self.deleted.extend(other.deleted);
    }
}
