//! Replaying a recording: a loopback server answers each request with the recorded answer to
//! the same request, and the same run (seed, cases) goes through it, so that the model and
//! the oracle judge the recorded answers as they judged them live. A recording of a
//! conforming server must replay with the same verdict, rule by rule; one edited to hold a
//! non-conforming answer fails under that answer's rule.
//!
//! Requests are matched on [`Request::key`]; answers to the same request come in the order
//! recorded. The run's prefix and the server's URL are put back into each answer
//! ([`Places::back`]).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, to_bytes};
use axum::extract::{Request as HttpRequest, State};
use axum::response::Response;
use tokio::net::TcpListener;

use super::places::Places;
use super::{Answer, Recording, RecordingError, Request, kept_headers};
use crate::Suite;
use crate::check::CheckError;
use crate::report::Report;

/// The largest request body the replay server reads (a little over the largest PutImage a
/// run sends).
const MAX_REPLAYED_REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// Why a recording could not be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The recording could not be read.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// The replay server could not listen.
    #[error("replay server: {0}")]
    Listen(std::io::Error),
    /// The run could not work against the replay server.
    #[error(transparent)]
    Check(#[from] CheckError),
}

/// What a replay gave.
#[derive(Debug)]
pub struct Replayed {
    /// The report of the run against the recorded answers.
    pub report: Report,
    /// Requests the run sent that the recording holds no answer to (each answered with a
    /// 500): a replay is exact only when this is empty.
    pub misses: Vec<String>,
    /// Recorded exchanges the run never asked for.
    pub unused: usize,
}

impl Replayed {
    /// Rules whose verdict differs from the recorded one: `(rule, recorded, replayed)`.
    pub fn verdict_changes(&self, recording: &Recording) -> Vec<(String, String, String)> {
        let replayed = super::Recorder::verdict(&self.report);
        recording
            .meta
            .verdict
            .iter()
            .filter_map(|(rule, recorded)| {
                let now = replayed
                    .get(rule)
                    .cloned()
                    .unwrap_or_else(|| "absent".into());
                (now != *recorded).then(|| (rule.clone(), recorded.clone(), now))
            })
            .collect()
    }
}

#[derive(Debug)]
struct Replay {
    answers: HashMap<String, VecDeque<Answer>>,
    places: Places,
    misses: Vec<String>,
}

/// Replays the recording in `dir`: the same run against its recorded answers.
pub async fn replay(dir: &Path) -> Result<(Recording, Replayed), ReplayError> {
    let recording = Recording::load(dir)?;
    let replayed = replay_recording(&recording).await?;
    Ok((recording, replayed))
}

/// Replays `recording` (see [`replay`]).
pub async fn replay_recording(recording: &Recording) -> Result<Replayed, ReplayError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(ReplayError::Listen)?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(ReplayError::Listen)?
    );
    let mut answers: HashMap<String, VecDeque<Answer>> = HashMap::new();
    for recorded in &recording.exchanges {
        answers
            .entry(recorded.request.key())
            .or_default()
            .push_back(recorded.answer.clone());
    }
    let state = Arc::new(Mutex::new(Replay {
        answers,
        places: Places::new(&url, None),
        misses: Vec::new(),
    }));
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(Arc::clone(&state));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    let run = Suite::new(&url)
        .seed(recording.meta.seed)
        .cases(recording.meta.cases)
        .prefix(&recording.meta.prefix)
        .run()
        .await;
    let _ = stop.send(());
    let _ = server.await;
    let report = run?;
    let replay = state.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Replayed {
        report,
        misses: replay.misses.clone(),
        unused: replay.answers.values().map(VecDeque::len).sum(),
    })
}

async fn answer(State(replay): State<Arc<Mutex<Replay>>>, request: HttpRequest) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_REPLAYED_REQUEST_BYTES).await else {
        return plain(413, "request body over the replay server's bound");
    };
    let mut replay = replay.lock().unwrap_or_else(PoisonError::into_inner);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    replay.places.learn_prefix(path.as_bytes());
    replay.places.learn_prefix(&body);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit_once('.'))
        .map(|(_, operation)| operation.to_owned());
    let request = match target {
        Some(operation) => Request::Aws {
            operation,
            signed: parts.headers.contains_key(http::header::AUTHORIZATION),
            body: replay.places.out_bytes(&body),
        },
        None => Request::Registry {
            method: parts.method.as_str().to_owned(),
            path: replay.places.out(path),
            headers: kept_headers(
                parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))),
            ),
        },
    };
    let key = request.key();
    let Some(recorded) = replay.answers.get_mut(&key).and_then(VecDeque::pop_front) else {
        let shown: String = key.chars().take(300).collect();
        replay.misses.push(shown);
        return plain(500, "the recording holds no answer to this request");
    };
    let head = parts.method == http::Method::HEAD;
    let mut response = Response::builder().status(recorded.status);
    for (name, value) in &recorded.headers {
        // Lengths are the body's as replayed (placeholders put back), except a HEAD's, which
        // states the length of a body never sent.
        let framing = [
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
        ];
        if framing.contains(&name.as_str()) && !(head && name == "content-length") {
            continue;
        }
        response = response.header(name.as_str(), replay.places.back(value));
    }
    let body = if head {
        Vec::new()
    } else {
        let body = replay.places.back_bytes(&recorded.body);
        match recorded.clock {
            Some(clock) => moved_in_time(&body, now() - clock),
            None => body,
        }
    };
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| plain(500, "a recorded answer that is not a valid HTTP answer"))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `body` with every `expiresAt` later by `seconds`: a token recorded to expire in 12 hours
/// expires 12 hours after the replayed request.
fn moved_in_time(body: &[u8], seconds: f64) -> Vec<u8> {
    fn walk(value: &mut serde_json::Value, seconds: f64) {
        match value {
            serde_json::Value::Object(members) => {
                for (name, member) in members.iter_mut() {
                    match member.as_f64() {
                        Some(at) if name == "expiresAt" => {
                            *member = serde_json::json!((at + seconds).round());
                        }
                        _ => walk(member, seconds),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, seconds)),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            walk(&mut value, seconds);
            serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
        }
        Err(_) => body.to_vec(),
    }
}

fn plain(status: u16, message: &str) -> Response {
    let body = serde_json::json!({"__type": "ServerException", "message": message}).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body))
        .unwrap_or_default()
}
