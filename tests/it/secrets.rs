//! No secret the run knows reaches any output: a hostile server plants the access key, the
//! secret key, the session token, the registry password and token and pre-signed URL
//! credentials in every place a report holds text (raw, JSON-escaped, percent-encoded, across
//! the 4,096-byte cut, before the run learned them), and every format is searched. Evidence
//! is otherwise kept as it came, and a server's text cannot leave its Markdown block.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ecr_contract::oracle::{Level, RULES, RuleId, Violation};
use ecr_contract::report::{
    EVIDENCE_BYTES, Finding, Report, Reproduction, Response, Secrets, SetupDivergence, to_html,
    to_junit, to_markdown, to_text,
};
use ecr_contract::serve::Endpoint;
use ecr_contract::wire::Credentials;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::broken::reference_config;
use crate::support::{binary, suite, tempdir};

const ACCESS_KEY: &str = "AKIAQZSECRETS7TEST42";
const SECRET_KEY: &str = "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";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEKzSessionTok3nNotReal9Hq2Lx7Vb4Nm1Rt8Yw5Kc0Zp6Df3Gj";
const PASSWORD: &str = "eyJwYXlsb2FkIjoiZWNyLWNvbnRyYWN0In0+pw/Rq7Xk42Pz0Vd8Lm3";
const SIGNATURE: &str = "5f0c1e2d3b4a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CREDENTIAL: &str = "AKIAQZPRESIGNED12345/20261207/us-east-1/s3/aws4_request";
const URL_TOKEN: &str = "FwoGZXIvYXdzEPresigned/SessionToken0123456789abcdef";
/// Markdown and HTML a server may try to inject into the pull-request comment.
const INJECTION: &str = "````\n<script>alert(1)</script>\n```\n| a | b |\n";

fn token() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("AWS:{PASSWORD}"))
}

fn every_secret() -> Vec<String> {
    let decoded = format!("AWS:{PASSWORD}");
    [
        ACCESS_KEY,
        SECRET_KEY,
        SESSION_TOKEN,
        PASSWORD,
        &decoded,
        &token(),
        SIGNATURE,
        CREDENTIAL,
        URL_TOKEN,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `s` with every `/` JSON-escaped.
fn slash_escaped(s: &str) -> String {
    s.replace('/', "\\/")
}

/// `s` with every character `\uXXXX`-escaped.
fn unicode_escaped(s: &str) -> String {
    s.chars()
        .map(|c| format!("\\u{:04x}", u32::from(c)))
        .collect()
}

/// `s` percent-encoded as a query value.
fn percent(s: &str) -> String {
    s.replace('/', "%2F").replace('+', "%2B")
}

/// `head` padded so that `tail` starts 12 bytes before the evidence cut.
fn straddling(head: &str, tail: &str) -> String {
    let at = EVIDENCE_BYTES - 12;
    assert!(head.len() < at, "the head leaves room before the cut");
    format!("{head}{}{tail} end", ".".repeat(at - head.len()))
}

/// A server that answers as ECR does except where it plants secrets.
struct Planting {
    endpoint: Endpoint,
}

fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Respond for Planting {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let target = header(request, "x-amz-target");
        let path = request.url.path();
        if target.ends_with(".BatchGetImage") {
            return batch_get_image(request);
        }
        if target.ends_with(".GetAuthorizationToken") {
            return authorization_token();
        }
        if path.starts_with("/presigned/") {
            let echo = format!("{path}?{}", request.url.query().unwrap_or_default());
            return ResponseTemplate::new(200)
                .set_body_string(format!("wrong bytes for {echo}; again {SIGNATURE}"));
        }
        if path.starts_with("/v2/") {
            return registry(request, path);
        }
        let uri = match request.url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        };
        let reply = self.endpoint.handle(
            request.method.as_str(),
            &uri,
            &request.headers,
            &request.body,
        );
        let mut template = ResponseTemplate::new(reply.status).set_body_raw(reply.body, "");
        for (name, value) in reply.headers {
            template = template.insert_header(name, value.as_str());
        }
        template
    }
}

/// Every request header echoed (the session token, the access key), the secret key
/// JSON-escaped, the registry password before the run learns it, an injection, unrelated
/// text sharing a prefix with the secret key, and the session token across the cut.
fn batch_get_image(request: &Request) -> ResponseTemplate {
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
        .collect();
    let head = format!(
        "{{\"__type\":\"InvalidParameterException\",\"message\":\"{}; key {}; password {PASSWORD}; {}; prefix {}!\"}}\n{INJECTION}",
        headers.join("; "),
        slash_escaped(SECRET_KEY),
        unicode_escaped(SECRET_KEY),
        &SECRET_KEY[..20],
    );
    ResponseTemplate::new(400)
        .insert_header("x-leak", SECRET_KEY)
        .set_body_string(straddling(&head, SESSION_TOKEN))
}

/// A token whose lifetime is not 12 hours (REG-AUTH-TOKEN fails, so the answer is evidence),
/// and the password again, escaped.
fn authorization_token() -> ResponseTemplate {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let body = format!(
        "{{\"authorizationData\":[{{\"authorizationToken\":\"{}\",\"expiresAt\":{now},\"proxyEndpoint\":\"http://r\"}}],\"hint\":\"{}\"}}",
        token(),
        unicode_escaped(&format!("AWS:{PASSWORD}"))
    );
    ResponseTemplate::new(200).set_body_raw(body, "application/x-amz-json-1.1")
}

/// The registry API: a challenge without credentials; with them, the Authorization echoed
/// and the password across the cut; manifests unknown with a JSON-escaped pre-signed URL;
/// blobs redirected to a pre-signed URL.
fn registry(request: &Request, path: &str) -> ResponseTemplate {
    let authorization = header(request, "authorization");
    if authorization.is_empty() {
        return ResponseTemplate::new(401)
            .insert_header(
                "www-authenticate",
                "Basic realm=\"https://r/\",service=\"ecr.amazonaws.com\"",
            )
            .insert_header("docker-distribution-api-version", "registry/2.0");
    }
    let query = format!(
        "X-Amz-Credential={}&X-Amz-Security-Token={}&X-Amz-Signature={SIGNATURE}",
        percent(CREDENTIAL),
        percent(URL_TOKEN)
    );
    if path.contains("/blobs/") {
        return ResponseTemplate::new(307)
            .insert_header("location", format!("/presigned/blob?{query}"));
    }
    if path.contains("/manifests/") {
        let escaped = slash_escaped(&format!("https://b.s3/m?{query}")).replace('&', "\\u0026");
        let body = format!(
            "{{\"errors\":[{{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"see {escaped}\"}}]}}"
        );
        return ResponseTemplate::new(404).set_body_string(body);
    }
    let head = format!(
        "you sent {authorization}; {}; {INJECTION}",
        unicode_escaped(PASSWORD)
    );
    ResponseTemplate::new(200).set_body_string(straddling(&head, PASSWORD))
}

/// The report of a run against the planting server, signed with credentials that are all
/// secret.
async fn planted_report() -> Report {
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, Some(SESSION_TOKEN.into()));
    let mut config = reference_config();
    config.verify_signatures = Some(credentials.clone());
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Planting {
            endpoint: config.endpoint(),
        })
        .mount(&server)
        .await;
    let dir = tempdir();
    suite(&server.uri(), 3, &dir.join("journal.tsv"))
        .credentials(credentials)
        .run()
        .await
        .expect("the run completes")
}

/// Every format of `report`, one after the other.
fn rendered(report: &Report) -> String {
    [
        to_text(report),
        report.to_json().to_string(),
        serde_json::to_string_pretty(&report.to_json()).unwrap_or_default(),
        to_markdown(report, None),
        to_html(report, None),
        to_junit(report, Level::May),
    ]
    .join("\n")
}

/// Every secret absent from `out`, in every form a server could write it.
fn assert_no_secret(out: &str) {
    for secret in every_secret() {
        for form in [
            secret.clone(),
            slash_escaped(&secret),
            percent(&secret),
            unicode_escaped(&secret),
        ] {
            assert!(!out.contains(&form), "a secret leaked: {form}");
        }
    }
}

/// No 8-character window of `secret` in `out`.
fn assert_no_window(out: &str, secret: &str) {
    for window in secret.as_bytes().windows(8) {
        let window = String::from_utf8_lossy(window);
        assert!(
            !out.contains(&*window),
            "a part of a secret leaked: {window}"
        );
    }
}

fn found(report: &Report, rule: RuleId) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.violation.rule == rule)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_planted_by_a_server_reaches_any_report() {
    let report = planted_report().await;
    // Each plant became evidence.
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.response.body.contains("InvalidParameterException")),
        "no BatchGetImage answer was evidence"
    );
    for rule in [
        RuleId::RegAuthToken,
        RuleId::RegPing,
        RuleId::RegBlobUnknown,
    ] {
        assert!(!found(&report, rule).is_empty(), "{rule} was not found");
    }
    let out = rendered(&report);
    assert_no_secret(&out);
    assert_no_window(&out, SESSION_TOKEN);
    assert_no_window(&out, PASSWORD);
    assert_no_window(&out, &token());
    // What was redacted is said, and the evidence around it is kept.
    let notes = report.notes.join("\n");
    for kind in [
        "access key id",
        "secret access key",
        "session token",
        "registry password",
        "registry authorization token",
        "pre-signed URL credential",
    ] {
        assert!(
            notes.contains(&format!("redacted: the {kind}, ")),
            "{kind}: {notes}"
        );
    }
    let evidence = &found(&report, RuleId::RegAuthToken)[0].response.body;
    assert!(
        evidence.contains("\"authorizationToken\":\"** redacted **\""),
        "{evidence}"
    );
    let prefix = format!("prefix {}!", &SECRET_KEY[..20]);
    assert!(out.contains(&prefix), "unrelated text was rewritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_body_cannot_leave_its_markdown_block() {
    let report = planted_report().await;
    assert_server_text_stays_in_blocks(&to_markdown(&report, None));
    let html = to_html(&report, None);
    assert!(!html.contains("<script"), "HTML holds the server's markup");
    let junit = to_junit(&report, Level::May);
    assert!(
        !junit.contains("<script"),
        "JUnit holds the server's markup"
    );
}

#[test]
fn server_text_in_any_field_stays_out_of_the_markdown_markup() {
    let report = report_holding(&format!("{INJECTION}[x](javascript:alert(1)) *y* <b>"));
    let markdown = to_markdown(&report, None);
    assert_server_text_stays_in_blocks(&markdown);
    assert!(markdown.contains("\\[x\\](javascript"), "{markdown}");
}

/// `markdown` shows the server's `<script>`, but only inside code blocks or spans, and no
/// table row gains a cell.
fn assert_server_text_stays_in_blocks(markdown: &str) {
    assert!(markdown.contains("<script>"), "the body is shown");
    let mut fence: Option<usize> = None;
    for line in markdown.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match fence {
            Some(open) if ticks >= open && line[ticks..].trim().is_empty() => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                let markup = outside_code_spans(line);
                assert!(
                    ["<script", "<b>", "[x]("]
                        .iter()
                        .all(|m| !markup.contains(m))
                        && !markup.starts_with("| a |"),
                    "server text outside a block: {line}"
                );
                if line.starts_with("| [") {
                    assert_eq!(cell_bars(line), 6, "a row of five cells: {line}");
                }
            }
        }
    }
    assert_eq!(fence, None, "a block left open");
}

/// `line` without its code spans (CommonMark: from a run of backticks to the next run of the
/// same length).
fn outside_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let run = after.len() - after.trim_start_matches('`').len();
        let body = &after[run..];
        let close = body
            .match_indices(&"`".repeat(run))
            .find(|(at, _)| !body[at + run..].starts_with('`') && !body[..*at].ends_with('`'));
        match close {
            Some((at, _)) => rest = &body[at + run..],
            None => {
                out.push_str(&after[..run]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The cell separators of a table row: pipes not escaped (GitHub splits cells before it
/// reads code spans, so a pipe inside one counts).
fn cell_bars(row: &str) -> usize {
    let bytes = row.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count()
}

/// A report with `text` in every field that holds text.
fn report_holding(text: &str) -> Report {
    let mut violation = Violation::new(RuleId::WireStatus, text, text, text);
    violation.level = Level::Must;
    let finding = Finding {
        message: text.to_owned(),
        violation,
        probe: text.to_owned(),
        request: text.to_owned(),
        response: Response {
            status: 400,
            body: text.to_owned(),
        },
        reproduction: Reproduction {
            curl: text.to_owned(),
            aws: Some(text.to_owned()),
        },
    };
    Report {
        endpoint: text.to_owned(),
        region: text.to_owned(),
        account: Some(text.to_owned()),
        prefix: text.to_owned(),
        findings: vec![finding],
        setup_divergences: vec![SetupDivergence {
            case: text.to_owned(),
            step: 0,
            call: text.to_owned(),
            found: text.to_owned(),
            expected: text.to_owned(),
            judged: false,
        }],
        notes: vec![text.to_owned()],
        exercised: RULES.iter().map(|r| r.id).collect(),
        ..Report::default()
    }
}

#[test]
fn every_field_of_a_report_is_redacted_and_nothing_else_is() {
    let secrets = Secrets::default();
    secrets.add_credentials(&Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.into()),
    ));
    secrets.learn_authorization_token(&token());
    let planted = format!(
        "a token: {SECRET_KEY} {} {} {} https://b/x?X-Amz-Signature={SIGNATURE}&n=1 {PASSWORD} {ACCESS_KEY}",
        slash_escaped(SESSION_TOKEN),
        unicode_escaped(PASSWORD),
        token(),
    );
    let mut report = report_holding(&planted);
    report.redact(&secrets);
    let out = rendered(&report);
    assert_no_secret(&out);
    let clean = "a token: ** redacted ** ** redacted ** ** redacted ** ** redacted ** https://b/x?X-Amz-Signature=** redacted **&n=1 ** redacted ** ** redacted **";
    assert_eq!(report.findings[0].response.body, clean);
    assert_eq!(report.setup_divergences[0].found, clean);
    // Unrelated text is left as it was, a secret's prefix and the word "token" included.
    let unrelated = format!("a token: {} latest", &SECRET_KEY[..30]);
    let mut report = report_holding(&unrelated);
    report.redact(&secrets);
    assert_eq!(report.findings[0].response.body, unrelated);
    assert_eq!(report.notes[0], unrelated);
}

#[test]
fn the_error_chain_of_a_run_that_cannot_work_holds_no_secret() {
    // Every call is refused with the session token it was sent as the error's name: setup is
    // impossible, and the exit-2 error names the refusal.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(|request: &Request| {
                let token = header(request, "x-amz-security-token");
                ResponseTemplate::new(400)
                    .set_body_string(format!("{{\"__type\":\"{token}\",\"message\":\"no\"}}"))
            })
            .mount(&server)
            .await;
        server
    });
    let output = binary()
        .args(["check", "--cases", "1", "--timeout", "10", "--endpoint-url"])
        .arg(server.uri())
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("** redacted **"), "{stderr}");
    assert_no_secret(&stderr);
    assert_no_secret(&String::from_utf8_lossy(&output.stdout));
    drop(runtime);
}
