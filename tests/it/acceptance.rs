//! Acceptance is tested as hard as detection: every answer the spec's tables list (written out
//! independently of the model in `support::spec_table`) passes the oracle, in every context a
//! row covers (each id form, with and without `acceptedMediaTypes`, repeated or not), and an
//! answer the row does not list is reported under the row's rule.

use ecr_contract::model::manifest::{DOCKER_LIST, OCI, OCI_INDEX, S1, S1_SIGNED, S2};
use ecr_contract::model::{Registry, batch_get_image};
use ecr_contract::oracle::{RuleId, Violation, check};
use ecr_contract::strategy::{Fixture, arb_scenario};
use ecr_contract::wire::{self, BatchGetImageRequest, BatchGetImageResponse, ImageIdentifier};
use proptest::prelude::*;

use super::support::fixture_registry;
use super::support::spec_table::{Answer, IdRow, Table, acceptable, failure};
use ecr_contract::fuzzing::mutate::RawAnswer;

/// The id forms of section 4 against the fixture: tag; digest; tag and digest agreeing,
/// disagreeing, with the tag absent, with the digest absent; unusual tags, malformed and
/// upper-case digests; neither.
fn id_forms(fixture: &Fixture) -> Vec<ImageIdentifier> {
    let d = |name: &str| fixture.image(name).expect("a fixture image").digest.clone();
    let upper = format!("sha256:{}", d("s2")[7..].to_uppercase());
    let absent = format!("sha256:{}", "0".repeat(64));
    let mut ids = Vec::new();
    for tag in [
        "v1", "latest", "v2", "oci", "s1", "multi", "absent", "Latest", "a/b",
    ] {
        ids.push(ImageIdentifier::tag(tag));
    }
    for digest in [
        d("s2"),
        d("oci"),
        d("s1"),
        d("list"),
        d("orphan"),
        absent.clone(),
    ] {
        ids.push(ImageIdentifier::digest(digest));
    }
    ids.extend([
        ImageIdentifier::digest(upper.clone()),
        ImageIdentifier::digest("sha256:xyz"),
        ImageIdentifier::tag_and_digest("v1", d("s2")),
        ImageIdentifier::tag_and_digest("oci", d("oci")),
        ImageIdentifier::tag_and_digest("s1", d("s1")),
        ImageIdentifier::tag_and_digest("multi", d("list")),
        ImageIdentifier::tag_and_digest("v1", d("oci")),
        ImageIdentifier::tag_and_digest("absent", d("s2")),
        ImageIdentifier::tag_and_digest("v1", absent),
        ImageIdentifier::tag_and_digest("v1", upper),
        ImageIdentifier::tag_and_digest("a/b", d("s2")),
        ImageIdentifier::tag_and_digest("a/b", "sha256:xyz"),
        ImageIdentifier::tag_and_digest("v1", "sha256:xyz"),
        ImageIdentifier::default(),
    ]);
    ids
}

/// `acceptedMediaTypes` omitted, each type alone, pairs, lists, and a type the table does
/// not know.
fn accepted_forms() -> Vec<Option<Vec<String>>> {
    let lists: [&[&str]; 10] = [
        &[S1],
        &[S1_SIGNED],
        &[S2],
        &[OCI],
        &[S2, OCI],
        &[S1, OCI],
        &[DOCKER_LIST],
        &[OCI_INDEX, OCI],
        &["text/plain"],
        &["text/plain", S2],
    ];
    std::iter::once(None)
        .chain(
            lists
                .iter()
                .map(|l| Some(l.iter().map(|s| (*s).to_owned()).collect())),
        )
        .collect()
}

fn request(ids: Vec<ImageIdentifier>, accepted: Option<Vec<String>>) -> BatchGetImageRequest {
    BatchGetImageRequest {
        registry_id: None,
        repository_name: Some("team/app".into()),
        image_ids: Some(ids),
        accepted_media_types: accepted,
    }
}

/// A 200 answer: each row's id answered by its answer, as many times as given.
fn respond(rows: &[(&IdRow, &Answer, usize)]) -> RawAnswer {
    RawAnswer::of(&Ok(response(rows)))
}

fn response(rows: &[(&IdRow, &Answer, usize)]) -> BatchGetImageResponse {
    let mut response = BatchGetImageResponse {
        images: Some(vec![]),
        failures: Some(vec![]),
    };
    for (row, answer, times) in rows {
        for _ in 0..*times {
            match answer {
                Answer::Entries(entries) => {
                    let images = response.images.as_mut().expect("images");
                    images.extend(entries.iter().cloned());
                }
                Answer::Fails(code) => {
                    let failures = response.failures.as_mut().expect("failures");
                    failures.push(failure(&row.id, code));
                }
            }
        }
    }
    response
}

fn error(code: &str) -> RawAnswer {
    RawAnswer {
        status: 400,
        headers: vec![("content-type", wire::CONTENT_TYPE.to_owned())],
        body: wire::encode_error(code, "chosen by the spec table"),
    }
}

fn judge(registry: &Registry, request: &BatchGetImageRequest, raw: &RawAnswer) -> Vec<Violation> {
    check(&batch_get_image(registry, request), &raw.observe())
}

fn show(request: &BatchGetImageRequest, raw: &RawAnswer, violations: &[Violation]) -> String {
    format!(
        "request {}\nanswer {}\nviolations: {}",
        serde_json::to_string(request).unwrap_or_default(),
        String::from_utf8_lossy(&raw.body),
        violations
            .iter()
            .map(|v| format!("\n  - {v}"))
            .collect::<String>()
    )
}

/// Checks every listed answer of a one-id request, once and repeated, and the unlisted one.
fn check_row(registry: &Registry, table: &Table, request: &BatchGetImageRequest) -> Vec<String> {
    let mut problems = Vec::new();
    for code in &table.errors {
        let raw = error(code);
        let v = judge(registry, request, &raw);
        if !v.is_empty() {
            problems.push(format!(
                "a listed error is refused: {}",
                show(request, &raw, &v)
            ));
        }
    }
    let Some(rows) = &table.ids else {
        return problems;
    };
    let row = &rows[0];
    for answer in &row.answers {
        let raw = respond(&[(row, answer, 1)]);
        let v = judge(registry, request, &raw);
        if !v.is_empty() {
            problems.push(format!(
                "a listed answer is refused: {}",
                show(request, &raw, &v)
            ));
        }
        // The same id twice, answered once or once per repetition.
        let twice = BatchGetImageRequest {
            image_ids: Some(vec![row.id.clone(), row.id.clone()]),
            ..request.clone()
        };
        for times in [1, 2] {
            let raw = respond(&[(row, answer, times)]);
            let v = judge(registry, &twice, &raw);
            if !v.is_empty() {
                let shown = show(&twice, &raw, &v);
                problems.push(format!(
                    "a repeated id answered {times}x is refused: {shown}"
                ));
            }
        }
    }
    let raw = respond(&[(row, &row.unlisted, 1)]);
    let v = judge(registry, request, &raw);
    if !v.iter().any(|v| v.rule.as_str() == row.rule) {
        let shown = show(request, &raw, &v);
        problems.push(format!("an unlisted answer is not {}: {shown}", row.rule));
    }
    problems
}

#[test]
fn every_outcome_the_spec_lists_is_accepted_in_every_context_of_its_row() {
    let (fixture, registry) = fixture_registry();
    let mut problems = Vec::new();
    let mut answers = 0;
    for id in id_forms(&fixture) {
        for accepted in accepted_forms() {
            let request = request(vec![id.clone()], accepted);
            let table = acceptable(&registry, &request);
            answers += table.ids.as_ref().map_or(0, |r| r[0].answers.len()) + table.errors.len();
            problems.extend(check_row(&registry, &table, &request));
        }
    }
    assert!(answers > 700, "only {answers} answers were tried");
    assert!(
        problems.is_empty(),
        "{} problems, the first ones:\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn a_missing_repository_accepts_every_listed_error_and_nothing_else() {
    let (_, registry) = fixture_registry();
    for (ids, codes) in [
        (
            vec![ImageIdentifier::tag("v1")],
            vec!["RepositoryNotFoundException"],
        ),
        (
            vec![ImageIdentifier::digest("sha256:xyz")],
            vec!["RepositoryNotFoundException", "InvalidParameterException"],
        ),
    ] {
        let request = BatchGetImageRequest {
            repository_name: Some("absent".into()),
            ..request(ids, None)
        };
        let table = acceptable(&registry, &request);
        assert_eq!(table.errors, codes);
        assert!(check_row(&registry, &table, &request).is_empty());
        let v = judge(&registry, &request, &error("ImageNotFoundException"));
        assert!(
            v.iter().any(|v| v.rule.as_str() == "REPO-NOT-FOUND"),
            "{v:?}"
        );
    }
}

/// A small deterministic RNG, so that a proptest seed picks every choice.
struct Picker(u64);

impl Picker {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % (n as u64)).unwrap_or(0)
    }
}

/// A server that answers each id with any outcome the spec lists for it, chosen at random per
/// id, repeated ids once or once per repetition, and the lists in any order.
fn spec_server(table: &Table, request: &BatchGetImageRequest, seed: u64) -> RawAnswer {
    let mut p = Picker(seed);
    let Some(rows) = &table.ids else {
        return error(table.errors[p.pick(table.errors.len())]);
    };
    if !table.errors.is_empty() && p.pick(3) == 0 {
        return error(table.errors[p.pick(table.errors.len())]);
    }
    let ids = request.image_ids.as_deref().unwrap_or_default();
    let mut chosen: Vec<(&IdRow, &Answer, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let first = ids.iter().position(|id| *id == ids[i]) == Some(i);
        if !first {
            continue;
        }
        let sent = ids.iter().filter(|id| **id == ids[i]).count();
        let times = if p.pick(2) == 0 { 1 } else { sent };
        chosen.push((row, &row.answers[p.pick(row.answers.len())], times));
    }
    let mut response = response(&chosen);
    if let Some(images) = response.images.as_mut() {
        shuffle(images, &mut p);
    }
    if let Some(failures) = response.failures.as_mut() {
        shuffle(failures, &mut p);
    }
    RawAnswer::of(&Ok(response))
}

fn shuffle<T>(items: &mut [T], p: &mut Picker) {
    for i in (1..items.len()).rev() {
        items.swap(i, p.pick(i + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: super::properties::cases(300), ..ProptestConfig::default() })]

    /// A server that answers each id with any outcome the spec's tables list for it (chosen at
    /// random per id and per request) never fails the oracle.
    #[test]
    fn a_server_choosing_any_listed_outcome_never_fails(scenario in arb_scenario(), seed in any::<u64>()) {
        let registry = scenario.registry();
        let table = acceptable(&registry, &scenario.request);
        let raw = spec_server(&table, &scenario.request, seed);
        let violations = judge(&registry, &scenario.request, &raw);
        prop_assert!(violations.is_empty(), "{}", show(&scenario.request, &raw, &violations));
    }
}

/// A wrong media type in a scenario's probe is MAN-MEDIA-TYPE, not the scenario's rule: the
/// digest is right (the PutImage digest case, where an emulator answered an OCI image with the
/// Docker schema 2 type).
#[test]
fn a_wrong_media_type_is_not_blamed_on_the_scenario() {
    use ecr_contract::oracle::{RuleId, check_in};
    let (_, registry) = fixture_registry();
    let request = request(vec![ImageIdentifier::tag("oci")], None);
    let expected = batch_get_image(&registry, &request);
    let mut response = expected.answer(&Default::default()).expect("an answer");
    let images = response.images.as_mut().expect("images");
    images[0].image_manifest_media_type = Some(S2.to_owned());
    let observed = RawAnswer::of(&Ok(response)).observe();
    let rules: Vec<&str> = check_in(RuleId::StatePutDigest, &expected, &observed)
        .iter()
        .map(|v| v.rule.as_str())
        .collect();
    assert_eq!(rules, ["MAN-MEDIA-TYPE"]);
}

/// In a scenario's probe, a violation about *what* was answered is filed under the scenario
/// rule, at the scenario's level, naming its own rule in `via`; under a must scenario it also
/// stays under its own rule, under a should scenario it does not. One about a failure's form
/// keeps its own rule alone.
#[test]
fn what_was_answered_is_filed_under_the_scenario_and_the_form_of_a_failure_under_its_own_rule() {
    use ecr_contract::oracle::{RuleId, check_in};
    let (_, registry) = fixture_registry();
    let ids = vec![ImageIdentifier::tag("v1"), ImageIdentifier::tag("absent")];
    let request = request(ids, None);
    let expected = batch_get_image(&registry, &request);
    let mut response = expected.answer(&Default::default()).expect("an answer");
    let images = response.images.as_mut().expect("images");
    let image = images[0].image_id.as_mut().expect("an id");
    image.image_digest = Some(format!("sha256:{}", "0".repeat(64)));
    let failures = response.failures.as_mut().expect("failures");
    failures[0].failure_code = Some("Bogus".into());
    let observed = RawAnswer::of(&Ok(response)).observe();
    let filed = |context| -> Vec<String> {
        check_in(context, &expected, &observed)
            .iter()
            .map(|v| {
                let via = v.via.map(|r| format!(" via {r}")).unwrap_or_default();
                format!("{} {:?}{via}", v.rule, v.level)
            })
            .collect()
    };
    // A wrong digest (MAN-DIGEST, about what) and a wrong code (ID-FAILURE-CODE, the form).
    assert_eq!(
        filed(RuleId::StateDelete),
        [
            "ID-FAILURE-CODE Must",
            "STATE-DELETE Must via MAN-DIGEST",
            "MAN-DIGEST Must"
        ]
    );
    assert_eq!(
        filed(RuleId::StateTagMove),
        [
            "ID-FAILURE-CODE Must",
            "STATE-TAG-MOVE Should via MAN-DIGEST"
        ]
    );
}

/// An entry that answers none of the ids it could belong to correctly goes to the closest:
/// a digest echoed exactly is closer than one differing in the case of its hex, so the id
/// asked for in upper case is left unanswered (ID-ACCOUNTING) rather than blamed for bytes
/// that were never its answer.
#[test]
fn a_wrong_entry_goes_to_the_id_it_echoes_exactly_not_the_one_it_matches_ignoring_case() {
    let (fixture, registry) = fixture_registry();
    let digest = fixture.image("s2b").expect("s2b").digest.clone();
    let upper = format!("sha256:{}", digest[7..].to_uppercase());
    let ids = vec![
        ImageIdentifier::digest(upper),
        ImageIdentifier::digest(digest),
    ];
    let request = request(ids, None);
    let expected = batch_get_image(&registry, &request);
    let mut response = expected.answer(&Default::default()).expect("an answer");
    response.failures = Some(vec![]);
    let images = response.images.as_mut().expect("images");
    assert_eq!(
        images.len(),
        1,
        "the upper-case id fails under the default profile"
    );
    spoil(&mut images[0]);
    let observed = RawAnswer::of(&Ok(response)).observe();
    let found: Vec<String> = check(&expected, &observed)
        .iter()
        .map(|v| format!("{} {}", v.rule, v.path))
        .collect();
    assert_eq!(
        found,
        [
            "ID-ACCOUNTING ",
            "MAN-BYTES images[0].imageManifest",
            "MAN-DIGEST images[0].imageId.imageDigest"
        ]
    );
}

/// The rules and paths the oracle reports for `answer` to `ids`.
fn reported(ids: Vec<ImageIdentifier>, answer: BatchGetImageResponse) -> Vec<String> {
    let (_, registry) = fixture_registry();
    let expected = batch_get_image(&registry, &request(ids, None));
    let observed = RawAnswer::of(&Ok(answer)).observe();
    check(&expected, &observed)
        .iter()
        .map(|v| format!("{} {}", v.rule, v.path))
        .collect()
}

/// `image`'s manifest, changed by a trailing space.
fn spoil(image: &mut wire::Image) {
    image.image_manifest = image.image_manifest.as_ref().map(|m| format!("{m} "));
}

/// `v1` with the digest of image `oci`: an id that must fail (its tag names another image).
fn v1_with_the_oci_digest(fixture: &Fixture) -> ImageIdentifier {
    let oci = fixture.image("oci").expect("oci");
    ImageIdentifier::tag_and_digest("v1", oci.digest.clone())
}

/// `v2` asked for by tag and digest and by tag alone, and the model's answer cut to one entry
/// whose manifest is spoiled: an entry that fits both ids and answers neither correctly.
fn one_spoiled_entry_for_v2_twice() -> (Vec<ImageIdentifier>, BatchGetImageResponse) {
    let (fixture, registry) = fixture_registry();
    let digest = fixture.image("s2b").expect("s2b").digest.clone();
    let ids = vec![
        ImageIdentifier::tag_and_digest("v2", digest),
        ImageIdentifier::tag("v2"),
    ];
    let expected = batch_get_image(&registry, &request(ids.clone(), None));
    let mut answer = expected.answer(&Default::default()).expect("an answer");
    let images = answer.images.as_mut().expect("images");
    images.truncate(1);
    spoil(&mut images[0]);
    (ids, answer)
}

/// A one-image answer: fixture image `name` under `tag`, exactly as pushed.
fn only_entry(tag: &str, name: &str) -> BatchGetImageResponse {
    let (fixture, _) = fixture_registry();
    let image = fixture.image(name).expect("a fixture image");
    BatchGetImageResponse {
        images: Some(vec![wire::Image {
            registry_id: Some("123456789012".into()),
            repository_name: Some("team/app".into()),
            image_id: Some(ImageIdentifier::tag_and_digest(tag, image.digest.clone())),
            image_manifest: Some(image.manifest.clone()),
            image_manifest_media_type: Some(image.media_type.into()),
        }]),
        failures: Some(vec![]),
    }
}

/// An entry that fits two ids equally and answers neither correctly goes to the one no
/// failure answers: the other id's failure is then judged alone.
#[test]
fn a_wrong_entry_that_fits_two_ids_goes_to_the_one_no_failure_answers() {
    let (ids, mut answer) = one_spoiled_entry_for_v2_twice();
    answer.failures = Some(vec![failure(&ids[1], "ImageNotFound")]);
    assert_eq!(
        reported(ids, answer),
        [
            "MAN-BYTES images[0].imageManifest",
            "MAN-DIGEST images[0].imageId.imageDigest",
            "ID-BY-TAG failures[0]"
        ]
    );
}

/// An image answering an id that must fail (its tag names another image) is that id's wrong
/// answer when it carries the requested digest, even under another tag.
#[test]
fn an_image_with_the_digest_of_an_id_that_must_fail_is_that_ids_answer() {
    let (fixture, _) = fixture_registry();
    let ids = vec![v1_with_the_oci_digest(&fixture)];
    let answer = only_entry("oci", "oci");
    assert_eq!(
        reported(ids, answer),
        ["ID-TAG-AND-DIGEST images[0]", "ID-MISMATCH-CODE images[0]"]
    );
}

/// An entry that fits an id by tag and digest and another by tag alone, answering neither
/// correctly, goes to both: each is judged against it.
#[test]
fn a_wrong_entry_that_fits_two_ids_exactly_goes_to_both() {
    let (ids, answer) = one_spoiled_entry_for_v2_twice();
    let judged = [
        "MAN-BYTES images[0].imageManifest",
        "MAN-DIGEST images[0].imageId.imageDigest",
    ];
    assert_eq!(reported(ids, answer), [judged, judged].concat());
}

/// An entry for an image nobody asked for is not taken for the answer of an id that must fail.
#[test]
fn an_unrelated_entry_is_not_the_answer_of_an_id_that_must_fail() {
    let (fixture, _) = fixture_registry();
    let ids = vec![v1_with_the_oci_digest(&fixture)];
    let answer = only_entry("s1", "s1");
    // The entry answers no id, and the id is not answered.
    assert_eq!(
        reported(ids, answer),
        ["ID-ACCOUNTING images[0].imageId", "ID-ACCOUNTING "]
    );
}

/// A tag outside `[a-zA-Z0-9-_.]` answered with an image breaks ID-INVALID-TAG.
#[test]
fn an_unusual_tag_answered_with_an_image_breaks_id_invalid_tag() {
    let ids = vec![ImageIdentifier::tag("a/b")];
    let answer = only_entry("a/b", "s2");
    assert_eq!(reported(ids, answer), ["ID-INVALID-TAG images[0]"]);
}

/// An entry that answers no requested id is ID-ACCOUNTING, and the report shows its id.
#[test]
fn an_entry_for_an_id_nobody_asked_for_is_reported_with_that_id() {
    let (fixture, registry) = fixture_registry();
    let ids = vec![ImageIdentifier::tag("v1")];
    let expected = batch_get_image(&registry, &request(ids, None));
    let mut answer = expected.answer(&Default::default()).expect("an answer");
    let images = answer.images.as_mut().expect("images");
    let mut stranger = images[0].clone();
    let oci = fixture.image("oci").expect("oci").digest.clone();
    stranger.image_id = Some(ImageIdentifier::tag_and_digest("oci", oci.clone()));
    images.push(stranger);
    let observed = RawAnswer::of(&Ok(answer)).observe();
    let found: Vec<(String, String)> = check(&expected, &observed)
        .iter()
        .map(|v| (v.rule.to_string(), v.found.clone()))
        .collect();
    let shown = format!(r#"{{"imageDigest":"{oci}","imageTag":"oci"}}"#);
    assert_eq!(found, [("ID-ACCOUNTING".to_owned(), shown)]);
}

/// The stored schema 1 image answered under the other schema 1 name is the stored manifest with
/// a media type that is not the pushed one (MAN-MEDIA-TYPE, should), not a translation: the
/// format is the same.
#[test]
fn the_stored_manifest_under_another_name_of_its_format_is_not_a_translation() {
    let (_, registry) = fixture_registry();
    let ids = vec![ImageIdentifier::tag("s1")];
    let expected = batch_get_image(&registry, &request(ids.clone(), None));
    let mut answer = expected.answer(&Default::default()).expect("an answer");
    let images = answer.images.as_mut().expect("images");
    assert_eq!(
        images[0].image_manifest_media_type.as_deref(),
        Some(S1_SIGNED)
    );
    images[0].image_manifest_media_type = Some(S1.to_owned());
    let rules: Vec<String> = reported(ids, answer)
        .into_iter()
        .map(|r| r.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rules, ["MAN-MEDIA-TYPE"]);
}

/// ROBUST-AUTH and STATE-PUT-DIGEST, judged on other calls than a probed BatchGetImage: what
/// ECR answers passes, anything else is reported.
#[test]
fn the_rules_judged_on_other_calls_accept_ecr_and_catch_the_rest() {
    use ecr_contract::model::ImageDigest;
    use ecr_contract::oracle::{check_put_digest, check_put_refusal, check_unsigned};
    let unsigned = |status: u16, code: &str| {
        let raw = RawAnswer {
            status,
            ..error(code)
        };
        check_unsigned(&raw.observe()).len()
    };
    for code in [
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
    ] {
        assert_eq!(unsigned(400, code), 0, "{code}");
    }
    assert_eq!(unsigned(403, "AccessDeniedException"), 0);
    assert_eq!(unsigned(400, "InvalidParameterException"), 1);
    assert_eq!(unsigned(500, "UnrecognizedClientException"), 1);
    let images = RawAnswer::of(&Ok(BatchGetImageResponse {
        images: Some(vec![]),
        failures: Some(vec![]),
    }));
    assert_eq!(
        check_unsigned(&images.observe()).len(),
        1,
        "a 200 to an unsigned request"
    );

    let manifest = "{\"schemaVersion\": 2}\r\n";
    let digest = ImageDigest::of(manifest.as_bytes()).to_string();
    assert!(check_put_digest(manifest, Some(&digest)).is_empty());
    assert_eq!(check_put_digest(manifest, Some("sha256:00")).len(), 1);
    assert_eq!(check_put_digest(manifest, None).len(), 1);
    assert_eq!(
        check_put_refusal("ImageDigestDoesNotMatchException").len(),
        1
    );
    assert!(check_put_refusal("ImageAlreadyExistsException").is_empty());
}

/// An entry that only looks like the answer of an id a failure already answers (same tag,
/// another digest) is still that id's: the id is then judged for answering twice, rather than
/// the entry being reported as answering nothing.
#[test]
fn a_loose_entry_for_an_id_a_failure_answers_is_still_that_ids() {
    let (fixture, _) = fixture_registry();
    let ids = vec![v1_with_the_oci_digest(&fixture)];
    let mut answer = only_entry("v1", "s1");
    answer.failures = Some(vec![failure(&ids[0], "ImageNotFound")]);
    assert_eq!(
        reported(ids, answer),
        [
            "ID-ACCOUNTING ",
            "ID-TAG-AND-DIGEST images[0]",
            "ID-MISMATCH-CODE images[0]"
        ]
    );
}

/// A MAN-BYTES report says how the answered manifest differs from the one pushed: both
/// lengths, and the first byte where they part.
#[test]
fn a_changed_manifest_is_reported_with_its_length_and_first_differing_byte() {
    let (fixture, registry) = fixture_registry();
    let pushed = fixture.image("s2b").expect("s2b").manifest.clone();
    let ids = vec![ImageIdentifier::tag("v2")];
    let expected = batch_get_image(&registry, &request(ids, None));
    let n = pushed.len();
    let mut flipped = pushed.clone().into_bytes();
    flipped[10] = if flipped[10] == b' ' { b'\t' } else { b' ' };
    let cases = [
        (
            format!("{pushed} "),
            format!("{} bytes differing from the {n} pushed at byte {n}", n + 1),
        ),
        (
            pushed[..n - 1].to_owned(),
            format!(
                "{} bytes differing from the {n} pushed at byte {}",
                n - 1,
                n - 1
            ),
        ),
        (
            String::from_utf8(flipped).expect("utf-8"),
            format!("{n} bytes differing from the {n} pushed at byte 10"),
        ),
    ];
    for (manifest, shown) in cases {
        let mut answer = expected.answer(&Default::default()).expect("an answer");
        answer.images.as_mut().expect("images")[0].image_manifest = Some(manifest);
        let observed = RawAnswer::of(&Ok(answer)).observe();
        let found: Vec<String> = check(&expected, &observed)
            .into_iter()
            .filter(|v| v.rule == RuleId::ManBytes)
            .map(|v| v.found)
            .collect();
        assert_eq!(found, [shown]);
    }
}

/// An entry echoing one id exactly goes to that id even when a failure answers it too, and
/// not to another id the entry only looks like (same tag): the loose fit never outbids an
/// exact one.
#[test]
fn an_exact_fit_outbids_a_loose_one_even_for_an_id_a_failure_answers() {
    let (fixture, _) = fixture_registry();
    let ids = vec![ImageIdentifier::tag("v1"), v1_with_the_oci_digest(&fixture)];
    let mut answer = only_entry("v1", "s1");
    spoil(&mut answer.images.as_mut().expect("images")[0]);
    answer.failures = Some(vec![failure(&ids[0], "ImageNotFound")]);
    assert_eq!(
        reported(ids, answer),
        [
            "ID-ACCOUNTING ",
            "ID-BY-TAG failures[0]",
            "MAN-TRANSLATION images[0].imageManifest",
            "ID-ACCOUNTING "
        ]
    );
}

/// Which format an answered manifest is in decides whether it is judged as a translation or as
/// the stored manifest changed: without `imageManifestMediaType`, the manifest's own
/// `mediaType` or `"schemaVersion": 1` says; under another name of the stored format, it is the
/// stored format.
#[test]
fn an_answers_format_comes_from_its_type_else_from_the_manifest_itself() {
    let (_, registry) = fixture_registry();
    let judged = |tag: &str, accepted: &[&str], edit: &dyn Fn(&mut wire::Image)| {
        let ids = vec![ImageIdentifier::tag(tag)];
        let accepted = Some(accepted.iter().map(|t| (*t).to_owned()).collect());
        let expected = batch_get_image(&registry, &request(ids, accepted));
        let mut answer = expected.answer(&Default::default()).expect("an answer");
        edit(&mut answer.images.as_mut().expect("images")[0]);
        let observed = RawAnswer::of(&Ok(answer)).observe();
        check(&expected, &observed)
            .iter()
            .map(|v| v.rule.to_string())
            .collect::<Vec<_>>()
    };
    // Schema 2 translated to schema 1, its type left out: a translation still.
    let untyped = |image: &mut wire::Image| image.image_manifest_media_type = None;
    assert_eq!(judged("v1", &[S1], &untyped), ["MAN-MEDIA-TYPE"]);
    // The stored schema 1 manifest changed, under the other schema 1 name: the stored manifest
    // changed, not a translation.
    let renamed_and_changed = |image: &mut wire::Image| {
        image.image_manifest_media_type = Some(S1.to_owned());
        spoil(image);
    };
    assert_eq!(
        judged("s1", &[S1_SIGNED], &renamed_and_changed),
        ["MAN-BYTES", "MAN-DIGEST"]
    );
}

/// An emulator that lets the digest win over a disagreeing tag and echoes another tag of the
/// image (moto): its entry carries the requested digest, so it is the disagreeing id's answer
/// and judged for every rule it breaks, even when another id (the digest alone) takes the
/// same entry; not merely an id left unanswered.
#[test]
fn an_entry_echoing_the_requested_digest_under_another_tag_is_judged_for_every_rule_it_breaks() {
    let (fixture, _) = fixture_registry();
    let oci = fixture.image("oci").expect("oci").digest.clone();
    let ids = vec![
        v1_with_the_oci_digest(&fixture),
        ImageIdentifier::digest(oci),
    ];
    let answer = only_entry("oci", "oci");
    assert_eq!(
        reported(ids, answer),
        ["ID-TAG-AND-DIGEST images[0]", "ID-MISMATCH-CODE images[0]"]
    );
}

/// A wrong failure code for a tag whose digest differs from the stored one only in hex case
/// (which may match or not: when it does not, the tag points elsewhere) is ID-MISMATCH-CODE,
/// a should, never ID-TAG-AND-DIGEST; by digest alone, it is ID-NOT-FOUND.
#[test]
fn a_wrong_code_for_a_hex_case_digest_is_filed_under_a_should_rule() {
    let (fixture, _) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2").digest.clone();
    let upper = format!("sha256:{}", s2[7..].to_uppercase());
    for (id, rule) in [
        (
            ImageIdentifier::tag_and_digest("v1", upper.clone()),
            "ID-MISMATCH-CODE",
        ),
        (ImageIdentifier::digest(upper), "ID-NOT-FOUND"),
    ] {
        let answer = BatchGetImageResponse {
            images: Some(vec![]),
            failures: Some(vec![failure(&id, "InvalidImageDigest")]),
        };
        assert_eq!(
            reported(vec![id], answer),
            [format!("{rule} failures[0].failureCode")]
        );
    }
}

/// A modelled failure code no row allows for the id, in place of the one a conforming server
/// chose: a deviation of a should (or may) rule.
fn with_wrong_codes(expected: &ecr_contract::model::Expected, answer: &mut BatchGetImageResponse) {
    use ecr_contract::model::{FAILURE_CODES, IdAnswer};
    let Some(batch) = &expected.success else {
        return;
    };
    for failure in answer.failures.iter_mut().flatten() {
        let allowed = batch.ids.iter().find_map(|e| {
            (Some(&e.requested) == failure.image_id.as_ref()).then(|| match &e.answer {
                IdAnswer::Fails(f) => f.codes.clone(),
                IdAnswer::Found(image) => image
                    .or_fails
                    .as_ref()
                    .map(|f| f.codes.clone())
                    .unwrap_or_default(),
            })
        });
        if let Some(code) =
            allowed.and_then(|allowed| FAILURE_CODES.iter().find(|c| !allowed.contains(c)))
        {
            failure.failure_code = Some((*code).to_owned());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: super::properties::cases(300), ..ProptestConfig::default() })]

    /// A server that deviates only from should-level rules (a wrong but modelled failure code
    /// for ids a conforming server fails, the codes being should for every row) is never
    /// reported at must level, whatever the state and the request; and the deviation is
    /// reported.
    #[test]
    fn a_wrong_failure_code_is_never_filed_under_a_must_rule(
        scenario in arb_scenario(),
        profile in ecr_contract::strategy::arb_profile(),
    ) {
        let registry = scenario.registry();
        let expected = batch_get_image(&registry, &scenario.request);
        let Ok(mut answer) = expected.answer(&profile) else {
            return Ok(());
        };
        let before = answer.clone();
        with_wrong_codes(&expected, &mut answer);
        let violations = check(&expected, &RawAnswer::of(&Ok(answer.clone())).observe());
        let raw = RawAnswer::of(&Ok(answer.clone()));
        prop_assert!(
            violations.iter().all(|v| v.level != ecr_contract::oracle::Level::Must),
            "{}", show(&scenario.request, &raw, &violations)
        );
        if answer != before {
            prop_assert!(!violations.is_empty(), "{}", show(&scenario.request, &raw, &violations));
        }
    }
}

/// A translation is compared on every member the translation table defines: one that keeps
/// the stored manifest's own `mediaType` (or `schemaVersion`) breaks MAN-TRANSLATION, though
/// config and layers are right.
#[test]
fn a_translation_that_keeps_the_stored_inner_media_type_breaks_man_translation() {
    let (_, registry) = fixture_registry();
    let ids = vec![ImageIdentifier::tag("v2")];
    let request = request(ids, Some(vec![OCI.to_owned()]));
    let expected = batch_get_image(&registry, &request);
    let answer = expected.answer(&Default::default()).expect("an answer");
    let translated = answer.images.as_ref().expect("images")[0].clone();
    assert_eq!(translated.image_manifest_media_type.as_deref(), Some(OCI));
    assert!(judge(&registry, &request, &RawAnswer::of(&Ok(answer.clone()))).is_empty());
    for (member, value) in [
        ("mediaType", serde_json::json!(S2)),
        ("schemaVersion", serde_json::json!(1)),
    ] {
        let mut manifest: serde_json::Value =
            serde_json::from_str(translated.image_manifest.as_deref().expect("a manifest"))
                .expect("JSON");
        manifest[member] = value;
        let mut changed = answer.clone();
        let image = &mut changed.images.as_mut().expect("images")[0];
        let bytes = serde_json::to_string_pretty(&manifest).expect("JSON");
        image.image_id.as_mut().expect("an id").image_digest =
            Some(ecr_contract::model::ImageDigest::of(bytes.as_bytes()).to_string());
        image.image_manifest = Some(bytes);
        let found: Vec<String> = judge(&registry, &request, &RawAnswer::of(&Ok(changed)))
            .iter()
            .map(|v| format!("{} {}", v.rule, v.path))
            .collect();
        assert_eq!(
            found,
            [format!("MAN-TRANSLATION images[0].imageManifest.{member}")]
        );
    }
}

/// The coverage model (`oracle::coverage`, written beside the spec tables as data) and the
/// spec's tables written out here agree: every id form in every context falls in exactly one
/// row of section 4 and one of section 5 (when it names an image), and the section 4 row is
/// filed under the rule this file's table names for it.
#[test]
fn the_coverage_model_and_the_spec_tables_agree_on_every_id_and_context() {
    use ecr_contract::oracle::coverage::{ROWS, exercised_by_request};
    let (fixture, registry) = fixture_registry();
    let mut problems = Vec::new();
    for accepted in accepted_forms() {
        for id in id_forms(&fixture) {
            let request = request(vec![id.clone()], accepted.clone());
            let expected = batch_get_image(&registry, &request);
            let reached = exercised_by_request(&registry, &request, &expected);
            let keys = |prefix: &str| -> Vec<&str> {
                reached
                    .iter()
                    .map(|(k, _)| *k)
                    .filter(|k| k.starts_with(prefix))
                    .collect()
            };
            let table = acceptable(&registry, &request);
            let Some(rows) = &table.ids else {
                continue;
            };
            let row = &rows[0];
            let ids = keys("4.");
            let shown = serde_json::to_string(&request).unwrap_or_default();
            if ids.len() != 1 {
                problems.push(format!("{shown}: section 4 rows {ids:?}"));
                continue;
            }
            let names_image = row.answers.iter().any(|a| matches!(a, Answer::Entries(_)));
            if names_image && keys("5.").len() != 1 {
                problems.push(format!("{shown}: section 5 rows {:?}", keys("5.")));
            }
            let rule = ROWS
                .iter()
                .find(|r| r.key == ids[0])
                .map(|r| r.rule.as_str());
            // The hex-case row is a may of its own, and a wrong code for `Latest` is not the
            // case rule's (which judges an image) but "T absent"'s: the table names the rule of
            // such a wrong answer, the model the row's.
            let own_rule = !matches!(ids[0], "4.digest-hex-case" | "4.tag-case");
            if row.rule.starts_with("ID-") && own_rule && rule != Some(row.rule) {
                problems.push(format!(
                    "{shown}: {} is {rule:?}, the table says {}",
                    ids[0], row.rule
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// For every id form in every context of its row, a failure with a modelled code the row
/// does not list (where the row lets the id fail at all) is filed under a should or may rule,
/// never a must: the codes are should in every row of section 4.
#[test]
fn a_wrong_failure_code_for_any_id_in_any_context_is_never_a_must_violation() {
    use ecr_contract::model::{FAILURE_CODES, IdAnswer};
    let (fixture, registry) = fixture_registry();
    let mut problems = Vec::new();
    for accepted in accepted_forms() {
        for id in id_forms(&fixture) {
            let request = request(vec![id.clone()], accepted.clone());
            let expected = batch_get_image(&registry, &request);
            let Some(batch) = &expected.success else {
                continue;
            };
            let allowed = match &batch.ids[0].answer {
                IdAnswer::Fails(f) => &f.codes,
                IdAnswer::Found(image) => match &image.or_fails {
                    Some(alt) => &alt.codes,
                    None => continue,
                },
            };
            for code in FAILURE_CODES.iter().filter(|c| !allowed.contains(c)) {
                let answer = BatchGetImageResponse {
                    images: Some(vec![]),
                    failures: Some(vec![failure(&id, code)]),
                };
                let raw = RawAnswer::of(&Ok(answer));
                let violations = judge(&registry, &request, &raw);
                if violations.is_empty()
                    || violations
                        .iter()
                        .any(|v| v.level == ecr_contract::oracle::Level::Must)
                {
                    problems.push(show(&request, &raw, &violations));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
