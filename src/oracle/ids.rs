//! Per-id checks of a 200 answer: which entries answer which requested id (accounting), and
//! whether each answer is one the model accepts (spec section 4).

use crate::model::{ExpectedBatch, ExpectedFailure, ExpectedImage, FailureCause, IdAnswer, IdExpectation, Resolution, TagRule};
use crate::wire::{BatchGetImageResponse, Image, ImageFailure, ImageIdentifier};

use super::check::one_of;
use super::manifest::check_manifest;
use super::normalize::digest_matches;
use super::rules::RuleId;
use super::violation::Violation;

/// A distinct requested id, how often it was sent, and what answered it.
struct Slot<'e> {
    expectation: &'e IdExpectation,
    sent: usize,
    entries: Vec<usize>,
    failures: Vec<usize>,
}

pub(crate) fn check_batch(batch: &ExpectedBatch, response: &BatchGetImageResponse, out: &mut Vec<Violation>) {
    let images = response.images.as_deref().unwrap_or_default();
    let failures = response.failures.as_deref().unwrap_or_default();
    let mut slots = distinct(&batch.ids);
    attribute_images(&mut slots, images, out);
    attribute_failures(&mut slots, failures, out);
    for slot in &slots {
        check_slot(batch, slot, images, failures, out);
    }
}

fn distinct(ids: &[IdExpectation]) -> Vec<Slot<'_>> {
    let mut slots: Vec<Slot<'_>> = Vec::with_capacity(ids.len());
    for id in ids {
        match slots.iter_mut().find(|s| s.expectation.requested == id.requested) {
            Some(slot) => slot.sent += 1,
            None => slots.push(Slot { expectation: id, sent: 1, entries: vec![], failures: vec![] }),
        }
    }
    slots
}

/// Whether an entry with id `answered` answers `requested`: same tag when a tag was
/// requested, else the same digest.
fn claims(requested: &ImageIdentifier, answered: &ImageIdentifier) -> bool {
    match (&requested.image_tag, &requested.image_digest) {
        (Some(tag), _) => answered.image_tag.as_ref() == Some(tag),
        (None, Some(digest)) => answered.image_digest.as_deref().is_some_and(|d| digest_matches(d, digest)),
        (None, None) => false,
    }
}

/// A weaker link, to blame the right rule for a malformed entry: the digest of the image the
/// model expects for this id.
fn resembles(slot: &Slot<'_>, answered: &ImageIdentifier) -> bool {
    match &slot.expectation.answer {
        IdAnswer::Found(e) => answered.image_digest.as_deref() == Some(e.stored.digest.as_str()),
        IdAnswer::Fails(_) => false,
    }
}

fn attribute_images(slots: &mut [Slot<'_>], images: &[Image], out: &mut Vec<Violation>) {
    for (i, image) in images.iter().enumerate() {
        let Some(id) = &image.image_id else {
            out.push(Violation::new(RuleId::IdAccounting, format!("images[{i}].imageId"), "the id it answers", "none"));
            continue;
        };
        let mut claimed = false;
        for slot in slots.iter_mut().filter(|s| claims(&s.expectation.requested, id)) {
            slot.entries.push(i);
            claimed = true;
        }
        if !claimed {
            match slots.iter_mut().find(|s| resembles(s, id)) {
                Some(slot) => slot.entries.push(i),
                None => out.push(Violation::new(
                    RuleId::IdAccounting,
                    format!("images[{i}].imageId"),
                    "an entry answering a requested id",
                    show_id(id),
                )),
            }
        }
    }
}

fn attribute_failures(slots: &mut [Slot<'_>], failures: &[ImageFailure], out: &mut Vec<Violation>) {
    for (j, failure) in failures.iter().enumerate() {
        let id = failure.image_id.clone().unwrap_or_default();
        if let Some(slot) = slots.iter_mut().find(|s| s.expectation.requested == id) {
            slot.failures.push(j);
            continue;
        }
        let path = format!("failures[{j}].imageId");
        let loose = |s: &&mut Slot<'_>| {
            let r = &s.expectation.requested;
            (r.image_tag.is_some() && r.image_tag == id.image_tag)
                || (r.image_digest.is_some() && r.image_digest == id.image_digest)
        };
        match slots.iter_mut().find(|s| loose(s)) {
            Some(slot) => {
                let expected = show_id(&slot.expectation.requested);
                out.push(Violation::new(RuleId::IdFailureEcho, path, expected, show_id(&id)));
                slot.failures.push(j);
            }
            None => out.push(Violation::new(RuleId::IdAccounting, path, "a failure of a requested id", show_id(&id))),
        }
    }
}

fn check_slot(batch: &ExpectedBatch, slot: &Slot<'_>, images: &[Image], failures: &[ImageFailure], out: &mut Vec<Violation>) {
    let requested = &slot.expectation.requested;
    let shown = show_id(requested);
    let (entries, fails) = (slot.entries.len(), slot.failures.len());
    if entries == 0 && fails == 0 {
        out.push(Violation::new(RuleId::IdAccounting, "", format!("an answer for {shown}"), "none"));
    } else if entries > 0 && fails > 0 {
        out.push(Violation::new(RuleId::IdAccounting, "", format!("images or one failure for {shown}"), "both"));
    } else if fails > 1 && fails != slot.sent {
        let expected = format!("one failure for {shown} (sent {} times)", slot.sent);
        out.push(Violation::new(RuleId::IdAccounting, "", expected, format!("{fails} failures")));
    }
    match &slot.expectation.answer {
        IdAnswer::Fails(f) => {
            for &i in &slot.entries {
                let rule = rule_if_image(f.cause);
                out.push(Violation::new(rule, format!("images[{i}]"), format!("a failure for {shown}"), "an image"));
            }
            for &j in &slot.failures {
                check_failure_code(f, &failures[j], j, rule_of_code(f.cause), out);
            }
        }
        IdAnswer::Found(e) => {
            for &j in &slot.failures {
                match &e.or_fails {
                    Some(alt) => check_failure_code(alt, &failures[j], j, rule_of_found(e.resolution), out),
                    None => {
                        let found = failures[j].failure_code.clone().unwrap_or_else(|| "a failure".into());
                        let expected = format!("the image for {shown}");
                        out.push(Violation::new(rule_of_found(e.resolution), format!("failures[{j}]"), expected, found));
                    }
                }
            }
            for &i in &slot.entries {
                check_entry(batch, requested, e, &images[i], &format!("images[{i}]"), out);
            }
        }
    }
}

fn check_failure_code(f: &ExpectedFailure, failure: &ImageFailure, j: usize, rule: RuleId, out: &mut Vec<Violation>) {
    // An absent or unmodelled code is ID-FAILURE-CODE's, reported once elsewhere.
    if let Some(code) = failure.failure_code.as_deref() {
        if !f.codes.contains(&code) && crate::model::FAILURE_CODES.contains(&code) {
            out.push(Violation::new(rule, format!("failures[{j}].failureCode"), one_of(&f.codes), code));
        }
    }
}

fn check_entry(batch: &ExpectedBatch, requested: &ImageIdentifier, e: &ExpectedImage, image: &Image, path: &str, out: &mut Vec<Violation>) {
    if image.registry_id.as_deref() != Some(batch.registry_id.as_str()) {
        let found = image.registry_id.clone().unwrap_or_else(|| "none".into());
        out.push(Violation::new(RuleId::RepoEcho, format!("{path}.registryId"), batch.registry_id.as_str(), found));
    }
    if image.repository_name.as_deref() != Some(batch.repository_name.as_str()) {
        let found = image.repository_name.clone().unwrap_or_else(|| "none".into());
        out.push(Violation::new(RuleId::RepoEcho, format!("{path}.repositoryName"), batch.repository_name.as_str(), found));
    }
    let id = image.image_id.clone().unwrap_or_default();
    let tag_path = format!("{path}.imageId.imageTag");
    match &e.tags {
        TagRule::Exactly(tag) if id.image_tag.as_ref() != Some(tag) => {
            let found = id.image_tag.clone().unwrap_or_else(|| "no tag".into());
            out.push(Violation::new(rule_of_found(e.resolution), tag_path, tag.clone(), found));
        }
        TagRule::AbsentOrAnyOf(tags) => {
            if let Some(t) = id.image_tag.as_deref().filter(|t| !tags.iter().any(|x| x.as_str() == *t)) {
                let expected = format!("no tag, or one of the image's tags {:?}", tags.iter().map(|t| t.as_str()).collect::<Vec<_>>());
                out.push(Violation::new(RuleId::IdByDigest, tag_path, expected, t));
            }
        }
        TagRule::Exactly(_) => {}
    }
    check_manifest(requested, e, image, path, out);
}

/// The rule broken when an id that must fail is answered with an image.
fn rule_if_image(cause: FailureCause) -> RuleId {
    match cause {
        FailureCause::MissingDigestAndTag => RuleId::IdMissingBoth,
        FailureCause::InvalidDigest => RuleId::IdInvalidDigest,
        FailureCause::UnusualTag => RuleId::IdInvalidTag,
        FailureCause::TagCase => RuleId::IdCase,
        FailureCause::TagDigestMismatch => RuleId::IdTagAndDigest,
        _ => RuleId::IdNotFound,
    }
}

/// The rule broken when an id fails with a code other than the expected ones.
fn rule_of_code(cause: FailureCause) -> RuleId {
    match cause {
        FailureCause::MissingDigestAndTag => RuleId::IdMissingBoth,
        FailureCause::InvalidDigest => RuleId::IdInvalidDigest,
        FailureCause::UnusualTag => RuleId::IdInvalidTag,
        FailureCause::TagDigestMismatch => RuleId::IdMismatchCode,
        _ => RuleId::IdNotFound,
    }
}

/// The rule broken when an id that names an image is not answered with it.
fn rule_of_found(resolution: Resolution) -> RuleId {
    match resolution {
        Resolution::ByTag => RuleId::IdByTag,
        Resolution::ByDigest => RuleId::IdByDigest,
        Resolution::TagAndDigest => RuleId::IdTagAndDigest,
    }
}

/// An id as JSON, for messages.
pub(crate) fn show_id(id: &ImageIdentifier) -> String {
    serde_json::to_string(id).unwrap_or_default()
}
