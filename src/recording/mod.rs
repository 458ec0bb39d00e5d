//! Recordings: every exchange of a `check` run, kept so that the run can be replayed through
//! the model and the oracle without the server ([`replay()`]), and so that another server can
//! be held to it value by value ([`parity`]).
//!
//! A recording is a folder, meant to be committed:
//!
//! - `recording.json`: what the run was (seed, cases, the tool's and the contract's versions,
//!   the recorded server's verdict rule by rule) and the volatile fields a comparison skips;
//! - `exchanges.jsonl`: one exchange a line, in the order they completed;
//! - `bodies/<sha256>.gz`: bodies over [`INLINE_BODY_BYTES`], compressed.
//!
//! The run's prefix, the endpoint's URL and host and the registry's are written as
//! placeholders ([`Places`]), so a replay or another server can put its own in. Secrets are
//! never written: registry requests keep only the headers that shape an answer (never
//! `Authorization`), tokens and pre-signed URLs are replaced by their kind
//! ([`places::scrub_body`], [`places::scrub_header`]), and the run's [`Secrets`] go over every text last.
//!
//! Must not: judge an answer (the oracle does, on replay), or write a secret.

mod file;
pub mod parity;
pub mod places;
pub mod replay;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::remote::{Exchange, Fetched, Tap};
use crate::report::{Report, Secrets};

pub use file::RecordingError;
pub use parity::{ParityDifference, compare};
pub use places::Places;
pub use replay::{ReplayError, Replayed, replay, replay_recording};

/// Bodies longer than this are kept in `bodies/`, compressed, instead of in the line.
pub const INLINE_BODY_BYTES: usize = 64 * 1024;

/// The request headers a registry exchange keeps: those that shape the answer. Every other
/// header (`Authorization` first) is left out.
pub const KEPT_REGISTRY_HEADERS: [&str; 4] = ["accept", "content-type", "range", "content-range"];

/// What a recorded run was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The recording format (1).
    pub format: u32,
    /// The version of `ecr-contract` that recorded it.
    pub tool_version: String,
    /// The contract version it was judged against.
    pub contract_version: String,
    /// The run's seed: a replay draws the same plan from it.
    pub seed: u64,
    /// Random sequences in the run (a replay runs as many, drawn from the same seed).
    pub cases: u32,
    /// The run's prefix (a replay creates its repositories under the same one).
    pub prefix: String,
    /// The endpoint recorded, without query or user information.
    pub endpoint: String,
    /// The recorded server's verdict, rule by rule: `pass`, `fail` or `not_exercised`.
    pub verdict: BTreeMap<String, String>,
    /// What a comparison skips, for the reader: the header names and JSON members whose
    /// values change from run to run ([`places::VOLATILE_MEMBERS`], and every header but
    /// [`places::COMPARED_HEADERS`]).
    pub volatile: Vec<String>,
}

/// One request as sent, with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// An AWS JSON API call.
    Aws {
        /// The operation's name.
        operation: String,
        /// Whether it was signed (the ROBUST-AUTH probe sends some unsigned).
        signed: bool,
        /// The body.
        body: Vec<u8>,
    },
    /// A registry API request.
    Registry {
        /// The method.
        method: String,
        /// Path and query, from the registry's root.
        path: String,
        /// The kept headers ([`KEPT_REGISTRY_HEADERS`]), in the order sent.
        headers: Vec<(String, String)>,
    },
}

impl Request {
    /// What a replay and a comparison match requests on: everything the request says,
    /// nothing the transport adds (signatures, dates), and the ids a server hands out (pagination
    /// tokens, upload ids) as such
    /// ([`places::without_tokens`]).
    pub fn key(&self) -> String {
        match self {
            Self::Aws {
                operation,
                signed,
                body,
            } => format!(
                "{operation}{} {}",
                if *signed { "" } else { " (unsigned)" },
                places::without_tokens(&String::from_utf8_lossy(body))
            ),
            Self::Registry {
                method,
                path,
                headers,
            } => {
                let mut key = format!("{method} {}", places::without_tokens(path));
                for (name, value) in headers {
                    key.push_str(&format!(" {name}: {value}"));
                }
                key
            }
        }
    }
}

/// One answer as received, with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// When it was received (seconds since the epoch), for answers that state a time
    /// relative to their request (`expiresAt`): a replay moves such times by as long as has
    /// passed since.
    pub clock: Option<f64>,
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// One exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The request.
    pub request: Request,
    /// Its answer.
    pub answer: Answer,
}

/// A whole recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// What the run was.
    pub meta: Meta,
    /// Every exchange, in the order they completed.
    pub exchanges: Vec<Recorded>,
}

impl Recording {
    /// Reads the recording in `dir`.
    pub fn load(dir: &Path) -> Result<Self, RecordingError> {
        file::load(dir)
    }

    /// Writes the recording into `dir` (created if needed; its files replaced).
    pub fn save(&self, dir: &Path) -> Result<(), RecordingError> {
        file::save(self, dir)
    }
}

/// Gathers a run's exchanges as they complete: a [`Tap`] for [`crate::Suite::tap`].
#[derive(Debug)]
pub struct Recorder {
    places: Mutex<Places>,
    secrets: Secrets,
    exchanges: Mutex<Vec<Recorded>>,
}

impl Recorder {
    /// A recorder for a run against `endpoint` (and its registry API at `registry`, when
    /// elsewhere), redacting with the run's `secrets`.
    pub fn new(endpoint: &str, registry: Option<&str>, secrets: Secrets) -> Arc<Self> {
        Arc::new(Self {
            places: Mutex::new(Places::new(endpoint, registry)),
            secrets,
            exchanges: Mutex::new(Vec::new()),
        })
    }

    /// The recording of the run that produced `report`.
    pub fn finish(&self, report: &Report) -> Recording {
        let exchanges = self
            .exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let verdict = Self::verdict(report);
        Recording {
            meta: Meta {
                format: 1,
                tool_version: report.versions.tool_version.to_owned(),
                contract_version: report.versions.contract_version.to_owned(),
                seed: report.seed,
                cases: report.property_cases,
                prefix: report.prefix.clone(),
                endpoint: crate::remote::redact_url(&report.endpoint),
                verdict,
                volatile: places::volatile_names(),
            },
            exchanges: exchanges.into_iter().map(|e| self.scrubbed(e)).collect(),
        }
    }

    /// A report's verdict, rule by rule, as a recording keeps it.
    pub fn verdict(report: &Report) -> BTreeMap<String, String> {
        report
            .rules()
            .iter()
            .map(|r| (r.rule.to_string(), status_name(r.status).to_owned()))
            .collect()
    }

    /// `recorded` with every text the run's secrets redacted: the last net, after the
    /// structural scrub each exchange had as it was kept.
    fn scrubbed(&self, mut recorded: Recorded) -> Recorded {
        let redact = |bytes: &mut Vec<u8>| {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let clean = self.secrets.redact(text);
                if clean != text {
                    *bytes = clean.into_bytes();
                }
            }
        };
        match &mut recorded.request {
            Request::Aws { body, .. } => redact(body),
            Request::Registry { path, headers, .. } => {
                *path = self.secrets.redact(path);
                for (_, value) in headers.iter_mut() {
                    *value = self.secrets.redact(value);
                }
            }
        }
        for (_, value) in recorded.answer.headers.iter_mut() {
            *value = self.secrets.redact(value);
        }
        redact(&mut recorded.answer.body);
        recorded
    }

    fn keep(&self, request: Request, status: u16, headers: &http::HeaderMap, body: &[u8]) {
        let places = self.places.lock().unwrap_or_else(PoisonError::into_inner);
        let clock = String::from_utf8_lossy(body)
            .contains("\"expiresAt\"")
            .then(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            });
        let answer = Answer {
            clock,
            status,
            headers: headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes());
                    let value = places::scrub_header(name.as_str(), &places.out(&value));
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: places.out_bytes(&places::scrub_body(body)),
        };
        drop(places);
        self.exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Recorded { request, answer });
    }
}

impl Tap for Recorder {
    fn aws(&self, exchange: &Exchange, signed: bool) {
        let body = {
            let mut places = self.places.lock().unwrap_or_else(PoisonError::into_inner);
            places.learn_prefix(&exchange.request_body);
            places.out_bytes(&exchange.request_body)
        };
        let request = Request::Aws {
            operation: exchange.operation.name().to_owned(),
            signed,
            body,
        };
        self.keep(request, exchange.status, &exchange.headers, &exchange.body);
    }

    fn registry(&self, method: &str, url: &str, headers: &[(&str, String)], answer: &Fetched) {
        let request = {
            let mut places = self.places.lock().unwrap_or_else(PoisonError::into_inner);
            places.learn_prefix(url.as_bytes());
            Request::Registry {
                method: method.to_owned(),
                path: places.out(&places::path_of(url)),
                headers: kept_headers(headers.iter().map(|(n, v)| (*n, v.as_str()))),
            }
        };
        self.keep(request, answer.status, &answer.headers, &answer.body);
    }
}

/// The [`KEPT_REGISTRY_HEADERS`] of `headers`, names in lower case, in order; `Accept: */*`,
/// which the HTTP client sends when a request names no type, is the same as none.
pub fn kept_headers<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    headers
        .filter(|(name, value)| {
            KEPT_REGISTRY_HEADERS
                .iter()
                .any(|kept| name.eq_ignore_ascii_case(kept))
                && !(name.eq_ignore_ascii_case("accept") && value.trim() == "*/*")
        })
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect()
}

fn status_name(status: crate::report::Status) -> &'static str {
    match status {
        crate::report::Status::Pass => "pass",
        crate::report::Status::Fail => "fail",
        crate::report::Status::NotExercised => "not_exercised",
    }
}

/// Runs `suite` with `recording`'s seed and number of sequences, records it, and holds its
/// answers to the recorded ones: the report's [`parity`](Report::parity) section says where
/// they differ, beside the contract verdict.
pub async fn against(
    suite: crate::Suite,
    recording: &Recording,
) -> Result<Report, crate::check::CheckError> {
    let cases = recording.meta.cases;
    let recorder = Recorder::new(suite.url(), suite.registry(), suite.secrets());
    let mut report = suite
        .seed(recording.meta.seed)
        .cases(cases)
        .tap(Arc::clone(&recorder) as Arc<dyn Tap>)
        .run()
        .await?;
    let live = recorder.finish(&report);
    report.parity = Some(compare(recording, &live));
    Ok(report)
}

/// Runs `suite` and records it: the report, and the recording to [`save`](Recording::save).
pub async fn record(suite: crate::Suite) -> Result<(Report, Recording), crate::check::CheckError> {
    let recorder = Recorder::new(suite.url(), suite.registry(), suite.secrets());
    let report = suite
        .tap(Arc::clone(&recorder) as Arc<dyn Tap>)
        .run()
        .await?;
    let recording = recorder.finish(&report);
    Ok((report, recording))
}
