//! The runner of the contract cases (`tests/cases/*.json`, see
//! `ecr_contract::strategy::cases` for the format): [`check_case`] checks one against the model
//! and the oracle.

use ecr_contract::model::{
    Expected, ExpectedFailure, IdAnswer, ManifestRule, Registry, TagRule, batch_get_image_body,
};
use ecr_contract::oracle::{Level, RuleId, Violation, check, check_in};
use ecr_contract::strategy::Fixture;
use ecr_contract::strategy::cases::{self, Case, CaseFile, Step, expand};
use serde_json::{Value, json};

use super::{all_profiles, fixture_registry};
use ecr_contract::fuzzing::mutate::{RawAnswer, mutate};

/// Loads a case file embedded in the library.
pub fn load(file: &str) -> CaseFile {
    cases::file(file).unwrap_or_else(|| panic!("no case file {file}"))
}

/// Runs every case of a file, reporting every failing case at once.
pub fn check_file(file: &str) -> usize {
    let cases = load(file);
    let failures: Vec<String> = cases
        .cases
        .iter()
        .filter_map(|c| check_case(c).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases in {file} fail:\n\n{}",
        failures.len(),
        cases.cases.len(),
        failures.join("\n\n")
    );
    cases.cases.len()
}

/// Runs one case: setup, the model's expectation, every profile's answer, the mutations.
pub fn check_case(case: &Case) -> Result<(), String> {
    let fail = |what: String| format!("case {} ({}): {what}", case.name, case.row);
    let (fixture, mut registry) = fixture_registry();
    registry.require_blobs = case.require_blobs;
    for (i, step) in case.setup.iter().enumerate() {
        run_step(&mut registry, step, &fixture)
            .map_err(|e| fail(format!("setup step {i}: {e}")))?;
    }
    let body = match expand(&case.request, &fixture) {
        Value::String(raw) => raw.into_bytes(),
        request => serde_json::to_vec(&request).map_err(|e| fail(e.to_string()))?,
    };
    let expected = batch_get_image_body(&registry, &body);
    let summary = summarize(&expected, &fixture);
    let want = expand(&case.expect, &fixture);
    if summary != want {
        return Err(fail(format!(
            "the model expects\n{summary:#}\nbut the case says\n{want:#}"
        )));
    }
    let context = case
        .context
        .as_deref()
        .map(|c| RuleId::parse(c).ok_or_else(|| fail(format!("unknown rule {c}"))))
        .transpose()?;
    let judge = |raw: &RawAnswer| -> Vec<Violation> {
        let observed = raw.observe();
        match context {
            Some(rule) => check_in(rule, &expected, &observed),
            None => check(&expected, &observed),
        }
    };
    for profile in all_profiles() {
        let violations = judge(&RawAnswer::of(&expected.answer(&profile)));
        if !violations.is_empty() {
            return Err(fail(format!(
                "the answer of {profile:?} is refused: {}",
                show(&violations)
            )));
        }
    }
    let default = RawAnswer::of(&expected.answer(&Default::default()));
    let requested: Vec<Value> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|r| r.get("imageIds").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    for spec in &case.accept {
        let violations: Vec<Violation> = judge(&mutate(&default, spec, &fixture, &requested))
            .into_iter()
            .filter(|v| v.fails_at(Level::Should))
            .collect();
        if !violations.is_empty() {
            return Err(fail(format!(
                "acceptable mutation {spec} is refused: {}",
                show(&violations)
            )));
        }
    }
    if case.breaks.is_empty() {
        return Err(fail("no broken answer to check".into()));
    }
    for (spec, rules) in &case.breaks {
        let violations = judge(&mutate(&default, spec, &fixture, &requested));
        for rule in rules.rules() {
            if !violations.iter().any(|v| v.rule.as_str() == rule) {
                return Err(fail(format!(
                    "mutation {spec} should break {rule}; found: {}",
                    show(&violations)
                )));
            }
        }
    }
    Ok(())
}

fn run_step(registry: &mut Registry, step: &Step, fixture: &Fixture) -> Result<(), String> {
    let call = step.to_call(fixture)?;
    let answer = registry
        .apply(&call, 1_800_000_000.0)
        .map(|out| serde_json::to_value(out).unwrap_or_default());
    match (answer, &step.error) {
        (Ok(out), None) => match &step.output {
            Some(want) => contains(&out, &expand(want, fixture)),
            None => Ok(()),
        },
        (Err(e), Some(want)) if e.code == want => Ok(()),
        (Ok(out), Some(want)) => Err(format!(
            "{} should fail with {want}, answered {out}",
            step.call
        )),
        (Err(e), _) => Err(format!("{} failed: {e}", step.call)),
    }
}

/// Whether `have` has every member of `want` with the same value, recursively.
fn contains(have: &Value, want: &Value) -> Result<(), String> {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().try_for_each(|(k, v)| {
            contains(
                h.get(k)
                    .ok_or_else(|| format!("output has no member {k}"))?,
                v,
            )
            .map_err(|e| format!("{k}: {e}"))
        }),
        (Value::Array(h), Value::Array(w)) if h.len() == w.len() => h
            .iter()
            .zip(w)
            .enumerate()
            .try_for_each(|(i, (h, w))| contains(h, w).map_err(|e| format!("[{i}]: {e}"))),
        _ if have == want => Ok(()),
        _ => Err(format!("output has {have}, not {want}")),
    }
}

fn show(violations: &[Violation]) -> String {
    if violations.is_empty() {
        return "no violation".into();
    }
    violations.iter().map(|v| format!("\n  - {v}")).collect()
}

/// The model's expectation in the cases' summary form.
pub fn summarize(expected: &Expected, fixture: &Fixture) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(e) = &expected.error {
        out.insert("error".into(), json!(e.codes));
    }
    if let Some(batch) = &expected.success {
        let ids: Vec<Value> = batch
            .ids
            .iter()
            .map(|id| summarize_id(&id.answer, fixture))
            .collect();
        out.insert("ids".into(), Value::Array(ids));
    }
    Value::Object(out)
}

fn summarize_id(answer: &IdAnswer, fixture: &Fixture) -> Value {
    match answer {
        IdAnswer::Fails(f) => json!({"fails": f.codes}),
        IdAnswer::Found(e) => {
            let name = fixture
                .images
                .iter()
                .find(|i| i.digest == e.stored.digest.as_str())
                .map(|i| i.name.to_owned());
            let mut out = json!({"image": name.unwrap_or_else(|| e.stored.digest.to_string())});
            out["tags"] = match &e.tags {
                TagRule::Exactly(t) => json!(t),
                TagRule::AbsentOrAnyOf(tags) => json!(tags),
            };
            let manifest = manifest_options(&e.manifest, e.or_fails.as_ref());
            if manifest != "stored" {
                out["manifest"] = json!(manifest);
            }
            out
        }
    }
}

/// `stored`, `S1`, `stored|OCI|fail`, ...: the acceptable manifests and whether it may fail.
fn manifest_options(rule: &ManifestRule, or_fails: Option<&ExpectedFailure>) -> String {
    let mut options: Vec<String> = Vec::new();
    if rule.as_stored {
        options.push("stored".into());
    }
    options.extend(
        rule.translations
            .iter()
            .map(|f| format!("{f:?}").to_uppercase()),
    );
    if or_fails.is_some() {
        options.push("fail".into());
    }
    options.join("|")
}
