//! Checks of one answered manifest: bytes, digest, media type and translation (section 5).

use std::fmt::Display;

use crate::model::manifest::{Contents, LayerOrder, Translation};
use crate::model::{ExpectedImage, Format, ManifestCause, StoredManifest};
use crate::wire::{Image, ImageIdentifier};

use super::normalize::{claimed_format, digest_matches, is_digest_of};
use super::rules::RuleId;
use super::violation::Violation;

pub(crate) fn check_manifest(
    requested: &ImageIdentifier,
    e: &ExpectedImage,
    image: &Image,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    let stored = &e.stored;
    let Some(bytes) = image.image_manifest.as_deref() else {
        out.push(Violation::new(
            RuleId::ManBytes,
            format!("{path}.imageManifest"),
            "the manifest",
            "none",
        ));
        return;
    };
    let digest = image
        .image_id
        .as_ref()
        .and_then(|id| id.image_digest.as_deref())
        .unwrap_or("");
    let media_type = image.image_manifest_media_type.as_deref();
    let rule = &e.manifest;
    if bytes == stored.bytes {
        check_untranslated_digest(requested, stored, digest, path, out);
        check_media_type(media_type, stored.media_type.as_str(), path, out);
        if !rule.as_stored {
            let expected = format!("a translation to {:?}", rule.translations);
            out.push(Violation::new(
                RuleId::ManTranslation,
                format!("{path}.imageManifest"),
                expected,
                "the stored manifest",
            ));
        }
        return;
    }
    let claimed = claimed_format(media_type, bytes);
    let answer = Answered {
        bytes,
        digest,
        media_type,
    };
    if rule.translations.contains(&claimed) && claimed != stored.format {
        check_translated(e, claimed, &answer, path, out);
    } else if claimed == stored.format || media_type.is_none_or(|t| t == stored.media_type.as_str())
    {
        check_changed(requested, stored, &answer, path, out);
    } else {
        let rule_id = match rule.cause {
            ManifestCause::ByDigest => RuleId::ManNoTranslationByDigest,
            ManifestCause::StoredAccepted => RuleId::ManAcceptedStored,
            _ => RuleId::ManTranslation,
        };
        let expected = match rule.translations.as_slice() {
            [] => "the stored manifest".to_owned(),
            t => format!("the stored manifest or a translation to {t:?}"),
        };
        out.push(Violation::new(
            rule_id,
            format!("{path}.imageManifest"),
            expected,
            format!("a {claimed:?} manifest"),
        ));
    }
}

/// What an image entry answered.
struct Answered<'a> {
    bytes: &'a str,
    digest: &'a str,
    media_type: Option<&'a str>,
}

/// A translation the request allows: the translated bytes, their digest (or the stored one),
/// a media type of the translation's format that was accepted.
fn check_translated(
    e: &ExpectedImage,
    claimed: Format,
    answer: &Answered<'_>,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    let Answered {
        bytes,
        digest,
        media_type,
    } = *answer;
    let stored = &e.stored;
    check_translation(stored, claimed, bytes, path, out);
    if !(digest == stored.digest.as_str() || is_digest_of(digest, bytes)) {
        let expected = format!("{} or the digest of the translated bytes", stored.digest);
        out.push(Violation::new(
            RuleId::ManTranslation,
            format!("{path}.imageId.imageDigest"),
            expected,
            digest,
        ));
    }
    let ok = media_type.is_some_and(|t| {
        Format::of(t) == claimed
            && (e.manifest.accepted.iter().any(|a| a == t) || claimed.media_type() == Some(t))
    });
    if !ok {
        let expected = format!("an accepted {claimed:?} media type");
        out.push(Violation::new(
            RuleId::ManMediaType,
            format!("{path}.imageManifestMediaType"),
            expected,
            media_type.unwrap_or("none"),
        ));
    }
}

/// The stored manifest's format, changed: the bytes are not as pushed, and the digest must
/// still be the stored one and the sha256 of what was answered.
fn check_changed(
    requested: &ImageIdentifier,
    stored: &StoredManifest,
    answer: &Answered<'_>,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    out.push(Violation::new(
        RuleId::ManBytes,
        format!("{path}.imageManifest"),
        "the manifest byte for byte as pushed",
        describe_change(&stored.bytes, answer.bytes),
    ));
    check_untranslated_digest(requested, stored, answer.digest, path, out);
    if !is_digest_of(answer.digest, answer.bytes) {
        out.push(Violation::new(
            RuleId::ManDigest,
            format!("{path}.imageId.imageDigest"),
            "sha256 of imageManifest",
            answer.digest,
        ));
    }
}

/// An untranslated answer carries the stored digest (or the requested one, when it differs
/// only in hex case).
fn check_untranslated_digest(
    requested: &ImageIdentifier,
    stored: &StoredManifest,
    digest: &str,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    let echoes_request = requested
        .image_digest
        .as_deref()
        .is_some_and(|d| d == digest && digest_matches(d, stored.digest.as_str()));
    if digest != stored.digest.as_str() && !echoes_request {
        out.push(Violation::new(
            RuleId::ManDigest,
            format!("{path}.imageId.imageDigest"),
            stored.digest.as_str(),
            digest,
        ));
    }
}

fn check_media_type(
    found: Option<&str>,
    pushed: &str,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    if found != Some(pushed) {
        out.push(Violation::new(
            RuleId::ManMediaType,
            format!("{path}.imageManifestMediaType"),
            pushed,
            found.unwrap_or("none"),
        ));
    }
}

/// A translation holds every member its row of the translation table names (`Translation`,
/// shared with the model): `schemaVersion`, the top-level `mediaType`, the stored config, and
/// the stored layers in the same order (S2 <-> OCI) or their blobs reversed (S1).
fn check_translation(
    stored: &StoredManifest,
    to: Format,
    bytes: &str,
    path: &dyn Display,
    out: &mut Vec<Violation>,
) {
    let path = format!("{path}.imageManifest");
    let Some(row) = Translation::to(to) else {
        return;
    };
    let Some(translated) = Contents::parse(bytes) else {
        out.push(Violation::new(
            RuleId::ManTranslation,
            path,
            "a JSON manifest",
            "not JSON",
        ));
        return;
    };
    for (member, expected, found) in translation_differences(row, &stored.contents, &translated) {
        out.push(Violation::new(
            RuleId::ManTranslation,
            format!("{path}.{member}"),
            expected,
            found,
        ));
    }
}

/// The members of `translated` that differ from what `row` says a translation of `stored`
/// holds: (member, expected, found).
fn translation_differences(
    row: &Translation,
    stored: &Contents,
    translated: &Contents,
) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    if translated.schema_version != Some(row.schema_version) {
        let found = translated
            .schema_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string());
        out.push(("schemaVersion", row.schema_version.to_string(), found));
    }
    if !row.media_types.contains(&translated.media_type.as_deref()) {
        let allowed: Vec<&str> = row
            .media_types
            .iter()
            .map(|t| t.unwrap_or("absent"))
            .collect();
        let found = translated.media_type.as_deref().unwrap_or("absent");
        out.push(("mediaType", format!("one of {allowed:?}"), found.to_owned()));
    }
    let config = |c: &Contents| c.config.as_ref().map(|d| (d.digest.clone(), d.size));
    if row.keeps_config && config(translated) != config(stored) {
        out.push((
            "config",
            "the stored config".to_owned(),
            "another config".to_owned(),
        ));
    }
    let blobs = |c: &Contents, sizes: bool| -> Vec<(String, Option<i64>)> {
        let size = |l: &crate::model::manifest::Descriptor| if sizes { l.size } else { None };
        c.layers
            .iter()
            .map(|l| (l.digest.clone(), size(l)))
            .collect()
    };
    match row.layers {
        LayerOrder::Same if blobs(translated, true) != blobs(stored, true) => {
            out.push((
                "layers",
                "the stored layers".to_owned(),
                "other layers".to_owned(),
            ));
        }
        LayerOrder::Reversed => {
            let mut want = blobs(stored, false);
            want.reverse();
            let got = blobs(translated, false);
            if want != got {
                let digests = |v: &[(String, Option<i64>)]| {
                    v.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>()
                };
                out.push((
                    "fsLayers",
                    format!("the stored layers reversed {:?}", digests(&want)),
                    format!("{:?}", digests(&got)),
                ));
            }
        }
        _ => {}
    }
    out
}

/// Says how two manifests differ, briefly: length, and the first differing byte.
fn describe_change(pushed: &str, answered: &str) -> String {
    let at = pushed
        .bytes()
        .zip(answered.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(pushed.len().min(answered.len()));
    format!(
        "{} bytes differing from the {} pushed at byte {at}",
        answered.len(),
        pushed.len()
    )
}
