//! The properties of the model and the oracle, as functions over one generated scenario:
//! shared by the property tests and the `model_oracle` fuzz target.

use std::sync::OnceLock;

use crate::model::{
    DigestTags, Expected, FAILURE_CODES, IdAnswer, ImageDigest, OpError, Profile, Registry,
    batch_get_image,
};
use crate::oracle::{Observed, RuleId, Violation, check};
use crate::strategy::{Fixture, Scenario, fixture};
use crate::wire::{BatchGetImageResponse, ImageIdentifier};

use super::mutate::{RawAnswer, mutate};

/// The answer `answer`, sent as bytes and read back as the oracle sees it.
fn observe(answer: &Result<BatchGetImageResponse, OpError>) -> Observed {
    RawAnswer::of(answer).observe()
}

/// Runs every scenario property, returning the first that fails.
pub fn check_scenario(scenario: &Scenario, profile: &Profile) -> Result<(), String> {
    let registry = scenario.registry();
    let expected = batch_get_image(&registry, &scenario.request);
    model_answer_passes(&expected, profile)?;
    let Ok(response) = expected.answer(profile) else {
        return Ok(());
    };
    accounting_holds(scenario, profile, &response)?;
    digests_are_content_addresses(&registry, &expected, &response)?;
    mutations_are_caught(scenario, &expected, &response)
}

/// The model's answer, through the wire, passes the oracle.
pub fn model_answer_passes(expected: &Expected, profile: &Profile) -> Result<(), String> {
    let violations = check(expected, &observe(&expected.answer(profile)));
    match violations.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the model's answer breaks rules: {}",
            show(&violations)
        )),
    }
}

/// Every failure echoes a requested id, every entry names a requested tag or digest, and
/// there is one answer per id (per distinct id when repeats are answered once; at least that
/// many under `DigestTags::Each`).
pub fn accounting_holds(
    scenario: &Scenario,
    profile: &Profile,
    response: &BatchGetImageResponse,
) -> Result<(), String> {
    let ids: Vec<&ImageIdentifier> = scenario.request.image_ids.iter().flatten().collect();
    let images = response.images.as_deref().unwrap_or_default();
    let failures = response.failures.as_deref().unwrap_or_default();
    if let Some(f) = failures
        .iter()
        .find(|f| !f.image_id.as_ref().is_some_and(|id| ids.contains(&id)))
    {
        return Err(format!("{f:?} answers no requested id"));
    }
    if let Some(i) = images
        .iter()
        .find(|i| !ids.iter().any(|id| names(id, i.image_id.as_ref())))
    {
        return Err(format!("{:?} names no requested tag or digest", i.image_id));
    }
    let mut distinct = ids.clone();
    distinct.sort_by(|a, b| (&a.image_tag, &a.image_digest).cmp(&(&b.image_tag, &b.image_digest)));
    distinct.dedup();
    let want = if profile.dedupe_ids {
        distinct.len()
    } else {
        ids.len()
    };
    let answers = images.len() + failures.len();
    let ok = match profile.digest_tags {
        DigestTags::Each => answers >= want,
        _ => answers == want,
    };
    ok.then_some(())
        .ok_or_else(|| format!("{answers} answers for {want} ids"))
}

/// Whether an entry with id `got` names the tag or (in any hex case) the digest of `id`.
fn names(id: &ImageIdentifier, got: Option<&ImageIdentifier>) -> bool {
    let Some(got) = got else { return false };
    id.image_tag
        .as_ref()
        .is_some_and(|t| got.image_tag.as_ref() == Some(t))
        || id
            .image_digest
            .as_deref()
            .zip(got.image_digest.as_deref())
            .is_some_and(|(d, g)| d.eq_ignore_ascii_case(g))
}

/// Stored digests are SHA-256 of the manifest bytes, and so are those of untranslated answers.
pub fn digests_are_content_addresses(
    registry: &Registry,
    expected: &Expected,
    response: &BatchGetImageResponse,
) -> Result<(), String> {
    for repository in registry.repositories() {
        for (digest, image) in &repository.images {
            if *digest != ImageDigest::of(image.manifest.bytes.as_bytes()) {
                return Err(format!("stored digest {digest} is not the manifest's"));
            }
        }
    }
    let Some(batch) = &expected.success else {
        return Ok(());
    };
    for image in response.images.iter().flatten() {
        let manifest = image.image_manifest.as_deref().unwrap_or_default();
        let stored = batch
            .ids
            .iter()
            .any(|e| matches!(&e.answer, IdAnswer::Found(f) if f.stored.bytes == manifest));
        let digest = image
            .image_id
            .as_ref()
            .and_then(|i| i.image_digest.as_deref())
            .unwrap_or_default();
        if stored && !ImageDigest::of(manifest.as_bytes()).eq_ignoring_hex_case(digest) {
            return Err(format!(
                "untranslated manifest answered with digest {digest}"
            ));
        }
    }
    Ok(())
}

/// The oracle catches a dropped failure or entry, a changed digest and a flipped failure code,
/// each made by the mutations the contract cases use ([`mutate`]).
pub fn mutations_are_caught(
    scenario: &Scenario,
    expected: &Expected,
    response: &BatchGetImageResponse,
) -> Result<(), String> {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let fixture = FIXTURE.get_or_init(fixture);
    let answer = RawAnswer::of(&Ok(response.clone()));
    let requested: Vec<serde_json::Value> = scenario
        .request
        .image_ids
        .iter()
        .flatten()
        .map(|id| serde_json::to_value(id).unwrap_or_default())
        .collect();
    let caught = |what: &str, spec: &str, rule: Option<RuleId>| {
        let v = check(
            expected,
            &mutate(&answer, spec, fixture, &requested).observe(),
        );
        let ok = match rule {
            Some(rule) => v.iter().any(|v| v.rule == rule),
            None => !v.is_empty(),
        };
        ok.then_some(())
            .ok_or_else(|| format!("{what} ({spec}) is not caught: {}", show(&v)))
    };
    let ids: Vec<&ImageIdentifier> = scenario.request.image_ids.iter().flatten().collect();
    let images = response.images.clone().unwrap_or_default();
    let failures = response.failures.clone().unwrap_or_default();
    let sent = |id: Option<&ImageIdentifier>| ids.iter().filter(|i| Some(**i) == id).count();
    let also_answered = |id: Option<&ImageIdentifier>| {
        images
            .iter()
            .any(|i| id.is_some_and(|id| names(id, i.image_id.as_ref())))
    };
    if let Some(k) = failures
        .iter()
        .position(|f| sent(f.image_id.as_ref()) == 1 && !also_answered(f.image_id.as_ref()))
    {
        caught(
            "a dropped failure",
            &format!("drop_failure:{k}"),
            Some(RuleId::IdAccounting),
        )?;
    }
    if let Some(first) = failures.first()
        && let Some(code) = disallowed_code(expected, first.image_id.as_ref())
    {
        caught("a flipped failure code", &format!("code:{code}"), None)?;
    }
    if let Some(first) = images.first() {
        let digest = first
            .image_id
            .as_ref()
            .and_then(|id| id.image_digest.as_deref());
        if let Some(digest) = digest {
            caught(
                "a changed digest",
                &format!("digest:{}", flip_last_hex(digest)),
                None,
            )?;
        }
        let alike = images[1..].iter().any(|i| {
            first
                .image_id
                .as_ref()
                .is_some_and(|id| names(id, i.image_id.as_ref()))
        });
        if !alike {
            caught("a dropped entry", "drop_image", None)?;
        }
    }
    Ok(())
}

/// A modelled failure code the expectation for `id` does not allow, if any.
fn disallowed_code(expected: &Expected, id: Option<&ImageIdentifier>) -> Option<&'static str> {
    let allowed: Vec<&str> = expected
        .success
        .iter()
        .flat_map(|b| &b.ids)
        .filter(|e| Some(&e.requested) == id)
        .flat_map(|e| match &e.answer {
            IdAnswer::Fails(f) => f.codes.clone(),
            IdAnswer::Found(f) => f.or_fails.iter().flat_map(|o| o.codes.clone()).collect(),
        })
        .collect();
    FAILURE_CODES.iter().copied().find(|c| !allowed.contains(c))
}

fn flip_last_hex(digest: &str) -> String {
    let mut out = digest.to_owned();
    if let Some(last) = out.pop() {
        out.push(if last == '0' { '1' } else { '0' });
    }
    out
}

fn show(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("\n  - {v}")).collect()
}
