//! The spec's tables (sections 2 to 5 of `batch-get-image.md`) as data, written from the
//! spec's text and independent of the model's code: for a registry state and a request, every
//! answer a correct server may give, enumerated concretely.
//!
//! The model computes *rules* for answers (`Expected`); this module lists *answers*. The
//! acceptance tests hold the two against each other: every answer listed here must pass the
//! oracle under the model's expectation, and an unlisted one must be reported under the rule
//! of the spec row it breaks. Only the registry's state (repositories, tags, stored bytes) and
//! the translation of bytes are taken from the library; which outcome is allowed is not.
//!
//! Where the spec is silent (an accepted list that names no type the table knows, or an image
//! of a type the table does not know), this table follows the model's documented choice: as
//! stored, or the id fails.

use ecr_contract::model::manifest::{Format, translate};
use ecr_contract::model::{ImageDigest, Registry, StoredRepository};
use ecr_contract::wire::{BatchGetImageRequest, Image, ImageFailure, ImageIdentifier};

/// The spec's pattern for a digest (section 4).
fn digest_is_well_formed(d: &str) -> bool {
    regex::Regex::new(r"^[a-zA-Z0-9\-_+.]+:[a-fA-F0-9]+$")
        .expect("a regex")
        .is_match(d)
}

/// A tag with characters outside `[a-zA-Z0-9-_.]` (section 4's `InvalidImageTag` row).
fn tag_is_unusual(t: &str) -> bool {
    !t.is_empty()
        && !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// One concrete answer to one requested id.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// These image entries (one or more).
    Entries(Vec<Image>),
    /// One failure with this code.
    Fails(&'static str),
}

/// What may answer one requested id, and the rule an answer outside the list breaks.
#[derive(Debug, Clone)]
pub struct IdRow {
    /// The id as sent.
    pub id: ImageIdentifier,
    /// Every acceptable answer.
    pub answers: Vec<Answer>,
    /// The rule an unlisted answer (see [`IdRow::unlisted`]) is reported under.
    pub rule: &'static str,
    /// An answer the spec does not list for this id.
    pub unlisted: Answer,
    /// The spec lets a malformed digest fail the whole request instead.
    pub whole_request_error: bool,
}

/// Every acceptable answer to a request.
#[derive(Debug, Clone)]
pub struct Table {
    /// Acceptable whole-request error names (empty when only a 200 is acceptable).
    pub errors: Vec<&'static str>,
    /// Per requested id, in request order, when a 200 answer is acceptable.
    pub ids: Option<Vec<IdRow>>,
}

const MALFORMED: [&str; 3] = [
    "InvalidParameterException",
    "SerializationException",
    "ValidationException",
];

/// Section 2: the whole-request validation, `Some(codes)` when it fails.
fn validation(request: &BatchGetImageRequest) -> Option<Vec<&'static str>> {
    let ipe = || Some(vec!["InvalidParameterException"]);
    let name_ok = |n: &str| {
        let older =
            regex::Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
                .expect("a regex");
        let newer = regex::Regex::new(
            r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$",
        )
        .expect("a regex");
        (2..=256).contains(&n.chars().count()) && (older.is_match(n) || newer.is_match(n))
    };
    if let Some(r) = &request.registry_id
        && !(r.len() == 12 && r.bytes().all(|b| b.is_ascii_digit()))
    {
        return ipe();
    }
    let (Some(name), Some(ids)) = (&request.repository_name, &request.image_ids) else {
        return Some(MALFORMED.to_vec());
    };
    if !name_ok(name) || ids.is_empty() || ids.len() > 100 {
        return ipe();
    }
    let tag_too_long = |t: &String| t.is_empty() || t.chars().count() > 300;
    if ids
        .iter()
        .any(|id| id.image_tag.as_ref().is_some_and(tag_too_long))
    {
        return ipe();
    }
    if let Some(types) = &request.accepted_media_types
        && (types.is_empty() || types.len() > 100)
    {
        return ipe();
    }
    None
}

/// Every acceptable answer to `request` in the state `registry`.
pub fn acceptable(registry: &Registry, request: &BatchGetImageRequest) -> Table {
    let registry_id = request
        .registry_id
        .clone()
        .unwrap_or_else(|| registry.account.to_string());
    let repository_name = request.repository_name.clone().unwrap_or_default();
    let table = |errors, ids| Table { errors, ids };
    if let Some(codes) = validation(request) {
        return table(codes, None);
    }
    let ids = request.image_ids.as_deref().unwrap_or_default();
    let any_malformed_digest = ids.iter().any(|id| {
        id.image_digest
            .as_deref()
            .is_some_and(|d| !digest_is_well_formed(d))
    });
    let Some(repository) = registry.repository(&registry_id, &repository_name) else {
        // Section 3; section 2's order of checks is only "may", so a server that checks
        // digests first fails the whole request on a malformed one (section 4).
        let mut codes = vec!["RepositoryNotFoundException"];
        if registry_id != registry.account.as_str() {
            codes.push("AccessDeniedException");
        }
        if any_malformed_digest {
            codes.push("InvalidParameterException");
        }
        return table(codes, None);
    };
    let accepted = request.accepted_media_types.as_deref();
    let rows: Vec<IdRow> = ids
        .iter()
        .map(|id| id_row(repository, &registry_id, &repository_name, id, accepted))
        .collect();
    let errors = match rows.iter().any(|r| r.whole_request_error) {
        true => vec!["InvalidParameterException"],
        false => vec![],
    };
    table(errors, Some(rows))
}

fn fails(id: &ImageIdentifier, codes: &[&'static str], rule: &'static str) -> IdRow {
    let unlisted = ["MissingDigestAndTag", "ImageNotFound", "InvalidImageDigest"]
        .into_iter()
        .find(|c| !codes.contains(c))
        .expect("a code not listed");
    IdRow {
        id: id.clone(),
        answers: codes.iter().map(|c| Answer::Fails(c)).collect(),
        rule,
        unlisted: Answer::Fails(unlisted),
        whole_request_error: false,
    }
}

/// Section 4, one row per id form.
fn id_row(
    repository: &StoredRepository,
    registry_id: &str,
    name: &str,
    id: &ImageIdentifier,
    accepted: Option<&[String]>,
) -> IdRow {
    let tag = id.image_tag.as_deref();
    let digest = id.image_digest.as_deref();
    let by_tag = |t: &str| repository.tags.get(t).map(|d| d.as_str().to_owned());
    let image = |d: &str| repository.images.get(d);
    let entry = Entry {
        registry_id,
        name,
        accepted,
    };
    match (tag, digest) {
        (None, None) => fails(id, &["MissingDigestAndTag"], "ID-MISSING-BOTH"),
        (t, Some(d)) if !digest_is_well_formed(d) => {
            let mut codes = vec!["InvalidImageDigest"];
            if t.is_some_and(tag_is_unusual) {
                codes.extend(["InvalidImageTag", "ImageNotFound"]);
            }
            IdRow {
                whole_request_error: true,
                ..fails(id, &codes, "ID-INVALID-DIGEST")
            }
        }
        (Some(t), d) if tag_is_unusual(t) => {
            // With a digest, the row "T and D | T absent" (should) holds too: such a tag is
            // never stored, and a code neither row lists breaks the stronger one.
            let rule = match d {
                Some(_) => "ID-NOT-FOUND",
                None => "ID-INVALID-TAG",
            };
            let row = fails(id, &["InvalidImageTag", "ImageNotFound"], rule);
            IdRow {
                unlisted: Answer::Fails("MissingDigestAndTag"),
                ..row
            }
        }
        (Some(t), None) => match by_tag(t) {
            Some(d) => {
                let stored = image(&d).expect("a tagged image");
                entry.found(id, stored, Via::Tag(t), std::slice::from_ref(&d), false)
            }
            None => fails(id, &["ImageNotFound"], "ID-NOT-FOUND"),
        },
        (None, Some(d)) => match (image(d), image(&d.to_ascii_lowercase())) {
            (Some(stored), _) => entry.found(id, stored, Via::Digest, &[d.to_owned()], false),
            // "A digest with upper-case hex may match or not": echoed as sent or as stored.
            (None, Some(stored)) => {
                let echoes = [d.to_owned(), stored.manifest.digest.to_string()];
                entry.found(id, stored, Via::Digest, &echoes, true)
            }
            (None, None) => fails(id, &["ImageNotFound"], "ID-NOT-FOUND"),
        },
        (Some(t), Some(d)) => match by_tag(t) {
            Some(stored) if stored == d => {
                let img = image(&stored).expect("a tagged image");
                entry.found(
                    id,
                    img,
                    Via::TagAndDigest(t),
                    std::slice::from_ref(&stored),
                    false,
                )
            }
            Some(stored) if stored.eq_ignore_ascii_case(d) => {
                let img = image(&stored).expect("a tagged image");
                let echoes = [d.to_owned(), stored.clone()];
                let mut row = entry.found(id, img, Via::TagAndDigest(t), &echoes, true);
                row.answers
                    .push(Answer::Fails("ImageTagDoesNotMatchDigest"));
                row
            }
            Some(_) => fails(
                id,
                &["ImageTagDoesNotMatchDigest", "ImageNotFound"],
                "ID-MISMATCH-CODE",
            ),
            None => fails(id, &["ImageNotFound"], "ID-NOT-FOUND"),
        },
    }
}

/// How an id named a found image.
#[derive(Debug, Clone, Copy)]
enum Via<'a> {
    Tag(&'a str),
    Digest,
    TagAndDigest(&'a str),
}

/// What image entries carry, whatever the id.
struct Entry<'a> {
    registry_id: &'a str,
    name: &'a str,
    accepted: Option<&'a [String]>,
}

/// A manifest an entry may carry: bytes, media type, acceptable `imageDigest` values.
type Manifest = (String, String, Vec<String>);

impl Entry<'_> {
    /// The row of an id that names `stored`; `digests` are the `imageDigest` values an
    /// untranslated entry may carry; `may_fail` adds `ImageNotFound` (the hex-case rows).
    fn found(
        &self,
        id: &ImageIdentifier,
        stored: &ecr_contract::model::StoredImage,
        via: Via<'_>,
        digests: &[String],
        may_fail: bool,
    ) -> IdRow {
        let (manifests, manifest_may_fail) = self.manifests(stored, via, digests);
        let tag_sets: Vec<Vec<Option<String>>> = match via {
            Via::Tag(t) | Via::TagAndDigest(t) => vec![vec![Some(t.to_owned())]],
            // "one entry per tag, or one entry with one of its tags, or one with no tag"
            Via::Digest => {
                let tags: Vec<String> = stored.tags.iter().map(|t| t.to_string()).collect();
                let mut sets = vec![vec![None]];
                sets.extend(tags.iter().map(|t| vec![Some(t.clone())]));
                if tags.len() > 1 {
                    sets.push(tags.iter().cloned().map(Some).collect());
                }
                sets
            }
        };
        let mut answers = Vec::new();
        for (bytes, media_type, echoes) in &manifests {
            for echo in echoes {
                for tags in &tag_sets {
                    let entries = tags
                        .iter()
                        .map(|t| self.image(bytes, media_type, echo, t.clone()))
                        .collect();
                    answers.push(Answer::Entries(entries));
                }
            }
        }
        if may_fail || manifest_may_fail {
            answers.push(Answer::Fails("ImageNotFound"));
        }
        let rule = match via {
            Via::Tag(_) => "ID-BY-TAG",
            Via::Digest => "ID-BY-DIGEST",
            Via::TagAndDigest(_) => "ID-TAG-AND-DIGEST",
        };
        // A failure where none is listed; a failure code the row does not list where the
        // digest's hex case is what may fail; else the stored manifest with one byte more.
        let (rule, unlisted) = match (may_fail, manifest_may_fail) {
            (false, false) => (rule, Answer::Fails("ImageNotFound")),
            // A hex-case digest that does not match falls to the row of a digest that is not
            // there: "T exists, points elsewhere" (should for the code), or "D absent"
            // (should). A wrong code there is that row's, never the must of a found image.
            (true, _) => {
                let rule = match via {
                    Via::TagAndDigest(_) => "ID-MISMATCH-CODE",
                    _ => "ID-NOT-FOUND",
                };
                (rule, Answer::Fails("MissingDigestAndTag"))
            }
            (false, true) => {
                let (bytes, media_type, echoes) = &manifests[0];
                let changed = format!("{bytes}\n");
                let tag = match via {
                    Via::Tag(t) | Via::TagAndDigest(t) => Some(t.to_owned()),
                    Via::Digest => None,
                };
                let entry = self.image(&changed, media_type, &echoes[0], tag);
                ("MAN-BYTES", Answer::Entries(vec![entry]))
            }
        };
        IdRow {
            id: id.clone(),
            answers,
            rule,
            unlisted,
            whole_request_error: false,
        }
    }

    fn image(&self, bytes: &str, media_type: &str, digest: &str, tag: Option<String>) -> Image {
        Image {
            registry_id: Some(self.registry_id.to_owned()),
            repository_name: Some(self.name.to_owned()),
            image_id: Some(ImageIdentifier {
                image_digest: Some(digest.to_owned()),
                image_tag: tag,
            }),
            image_manifest: Some(bytes.to_owned()),
            image_manifest_media_type: Some(media_type.to_owned()),
        }
    }

    /// Section 5: the manifests that may answer, and whether the id may fail instead.
    fn manifests(
        &self,
        stored: &ecr_contract::model::StoredImage,
        via: Via<'_>,
        digests: &[String],
    ) -> (Vec<Manifest>, bool) {
        let m = &stored.manifest;
        let as_stored = (m.bytes.clone(), m.media_type.to_string(), digests.to_vec());
        let Some(accepted) = self.accepted else {
            return (vec![as_stored], false);
        };
        let stored_format = Format::of(m.media_type.as_str());
        let formats: Vec<Format> = accepted.iter().map(|t| Format::of(t)).collect();
        let stored_accepted = accepted.iter().any(|t| t == m.media_type.as_str())
            || (stored_format != Format::Other && formats.contains(&stored_format));
        if stored_accepted {
            return (vec![as_stored], false);
        }
        // By digest, with or without a tag: never translated; as stored, or the id fails.
        let Via::Tag(tag) = via else {
            return (vec![as_stored], true);
        };
        if stored_format.is_list() {
            return (vec![as_stored], true);
        }
        let mut stored_ok = false;
        let mut may_fail = false;
        let mut targets: Vec<Format> = Vec::new();
        let mut known = false;
        for accept in &formats {
            // The user guide's table: rows = what the client accepts, columns = stored.
            let (s, f, t) = match (accept, stored_format) {
                (Format::S1, Format::S2) => (false, false, Some(Format::S1)),
                (Format::S1, Format::Oci) => (true, true, Some(Format::S1)),
                (Format::S2, Format::S1) => (true, false, None),
                (Format::S2, Format::Oci) => (false, false, Some(Format::S2)),
                (Format::Oci, Format::S1) => (true, true, None),
                (Format::Oci, Format::S2) => (false, false, Some(Format::Oci)),
                (Format::S1 | Format::S2 | Format::Oci, _) => (true, true, None),
                _ => continue,
            };
            known = true;
            stored_ok |= s;
            may_fail |= f;
            targets.extend(t);
        }
        if !known {
            return (vec![as_stored], true);
        }
        let mut out = Vec::new();
        if stored_ok {
            out.push(as_stored);
        }
        for target in targets {
            let Some(bytes) = translate(&m.contents, stored_format, target, self.name, tag) else {
                continue;
            };
            let media_types: Vec<String> = accepted
                .iter()
                .filter(|t| Format::of(t) == target)
                .cloned()
                .collect();
            let echoes = vec![
                m.digest.to_string(),
                ImageDigest::of(bytes.as_bytes()).to_string(),
            ];
            out.extend(
                media_types
                    .into_iter()
                    .map(|t| (bytes.clone(), t, echoes.clone())),
            );
        }
        (out, may_fail)
    }
}

/// A failure entry that echoes `id` exactly.
pub fn failure(id: &ImageIdentifier, code: &str) -> ImageFailure {
    ImageFailure {
        image_id: Some(id.clone()),
        failure_code: Some(code.to_owned()),
        failure_reason: Some("chosen by the spec table".to_owned()),
    }
}
