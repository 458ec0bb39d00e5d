//! Holding a run to a recording: each request of the run is paired with the recorded request
//! that says the same ([`Request::key`], in order among equal ones), and their answers are
//! compared value by value outside the volatile fields ([`VOLATILE_MEMBERS`],
//! [`COMPARED_HEADERS`]). Each difference is filed under the rule that governs its place
//! (`oracle::aws_parity_rule`, `oracle::registry_parity_rule`).

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use super::places::{COMPARED_HEADERS, PREFIX, VOLATILE_MEMBERS, without_tokens};
use super::{Answer, Recording, Request};
use crate::oracle::{Place, RuleId, aws_parity_rule, registry_parity_rule};
pub use crate::report::ParityDifference;

/// The most differences one pair of answers contributes.
const MAX_PER_ANSWER: usize = 20;

/// Where `live`'s answers differ from `recorded`'s, request by request.
pub fn compare(recorded: &Recording, live: &Recording) -> Vec<ParityDifference> {
    let mut queues: HashMap<String, VecDeque<&Answer>> = HashMap::new();
    for r in &recorded.exchanges {
        queues
            .entry(r.request.key())
            .or_default()
            .push_back(&r.answer);
    }
    let mut differences = Vec::new();
    for exchange in &live.exchanges {
        let key = exchange.request.key();
        match queues.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(answer) => {
                differences.extend(answers(&exchange.request, answer, &exchange.answer))
            }
            None => differences.push(unmatched(
                &key,
                "(not in the recording)",
                &summary(&exchange.answer),
            )),
        }
    }
    let mut left: Vec<(&String, &VecDeque<&Answer>)> =
        queues.iter().filter(|(_, q)| !q.is_empty()).collect();
    left.sort_by_key(|(key, _)| *key);
    for (key, queue) in left {
        for answer in queue {
            differences.push(unmatched(key, &summary(answer), "(not sent)"));
        }
    }
    differences
}

fn unmatched(key: &str, recorded: &str, found: &str) -> ParityDifference {
    ParityDifference {
        rule: None,
        request: key.to_owned(),
        place: "request".into(),
        recorded: recorded.to_owned(),
        found: found.to_owned(),
    }
}

fn summary(answer: &Answer) -> String {
    format!(
        "HTTP {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    )
}

/// The differences between two answers to `request`.
fn answers(request: &Request, recorded: &Answer, found: &Answer) -> Vec<ParityDifference> {
    let rule = |place: Place<'_>| -> Option<RuleId> {
        match request {
            Request::Aws {
                operation, body, ..
            } => aws_parity_rule(operation, body, place),
            Request::Registry { path, .. } => registry_parity_rule(path, place),
        }
    };
    let key = request.key();
    let mut out = Vec::new();
    let mut differ = |place: Place<'_>, name: String, a: String, b: String| {
        out.push(ParityDifference {
            rule: rule(place),
            request: key.clone(),
            place: name,
            recorded: a,
            found: b,
        });
    };
    if recorded.status != found.status {
        // Answers of different statuses differ in everything else as a consequence: the
        // status is the difference, shown with both bodies.
        differ(
            Place::Status,
            "status".into(),
            summary(recorded),
            summary(found),
        );
        return out;
    }
    // A schema 1 manifest is signed with the server's own key when it is served, and names
    // its repository, so the run's prefix: its signatures, and its digest, differ from run to
    // run and from server to server.
    let signed_manifest = header(recorded, "content-type").contains("prettyjws");
    let names_the_run = names_the_run(&recorded.body) || names_the_run(&found.body);
    for name in COMPARED_HEADERS {
        if (signed_manifest || names_the_run) && name == "docker-content-digest" {
            continue;
        }
        let (a, b) = (header(recorded, name), header(found, name));
        let (a, b) = (without_tokens(&a), without_tokens(&b));
        if a != b {
            differ(Place::Header(name), format!("header {name}"), a, b);
        }
    }
    let head = matches!(request, Request::Registry { method, .. } if method == "HEAD");
    if !head {
        match (
            serde_json::from_slice::<Value>(&recorded.body),
            serde_json::from_slice::<Value>(&found.body),
        ) {
            (Ok(mut a), Ok(mut b)) => {
                forget_run_specific_digests(&mut a);
                forget_run_specific_digests(&mut b);
                let mut found_here = Vec::new();
                if let Some((code, was, now, _)) = moved_between_lists(&mut a, &mut b) {
                    differ(
                        Place::ImageOrFailure(&code),
                        "$.images+failures".into(),
                        was,
                        now,
                    );
                }
                let skip: &[&str] = if signed_manifest {
                    &["signatures"]
                } else {
                    &[]
                };
                values("$", &a, &b, skip, &mut found_here);
                for (path, only, a, b) in found_here.into_iter().take(MAX_PER_ANSWER) {
                    let place = if only {
                        Place::OnlyInOne(&path)
                    } else {
                        Place::Member(&path)
                    };
                    differ(place, path.clone(), a, b);
                }
            }
            _ if recorded.body != found.body => differ(
                Place::Member("$"),
                "body".into(),
                String::from_utf8_lossy(&recorded.body).into_owned(),
                String::from_utf8_lossy(&found.body).into_owned(),
            ),
            _ => {}
        }
    }
    out
}

/// When an answer has both fewer images and more failures than the other, or the reverse, an
/// id was answered the other way (an image against a failure): one difference, at
/// `$.images+failures`, with the code of the failure only one side has (the lists are then
/// not compared item by item).
fn moved_between_lists(a: &mut Value, b: &mut Value) -> Option<(String, String, String, String)> {
    let list = |v: &Value, name: &str| v.get(name).and_then(Value::as_array).cloned();
    let (ai, af) = (list(a, "images")?, list(a, "failures")?);
    let (bi, bf) = (list(b, "images")?, list(b, "failures")?);
    if ai.len() == bi.len()
        || af.len() == bf.len()
        || (ai.len() < bi.len()) == (af.len() < bf.len())
    {
        return None;
    }
    let (more, fewer) = if af.len() > bf.len() {
        (&af, &bf)
    } else {
        (&bf, &af)
    };
    let code = |f: &Value| f["failureCode"].as_str().unwrap_or_default().to_owned();
    let new_code = more
        .iter()
        .map(code)
        .find(|c| !fewer.iter().any(|f| code(f) == *c))
        .unwrap_or_else(|| more.first().map(code).unwrap_or_default());
    let shown = |i: usize, f: usize| format!("{i} image(s), {f} failure(s)");
    let difference = (
        new_code,
        shown(ai.len(), af.len()),
        shown(bi.len(), bf.len()),
        String::new(),
    );
    for v in [a, b] {
        if let Some(members) = v.as_object_mut() {
            members.remove("images");
            members.remove("failures");
        }
    }
    Some(difference)
}

/// Whether a manifest's bytes name the run (its repository, under the run's prefix), so that
/// their digest differs from run to run.
fn names_the_run(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).contains(PREFIX)
}

/// Removes the `imageId.imageDigest` of every image whose manifest names the run (a
/// translation to schema 1 names the repository): a digest of bytes that differ from run to
/// run.
fn forget_run_specific_digests(value: &mut Value) {
    match value {
        Value::Object(members) => {
            let manifest = members.get("imageManifest").and_then(Value::as_str);
            if manifest.is_some_and(|m| m.contains(PREFIX))
                && let Some(Value::Object(id)) = members.get_mut("imageId")
            {
                id.remove("imageDigest");
            }
            members.values_mut().for_each(forget_run_specific_digests);
        }
        Value::Array(items) => items.iter_mut().for_each(forget_run_specific_digests),
        _ => {}
    }
}

fn header(answer: &Answer, name: &str) -> String {
    answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds to `out` each place where `a` and `b` differ: `(path, present in one only, a, b)`.
/// Volatile members are skipped; arrays are compared as multisets (their order means nothing
/// in these answers), then element by element in a canonical order.
fn values(
    path: &str,
    a: &Value,
    b: &Value,
    skip: &[&str],
    out: &mut Vec<(String, bool, String, String)>,
) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut names: Vec<&String> = x.keys().chain(y.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                if VOLATILE_MEMBERS.contains(&name.as_str()) || skip.contains(&name.as_str()) {
                    continue;
                }
                let here = format!("{path}.{name}");
                match (x.get(name), y.get(name)) {
                    (Some(p), Some(q)) => values(&here, p, q, skip, out),
                    (p, q) => out.push((here, true, shown(p), shown(q))),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let (x, y) = (canonical_order(x), canonical_order(y));
            if x.len() != y.len() {
                // Items of lists of different lengths do not pair: the length is the
                // difference.
                out.push((
                    path.to_owned(),
                    false,
                    format!("{} item(s)", x.len()),
                    format!("{} item(s)", y.len()),
                ));
                return;
            }
            for (i, (p, q)) in x.iter().zip(&y).enumerate() {
                values(&format!("{path}[{i}]"), p, q, skip, out);
            }
        }
        _ if a != b => out.push((path.to_owned(), false, a.to_string(), b.to_string())),
        _ => {}
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".into(), ToString::to_string)
}

/// `items` sorted by their text without volatile members, so that two lists holding the same
/// items in another order pair item with item. An image is sorted by its manifest first: two
/// conforming servers may name one image by other ids (ID-BY-DIGEST lets a by-digest answer
/// carry the image's tags), and sorting by the id would pair a request's stored manifest with
/// another id's translation of it, a difference under the wrong rule.
fn canonical_order(items: &[Value]) -> Vec<Value> {
    let key = |item: &Value| {
        let bare = without_volatile(item);
        match bare.get("imageManifest") {
            Some(manifest) => format!("{manifest}{bare}"),
            None => bare.to_string(),
        }
    };
    let mut keyed: Vec<(String, Value)> =
        items.iter().map(|item| (key(item), item.clone())).collect();
    keyed.sort_by(|p, q| p.0.cmp(&q.0));
    keyed.into_iter().map(|(_, item)| item).collect()
}

fn without_volatile(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(k, _)| !VOLATILE_MEMBERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_volatile(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_volatile).collect()),
        other => other.clone(),
    }
}
