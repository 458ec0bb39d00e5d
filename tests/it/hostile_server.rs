//! `check` against hostile servers on loopback: redirects of the AWS JSON API (judged, never
//! followed), registry API redirects (followed as a pull client does, without the
//! credentials), answers over their operation's bound, a member flood, a body that never
//! ends, and pre-signed URLs that must not reach an error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use ecr_contract::oracle::RuleId;
use ecr_contract::remote::{
    HttpTarget, MAX_REDIRECTS, ONE_MANIFEST_ANSWER_BYTES, REGISTRY_ANSWER_BYTES,
    SMALL_ANSWER_BYTES, TransportError,
};
use ecr_contract::report::to_text;
use ecr_contract::serve::Endpoint;
use ecr_contract::wire::{self, Credentials, MAX_ISSUES, Operation};
use http::HeaderMap;

use crate::support::broken::reference_config;
use crate::support::{suite, tempdir};

/// A request as a listener saw it.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    /// Whether it is a call of the AWS JSON API `operation`.
    fn is(&self, operation: Operation) -> bool {
        self.headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.ends_with(&format!(".{}", operation.name())))
    }
}

type Answer = dyn Fn(&Seen) -> Option<Response> + Send + Sync;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    answer: Box<Answer>,
    endpoint: Option<Endpoint>,
}

/// A server on 127.0.0.1 that records every request and answers with `answer`, else with
/// `endpoint` (the reference model), else `200 ok`.
struct Listener {
    url: String,
    shared: Arc<Shared>,
}

impl Listener {
    async fn start(
        endpoint: Option<Endpoint>,
        answer: impl Fn(&Seen) -> Option<Response> + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            seen: Mutex::new(Vec::new()),
            answer: Box::new(answer),
            endpoint,
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, shared }
    }

    /// Every request it saw.
    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("not poisoned").clone()
    }
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let seen = Seen {
        uri: parts.uri.to_string(),
        headers: parts.headers,
        body: body.to_vec(),
    };
    shared.seen.lock().expect("not poisoned").push(seen.clone());
    if let Some(answer) = (shared.answer)(&seen) {
        return answer;
    }
    let Some(endpoint) = &shared.endpoint else {
        return Response::new(Body::from("ok"));
    };
    let reply = endpoint.handle(parts.method.as_str(), &seen.uri, &seen.headers, &seen.body);
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value.as_str());
    }
    response.body(Body::from(reply.body)).expect("a response")
}

fn redirect(status: u16, location: &str) -> Response {
    Response::builder()
        .status(status)
        .header("location", location)
        .body(Body::empty())
        .expect("a response")
}

fn json(body: Vec<u8>) -> Response {
    Response::builder()
        .header("content-type", wire::CONTENT_TYPE)
        .body(Body::from(body))
        .expect("a response")
}

/// A body of `len` bytes, streamed in chunks of 64 KiB without a `Content-Length`.
fn streamed(len: usize) -> Response {
    let chunks = (0..len.div_ceil(1 << 16)).map(move |i| {
        let size = (len - i * (1 << 16)).min(1 << 16);
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; size]))
    });
    Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
}

fn target(url: &str) -> HttpTarget {
    HttpTarget::new(url, "us-east-1", None, Duration::from_secs(10)).expect("a target")
}

/// Credentials with a session token, and the reference endpoint verifying them.
fn token_world() -> (Credentials, Endpoint) {
    let credentials = Credentials::new(
        "AKIDHOSTILETEST",
        "hostile-secret-not-real",
        Some("hostile-session-token-not-real".into()),
    );
    let mut config = reference_config();
    config.verify_signatures = Some(credentials.clone());
    (credentials, config.endpoint())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_api_redirects_are_judged_under_wire_status_and_never_followed() {
    for status in [301, 302, 307] {
        let elsewhere = Listener::start(None, |_| None).await;
        let location = format!(
            "{}/latest/meta-data/iam/security-credentials/",
            elsewhere.url
        );
        let (credentials, endpoint) = token_world();
        let server = Listener::start(Some(endpoint), move |seen| {
            seen.is(Operation::BatchGetImage)
                .then(|| redirect(status, &location))
        })
        .await;
        let dir = tempdir();
        let report = suite(&server.url, 0, &dir.join(format!("redirect-{status}.tsv")))
            .credentials(credentials)
            .run()
            .await
            .expect("a verdict");
        assert!(
            elsewhere.seen().is_empty(),
            "HTTP {status}: the redirect was followed"
        );
        let judged = report.findings.iter().any(|f| {
            f.violation.rule == RuleId::WireStatus && f.violation.found == format!("HTTP {status}")
        });
        assert!(judged, "HTTP {status}:\n{}", to_text(&report));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_while_seeding_is_a_setup_divergence_not_a_harness_error() {
    let elsewhere = Listener::start(None, |_| None).await;
    let location = format!("{}/put", elsewhere.url);
    let server = Listener::start(Some(reference_config().endpoint()), move |seen| {
        seen.is(Operation::PutImage)
            .then(|| redirect(307, &location))
    })
    .await;
    let dir = tempdir();
    let report = suite(&server.url, 0, &dir.join("seeding.tsv"))
        .run()
        .await
        .expect("a verdict, not a harness error");
    assert!(
        elsewhere.seen().is_empty(),
        "the signed PutImage was re-sent"
    );
    assert!(
        report
            .setup_divergences
            .iter()
            .any(|d| d.call == "PutImage" && d.found == "HTTP 307"),
        "{}",
        to_text(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_redirects_never_carry_the_authorization_header() {
    let elsewhere = Listener::start(None, |_| None).await;
    let storage = format!("{}/blob?X-Amz-Signature=f00d", elsewhere.url);
    let server = Listener::start(None, move |seen| match seen.uri.as_str() {
        "/v2/a/blobs/cross-host" => Some(redirect(307, &storage)),
        "/v2/a/blobs/same-host" => Some(redirect(307, "/storage/blob")),
        _ => None,
    })
    .await;
    let target = target(&server.url);
    for path in ["cross-host", "same-host"] {
        let url = format!("{}/v2/a/blobs/{path}", server.url);
        let auth = [("authorization", "Basic QVdTOnNlY3JldA==".to_owned())];
        let fetched = target.fetch("GET", &url, &auth).await.expect("followed");
        assert_eq!((fetched.status, fetched.body.as_slice()), (200, &b"ok"[..]));
        assert_eq!(fetched.request, format!("GET {url}"));
    }
    let seen: Vec<Seen> = server.seen().into_iter().chain(elsewhere.seen()).collect();
    let (asked, redirected): (Vec<&Seen>, Vec<&Seen>) =
        seen.iter().partition(|s| s.uri.starts_with("/v2/"));
    assert_eq!((asked.len(), redirected.len()), (2, 2));
    assert!(
        asked
            .iter()
            .all(|s| s.headers.contains_key("authorization"))
    );
    for hop in redirected {
        assert!(
            !hop.headers.contains_key("authorization"),
            "{} got the credentials",
            hop.uri
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_redirects_are_followed_for_at_most_max_redirects_hops() {
    // `/hop/n` redirects to `/hop/n-1`; `/hop/0` answers.
    let server = Listener::start(None, |seen| {
        let n: usize = seen.uri.strip_prefix("/hop/")?.parse().ok()?;
        (n > 0).then(|| redirect(302, &format!("/hop/{}", n - 1)))
    })
    .await;
    let target = target(&server.url);
    let at = format!("{}/hop/{MAX_REDIRECTS}", server.url);
    let fetched = target.fetch("GET", &at, &[]).await.expect("followed");
    assert_eq!(fetched.status, 200);
    let past = format!("{}/hop/{}", server.url, MAX_REDIRECTS + 1);
    let error = target.fetch("GET", &past, &[]).await.expect_err("refused");
    assert!(matches!(error, TransportError::Redirect { .. }), "{error}");
    assert!(
        error.to_string().contains("more than 10 redirects"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_its_operations_bound_is_refused_and_one_at_it_is_read() {
    let size = Arc::new(AtomicUsize::new(0));
    let stream = Arc::new(AtomicBool::new(false));
    let (s, st) = (Arc::clone(&size), Arc::clone(&stream));
    let server = Listener::start(None, move |_| {
        let len = s.load(Ordering::SeqCst);
        Some(match st.load(Ordering::SeqCst) {
            true => streamed(len),
            false => json(vec![b' '; len]),
        })
    })
    .await;
    let target = target(&server.url);
    let send = |operation| target.send(operation, b"{}".to_vec());
    for streaming in [false, true] {
        stream.store(streaming, Ordering::SeqCst);
        size.store(SMALL_ANSWER_BYTES, Ordering::SeqCst);
        let at = send(Operation::CreateRepository)
            .await
            .expect("at the bound");
        assert_eq!(at.body.len(), SMALL_ANSWER_BYTES);
        size.store(SMALL_ANSWER_BYTES + 1, Ordering::SeqCst);
        let past = send(Operation::CreateRepository)
            .await
            .expect_err("past it");
        assert!(
            matches!(past, TransportError::TooLarge { operation: "CreateRepository", limit } if limit == SMALL_ANSWER_BYTES),
            "streamed {streaming}: {past}"
        );
        // BatchGetImage may answer 100 manifests: far more.
        let batch = send(Operation::BatchGetImage)
            .await
            .expect("within its bound");
        assert_eq!(batch.body.len(), SMALL_ANSWER_BYTES + 1);
        let url = format!("{}/v2/a/manifests/v1", server.url);
        size.store(REGISTRY_ANSWER_BYTES, Ordering::SeqCst);
        let at = target.fetch("GET", &url, &[]).await.expect("at the bound");
        assert_eq!(at.body.len(), REGISTRY_ANSWER_BYTES);
        size.store(REGISTRY_ANSWER_BYTES + 1, Ordering::SeqCst);
        let past = target.fetch("GET", &url, &[]).await.expect_err("past it");
        assert!(matches!(past, TransportError::TooLarge { .. }), "{past}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_get_image_answer_is_bounded_by_the_ids_it_asks_for() {
    let size = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&size);
    let server = Listener::start(None, move |_| {
        Some(json(vec![b' '; s.load(Ordering::SeqCst)]))
    })
    .await;
    let target = target(&server.url);
    let one_id = br#"{"repositoryName":"a","imageIds":[{"imageTag":"v1"}]}"#.to_vec();
    size.store(ONE_MANIFEST_ANSWER_BYTES, Ordering::SeqCst);
    let at = target
        .send(Operation::BatchGetImage, one_id.clone())
        .await
        .expect("one manifest's worth");
    assert_eq!(at.body.len(), ONE_MANIFEST_ANSWER_BYTES);
    size.store(ONE_MANIFEST_ANSWER_BYTES + 1, Ordering::SeqCst);
    let past = target
        .send(Operation::BatchGetImage, one_id)
        .await
        .expect_err("more than one id can need");
    assert!(
        matches!(past, TransportError::TooLarge { limit, .. } if limit == ONE_MANIFEST_ANSWER_BYTES),
        "{past}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_meeting_an_answer_over_its_bound_ends_as_a_harness_error() {
    let server = Listener::start(Some(reference_config().endpoint()), |seen| {
        seen.is(Operation::GetAuthorizationToken)
            .then(|| json(vec![b' '; SMALL_ANSWER_BYTES + 1]))
    })
    .await;
    let dir = tempdir();
    let error = suite(&server.url, 0, &dir.join("too-large.tsv"))
        .run()
        .await
        .expect_err("the harness cannot work");
    assert!(
        error
            .to_string()
            .contains("GetAuthorizationToken: answer over 1048576 bytes"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flood_is_capped_and_the_report_says_how_many_were_dropped() {
    let flooded = Arc::new(AtomicBool::new(false));
    let server = Listener::start(Some(reference_config().endpoint()), move |seen| {
        // The first BatchGetImage only: every finding keeps up to 4 KiB of its answer.
        (seen.is(Operation::BatchGetImage) && !flooded.swap(true, Ordering::SeqCst)).then(|| {
            let items = vec!["1"; MAX_ISSUES + 5].join(",");
            json(format!("{{\"images\":[{items}],\"failures\":[]}}").into_bytes())
        })
    })
    .await;
    let dir = tempdir();
    let report = suite(&server.url, 0, &dir.join("flood.tsv"))
        .run()
        .await
        .expect("a verdict");
    let shapes = report
        .findings
        .iter()
        .filter(|f| f.violation.rule == RuleId::WireShape)
        .count();
    assert_eq!(shapes, MAX_ISSUES, "{}", to_text(&report));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(": 5 more wrong-typed or unknown members")),
        "{:?}",
        report.notes
    );
}

/// Headers at once, then one byte every 100 ms, forever.
fn trickle() -> Response {
    let bytes = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), ()))
    });
    Response::new(Body::from_stream(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_ends_ends_the_run_within_its_timeout() {
    let server = Listener::start(None, |_| Some(trickle())).await;
    let dir = tempdir();
    let run = suite(&server.url, 0, &dir.join("trickle.tsv"))
        .timeout(Duration::from_secs(1))
        .run();
    let error = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run ends within 10 s")
        .expect_err("the harness cannot work");
    assert!(error.to_string().contains("timed out"), "{error}");
    let fetch =
        HttpTarget::new(&server.url, "us-east-1", None, Duration::from_secs(1)).expect("a target");
    let url = format!("{}/v2/a/blobs/x", server.url);
    let fetched = tokio::time::timeout(Duration::from_secs(10), fetch.fetch("GET", &url, &[]))
        .await
        .expect("the fetch ends within 10 s");
    assert!(fetched.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_redirect_leaves_no_pre_signed_url_in_the_error() {
    // A port nobody listens on: the redirect's request fails at once.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    let presigned = format!(
        "http://127.0.0.1:{port}/blob?X-Amz-Credential=AKIDPRESIGNED&X-Amz-Security-Token=tokpresigned&X-Amz-Signature=f00dsig"
    );
    let server = Listener::start(None, move |_| Some(redirect(307, &presigned))).await;
    let url = format!("{}/v2/a/blobs/x", server.url);
    let error = target(&server.url)
        .fetch("GET", &url, &[])
        .await
        .expect_err("nothing listens there");
    let text = format!("{error} {error:?}");
    for secret in ["AKIDPRESIGNED", "tokpresigned", "f00dsig", "X-Amz-"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains(&format!("127.0.0.1:{port}/blob")), "{text}");
}
