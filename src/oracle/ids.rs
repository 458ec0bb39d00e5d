//! Per-id checks of a 200 answer: which entries answer which requested id (accounting), and
//! whether each answer is one the model accepts (spec section 4).

use std::collections::hash_map::Entry;
use std::fmt;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{
    ExpectedBatch, ExpectedFailure, ExpectedImage, IdAnswer, IdExpectation, Resolution, TagRule,
};
use crate::wire::{BatchGetImageResponse, Image, ImageFailure, ImageIdentifier};

use super::attribution::{Deviation, rules_of};
use super::index::Index;
use super::manifest::check_manifest;
use super::normalize::digest_matches;
use super::rules::RuleId;
use super::violation::{Violation, one_of};

/// A distinct requested id, how often it was sent, and what answered it.
pub(super) struct Slot<'e> {
    pub(super) expectation: &'e IdExpectation,
    sent: usize,
    entries: Vec<usize>,
    failures: Vec<usize>,
}

pub(crate) fn check_batch(
    batch: &ExpectedBatch,
    response: &BatchGetImageResponse,
    out: &mut Vec<Violation>,
) {
    let images = response.images.as_deref().unwrap_or_default();
    let failures = response.failures.as_deref().unwrap_or_default();
    let (mut slots, by_id) = distinct(&batch.ids);
    let strays = attribute_failures(&mut slots, &by_id, failures, out);
    attribute_images(batch, &mut slots, images, out);
    pair_strays(&mut slots, failures, strays, out);
    adopt_digest_echoes(&mut slots, images);
    for slot in &slots {
        check_slot(batch, slot, images, failures, out);
    }
}

/// A requested id as a hash key: its tag and its digest.
type Key<'e> = (Option<&'e str>, Option<&'e str>);

fn key(id: &ImageIdentifier) -> Key<'_> {
    (id.image_tag.as_deref(), id.image_digest.as_deref())
}

/// The distinct requested ids, in request order, and where each is.
fn distinct(ids: &[IdExpectation]) -> (Vec<Slot<'_>>, HashMap<Key<'_>, usize>) {
    let mut slots: Vec<Slot<'_>> = Vec::with_capacity(ids.len());
    let mut by_id: HashMap<Key<'_>, usize> =
        HashMap::with_capacity_and_hasher(ids.len(), Default::default());
    for id in ids {
        match by_id.entry(key(&id.requested)) {
            Entry::Occupied(k) => slots[*k.get()].sent += 1,
            Entry::Vacant(k) => {
                k.insert(slots.len());
                slots.push(Slot {
                    expectation: id,
                    sent: 1,
                    entries: vec![],
                    failures: vec![],
                });
            }
        }
    }
    (slots, by_id)
}

/// How closely an entry's id matches a requested id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Link {
    /// The requested tag is echoed, and the digest too if one was sent.
    Exact,
    /// A digest alone was sent, and is echoed exactly.
    ByDigest,
    /// As `Exact`, but the digest's hex differs in case (spec: may match).
    HexCase,
    /// Not an answer to the id, but what a broken answer to it looks like: same tag, or the
    /// digest of the image the model expects. Used to blame the right rule.
    Loose,
}

fn link(slot: &Slot<'_>, answered: &ImageIdentifier) -> Option<Link> {
    let requested = &slot.expectation.requested;
    let tag_ok = requested.image_tag.is_none() || answered.image_tag == requested.image_tag;
    let digest = |exact: bool| match (&requested.image_digest, &answered.image_digest) {
        (None, _) => true,
        (Some(r), Some(a)) => r == a || (!exact && digest_matches(a, r)),
        (Some(_), None) => false,
    };
    let asked = requested.image_tag.is_some() || requested.image_digest.is_some();
    if asked && tag_ok && digest(true) {
        return Some(if requested.image_tag.is_some() {
            Link::Exact
        } else {
            Link::ByDigest
        });
    }
    if asked && tag_ok && digest(false) {
        return Some(Link::HexCase);
    }
    let same_tag = requested.image_tag.is_some() && answered.image_tag == requested.image_tag;
    let expected_digest = match &slot.expectation.answer {
        IdAnswer::Found(e) => answered.image_digest.as_deref() == Some(e.stored.digest.as_str()),
        // An image with the requested digest, for an id that must fail (its tag disagrees).
        IdAnswer::Fails(_) => {
            requested.image_digest.is_some() && answered.image_digest == requested.image_digest
        }
    };
    (same_tag || expected_digest).then_some(Link::Loose)
}

/// Gives each entry to the requested ids it answers. An entry's id can fit several requests
/// (`{imageDigest: D, imageTag: T}` fits a request for `D` and one for `T`), so among the ids
/// it links to, it goes to every one it answers correctly, preferring ids no failure answers;
/// when it answers none correctly, to the closest link, whose checks then report why.
fn attribute_images(
    batch: &ExpectedBatch,
    slots: &mut [Slot<'_>],
    images: &[Image],
    out: &mut Vec<Violation>,
) {
    // A few ids are compared with every entry directly; more are found through an index.
    let index = (slots.len() > 8).then(|| {
        let ids: Vec<&IdExpectation> = slots.iter().map(|s| s.expectation).collect();
        Index::new(&ids)
    });
    for (i, image) in images.iter().enumerate() {
        let Some(id) = &image.image_id else {
            out.push(Violation::new(
                RuleId::IdAccounting,
                format!("images[{i}].imageId"),
                "the id it answers",
                "none",
            ));
            continue;
        };
        let linkable = match &index {
            Some(index) => index.candidates(id),
            None => (0..slots.len()).collect(),
        };
        let links: Vec<(usize, Link)> = linkable
            .into_iter()
            .filter_map(|k| link(&slots[k], id).map(|l| (k, l)))
            .collect();
        let candidates: Vec<usize> = links
            .iter()
            .filter(|(_, l)| *l < Link::Loose)
            .map(|(k, _)| *k)
            .collect();
        if let [only] = candidates.as_slice() {
            // The common case: one requested id fits, and the entry is its answer.
            slots[*only].entries.push(i);
            continue;
        }
        let clean: Vec<usize> = match candidates.as_slice() {
            [only] => vec![*only],
            many => many
                .iter()
                .copied()
                .filter(|&k| answers_correctly(batch, &slots[k], image))
                .collect(),
        };
        let unfailed: Vec<usize> = clean
            .iter()
            .copied()
            .filter(|&k| slots[k].failures.is_empty())
            .collect();
        let chosen = match (unfailed.is_empty(), clean.is_empty()) {
            (false, _) => unfailed,
            (true, false) => clean,
            (true, true) => closest(slots, &links),
        };
        if chosen.is_empty() {
            let found = show_id(id);
            out.push(Violation::new(
                RuleId::IdAccounting,
                format!("images[{i}].imageId"),
                "an entry answering a requested id",
                found,
            ));
        }
        for k in chosen {
            slots[k].entries.push(i);
        }
    }
}

/// The slots at the closest link, preferring those no failure answers.
fn closest(slots: &[Slot<'_>], links: &[(usize, Link)]) -> Vec<usize> {
    let best = |unfailed: bool| {
        let ok = |(k, _): &&(usize, Link)| !unfailed || slots[*k].failures.is_empty();
        let min = links.iter().filter(ok).map(|(_, l)| *l).min()?;
        Some(
            links
                .iter()
                .filter(ok)
                .filter(|(_, l)| *l == min)
                .map(|(k, _)| *k)
                .collect::<Vec<_>>(),
        )
    };
    best(true).or_else(|| best(false)).unwrap_or_default()
}

/// Whether `image` is a correct answer for the id of `slot`.
fn answers_correctly(batch: &ExpectedBatch, slot: &Slot<'_>, image: &Image) -> bool {
    let IdAnswer::Found(e) = &slot.expectation.answer else {
        return false;
    };
    let mut trial = Vec::new();
    check_entry(
        batch,
        &slot.expectation.requested,
        e,
        image,
        &"",
        &mut trial,
    );
    trial.is_empty()
}

/// Gives each failure to the requested id it echoes, or loosely echoes (same tag or same
/// digest: an ID-FAILURE-ECHO violation). Returns the failures that echo no requested id.
fn attribute_failures(
    slots: &mut [Slot<'_>],
    by_id: &HashMap<Key<'_>, usize>,
    failures: &[ImageFailure],
    out: &mut Vec<Violation>,
) -> Vec<usize> {
    let mut strays = Vec::new();
    for (j, failure) in failures.iter().enumerate() {
        let id = failure.image_id.clone().unwrap_or_default();
        if let Some(&k) = by_id.get(&key(&id)) {
            slots[k].failures.push(j);
            continue;
        }
        let loose = |s: &&mut Slot<'_>| {
            let r = &s.expectation.requested;
            (r.image_tag.is_some() && r.image_tag == id.image_tag)
                || (r.image_digest.is_some() && r.image_digest == id.image_digest)
        };
        match slots.iter_mut().find(|s| loose(s)) {
            Some(slot) => {
                out.push(echo_violation(j, &slot.expectation.requested, &id));
                slot.failures.push(j);
            }
            None => strays.push(j),
        }
    }
    strays
}

/// Failures that echo no requested id are paired in order with the ids nothing answered, when
/// there are as many of each and every pair is a mangled echo (members dropped, or sent back
/// as the string `"null"`, as in `{"imageTag": "null"}` for a digest): ID-FAILURE-ECHO, and
/// the failure's code is still judged. Any other stray failure, such as one naming a tag that
/// was not sent, answers nothing requested (ID-ACCOUNTING).
fn pair_strays(
    slots: &mut [Slot<'_>],
    failures: &[ImageFailure],
    strays: Vec<usize>,
    out: &mut Vec<Violation>,
) {
    let unanswered: Vec<usize> = (0..slots.len())
        .filter(|&k| slots[k].entries.is_empty() && slots[k].failures.is_empty())
        .collect();
    let mangled = |k: usize, j: usize| {
        let found = failures[j].image_id.clone().unwrap_or_default();
        mangled_echo(&slots[k].expectation.requested, &found)
    };
    if unanswered.len() == strays.len()
        && unanswered.iter().zip(&strays).all(|(&k, &j)| mangled(k, j))
    {
        for (k, j) in unanswered.into_iter().zip(strays) {
            let id = failures[j].image_id.clone().unwrap_or_default();
            out.push(echo_violation(j, &slots[k].expectation.requested, &id));
            slots[k].failures.push(j);
        }
        return;
    }
    for j in strays {
        let id = failures[j].image_id.clone().unwrap_or_default();
        out.push(Violation::new(
            RuleId::IdAccounting,
            format!("failures[{j}].imageId"),
            "a failure of a requested id",
            show_id(&id),
        ));
    }
}

/// An id that must fail, sent with a digest, and answered by nothing else takes every entry
/// that carries its digest, even one another id took too: a server that lets the digest win
/// over a disagreeing tag answers it with an image of that digest under some tag, and that
/// entry is then judged for every rule it breaks (ID-TAG-AND-DIGEST, ID-MISMATCH-CODE), not
/// only as an id left unanswered.
fn adopt_digest_echoes(slots: &mut [Slot<'_>], images: &[Image]) {
    let orphan = |s: &Slot<'_>| {
        s.entries.is_empty()
            && s.failures.is_empty()
            && matches!(s.expectation.answer, IdAnswer::Fails(_))
            && s.expectation.requested.image_digest.is_some()
    };
    if !slots.iter().any(orphan) {
        return;
    }
    let mut by_digest: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, image) in images.iter().enumerate() {
        if let Some(d) = image
            .image_id
            .as_ref()
            .and_then(|id| id.image_digest.as_deref())
        {
            by_digest.entry(d).or_default().push(i);
        }
    }
    for slot in slots.iter_mut().filter(|s| orphan(s)) {
        let digest = slot.expectation.requested.image_digest.as_deref();
        if let Some(entries) = digest.and_then(|d| by_digest.get(d)) {
            slot.entries.clone_from(entries);
        }
    }
}

/// Whether `found` echoes `requested` but for dropped members and `"null"` placeholders.
fn mangled_echo(requested: &ImageIdentifier, found: &ImageIdentifier) -> bool {
    let fits = |sent: &Option<String>, echoed: &Option<String>| {
        echoed.is_none() || echoed == sent || echoed.as_deref() == Some("null")
    };
    fits(&requested.image_tag, &found.image_tag)
        && fits(&requested.image_digest, &found.image_digest)
}

fn echo_violation(j: usize, requested: &ImageIdentifier, found: &ImageIdentifier) -> Violation {
    Violation::new(
        RuleId::IdFailureEcho,
        format!("failures[{j}].imageId"),
        show_id(requested),
        show_id(found),
    )
}

fn check_slot(
    batch: &ExpectedBatch,
    slot: &Slot<'_>,
    images: &[Image],
    failures: &[ImageFailure],
    out: &mut Vec<Violation>,
) {
    let requested = &slot.expectation.requested;
    // Rendered only for a violation: most answers have none.
    let shown = || show_id(requested);
    let (entries, fails) = (slot.entries.len(), slot.failures.len());
    if entries == 0 && fails == 0 {
        out.push(Violation::new(
            RuleId::IdAccounting,
            "",
            format!("an answer for {}", shown()),
            "none",
        ));
    } else if entries > 0 && fails > 0 {
        out.push(Violation::new(
            RuleId::IdAccounting,
            "",
            format!("images or one failure for {}", shown()),
            "both",
        ));
    } else if fails > 1 && fails != slot.sent {
        let expected = format!("one failure for {} (sent {} times)", shown(), slot.sent);
        out.push(Violation::new(
            RuleId::IdAccounting,
            "",
            expected,
            format!("{fails} failures"),
        ));
    }
    match &slot.expectation.answer {
        IdAnswer::Fails(f) => {
            for &i in &slot.entries {
                for rule in rules_of(Deviation::ImageForFailure(f.cause)) {
                    out.push(Violation::new(
                        *rule,
                        format!("images[{i}]"),
                        format!("a failure for {}", shown()),
                        "an image",
                    ));
                }
            }
            let deviation = Deviation::WrongCode {
                cause: f.cause,
                tag_sent: requested.image_tag.is_some(),
            };
            for &j in &slot.failures {
                check_failure_code(f, &failures[j], j, deviation, out);
            }
        }
        IdAnswer::Found(e) => {
            for &j in &slot.failures {
                match &e.or_fails {
                    Some(alt) => {
                        let deviation = Deviation::WrongCode {
                            cause: alt.cause,
                            tag_sent: requested.image_tag.is_some(),
                        };
                        check_failure_code(alt, &failures[j], j, deviation, out)
                    }
                    None => {
                        let found = failures[j]
                            .failure_code
                            .clone()
                            .unwrap_or_else(|| "a failure".into());
                        let expected = format!("the image for {}", shown());
                        for rule in rules_of(Deviation::FailureForImage(e.resolution)) {
                            out.push(Violation::new(
                                *rule,
                                format!("failures[{j}]"),
                                expected.clone(),
                                found.clone(),
                            ));
                        }
                    }
                }
            }
            for &i in &slot.entries {
                check_entry(batch, requested, e, &images[i], &EntryPath(i), out);
            }
        }
    }
}

fn check_failure_code(
    f: &ExpectedFailure,
    failure: &ImageFailure,
    j: usize,
    deviation: Deviation,
    out: &mut Vec<Violation>,
) {
    // An absent or unmodelled code is ID-FAILURE-CODE's, reported once elsewhere.
    if let Some(code) = failure.failure_code.as_deref()
        && !f.codes.contains(&code)
        && crate::model::FAILURE_CODES.contains(&code)
    {
        for rule in rules_of(deviation) {
            out.push(Violation::new(
                *rule,
                format!("failures[{j}].failureCode"),
                one_of(&f.codes),
                code,
            ));
        }
    }
}

fn check_entry(
    batch: &ExpectedBatch,
    requested: &ImageIdentifier,
    e: &ExpectedImage,
    image: &Image,
    path: &dyn fmt::Display,
    out: &mut Vec<Violation>,
) {
    if image.registry_id.as_deref() != Some(batch.registry_id.as_str()) {
        let found = image.registry_id.clone().unwrap_or_else(|| "none".into());
        out.push(Violation::new(
            RuleId::RepoEcho,
            format!("{path}.registryId"),
            batch.registry_id.as_str(),
            found,
        ));
    }
    if image.repository_name.as_deref() != Some(batch.repository_name.as_str()) {
        let found = image
            .repository_name
            .clone()
            .unwrap_or_else(|| "none".into());
        out.push(Violation::new(
            RuleId::RepoEcho,
            format!("{path}.repositoryName"),
            batch.repository_name.as_str(),
            found,
        ));
    }
    let answered_tag = image.image_id.as_ref().and_then(|id| id.image_tag.as_ref());
    let tag_path = || format!("{path}.imageId.imageTag");
    match &e.tags {
        TagRule::Exactly(tag) if answered_tag != Some(tag) => {
            let found = answered_tag.map_or("no tag", String::as_str);
            for rule in rules_of(Deviation::WrongTag(e.resolution)) {
                out.push(Violation::new(*rule, tag_path(), tag.clone(), found));
            }
        }
        TagRule::AbsentOrAnyOf(tags) => {
            if let Some(t) = answered_tag
                .map(String::as_str)
                .filter(|t| !tags.iter().any(|x| x.as_str() == *t))
            {
                let expected = format!(
                    "no tag, or one of the image's tags {:?}",
                    tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()
                );
                for rule in rules_of(Deviation::WrongTag(Resolution::ByDigest)) {
                    out.push(Violation::new(*rule, tag_path(), expected.clone(), t));
                }
            }
        }
        TagRule::Exactly(_) => {}
    }
    check_manifest(requested, e, image, path, out);
}

/// The JSON path of entry `i` of `images`, rendered only when a violation names it.
struct EntryPath(usize);

impl fmt::Display for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "images[{}]", self.0)
    }
}

/// An id as JSON, for messages.
pub(crate) fn show_id(id: &ImageIdentifier) -> String {
    serde_json::to_string(id).unwrap_or_default()
}
