//! `check`: every way an observed BatchGetImage answer breaks the contract.

use http::HeaderMap;

use crate::model::{Expected, ExpectedError, FAILURE_CODES, OpError, RequestCause};
use crate::wire::{
    self, BatchGetImageResponse, CONTENT_TYPE, CodeSource, DecodeError, Decoded, ErrorBody,
    ErrorReply, MessageMember, Reply,
};

use super::ids::check_batch;
use super::normalize::{KNOWN_ERRORS, is_aws_json, is_throttling};
use super::rules::RuleId;
use super::violation::{Violation, one_of};

/// An answer as the oracle sees it: status, content type and the decoded body.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The decoded body, or why it could not be decoded.
    pub reply: Result<Reply<BatchGetImageResponse>, DecodeError>,
}

impl Observed {
    /// Decodes an HTTP answer.
    pub fn from_http(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Self {
            status,
            content_type,
            reply: wire::parse_response(status, headers, body),
        }
    }

    /// The answer a server would send for the model's `answer`, without going through bytes.
    pub fn from_answer(answer: &Result<BatchGetImageResponse, OpError>) -> Self {
        let content_type = Some(CONTENT_TYPE.to_owned());
        match answer {
            Ok(response) => Self {
                status: 200,
                content_type,
                reply: Ok(Reply::Success(Decoded {
                    value: response.clone(),
                    shape_issues: vec![],
                    unknown_members: vec![],
                    dropped: wire::Dropped::default(),
                })),
            },
            Err(e) => Self {
                status: e.status(),
                content_type,
                reply: Ok(Reply::Error(ErrorReply {
                    status: e.status(),
                    code: Some(e.code.to_owned()),
                    raw_code: Some(e.code.to_owned()),
                    code_source: Some(CodeSource::BodyType),
                    message: Some(e.message.clone()),
                    message_member: Some(MessageMember::Lower),
                    body: ErrorBody::Json(
                        serde_json::json!({"__type": e.code, "message": e.message}),
                    ),
                })),
            },
        }
    }

    /// Whether the answer is throttling: not judged, the client retries (spec section 1).
    pub fn is_throttled(&self) -> bool {
        let code = match &self.reply {
            Ok(Reply::Error(e)) => e.code.as_deref(),
            _ => None,
        };
        is_throttling(self.status, code)
    }
}

/// Every violation of the contract in `observed`, an answer to the request `expected` was
/// computed for. Throttling answers are not judged and give no violation.
pub fn check(expected: &Expected, observed: &Observed) -> Vec<Violation> {
    let mut out = Vec::new();
    if observed.is_throttled() {
        return out;
    }
    if !observed.content_type.as_deref().is_some_and(is_aws_json) {
        let found = observed
            .content_type
            .clone()
            .unwrap_or_else(|| "no Content-Type".into());
        out.push(Violation::new(
            RuleId::WireContentType,
            "",
            CONTENT_TYPE,
            found,
        ));
    }
    if observed.status >= 500 {
        out.push(Violation::new(
            RuleId::RobustNo5xx,
            "",
            "a 200 or 4xx answer",
            format!("HTTP {}", observed.status),
        ));
    }
    match &observed.reply {
        Err(e) => out.push(Violation::new(
            RuleId::WireStatus,
            "",
            "a JSON object body",
            e.to_string(),
        )),
        Ok(Reply::Error(e)) => check_error(expected, e, &mut out),
        Ok(Reply::Success(d)) => check_success(expected, observed.status, d, &mut out),
    }
    out
}

/// Every violation of `check`, with those about *what* was answered (the image, its bytes and
/// digest, which ids) also filed under the scenario rule `context` (such as `STATE-DELETE`),
/// with the original rule in `via`.
///
/// Under a scenario of level must, the state the probe expects is itself pinned by the spec,
/// so each violation stays under its own rule as well. Under one of level should
/// (`STATE-TAG-MOVE`: "the old image stays" is a should), the expected state is only likely,
/// and a by-digest miss there must not read as a broken must rule: the violation is filed
/// under the scenario rule alone. The rules about the form of a failure (its echo, code and
/// reason) and the media type hold whatever the state, and always keep their own id: a mangled
/// echo of a correctly failed id is not a broken delete, nor a wrong media type a wrong digest.
pub fn check_in(context: RuleId, expected: &Expected, observed: &Observed) -> Vec<Violation> {
    const FORM: [RuleId; 4] = [
        RuleId::IdFailureEcho,
        RuleId::IdFailureCode,
        RuleId::IdFailureReason,
        RuleId::ManMediaType,
    ];
    let keep_own = context.level() == crate::oracle::Level::Must;
    let mut out = Vec::new();
    for v in check(expected, observed) {
        let id = v.rule.as_str();
        let about_what =
            (id.starts_with("ID-") || id.starts_with("MAN-")) && !FORM.contains(&v.rule);
        if about_what {
            out.push(Violation {
                via: Some(v.rule),
                rule: context,
                level: context.level(),
                ..v.clone()
            });
        }
        if !about_what || keep_own {
            out.push(v);
        }
    }
    out
}

/// The rule a whole-request error expectation stands for.
pub(crate) fn rule_of_request(cause: RequestCause) -> RuleId {
    match cause {
        RequestCause::RegistryId => RuleId::ValRegistryId,
        RequestCause::RepositoryName => RuleId::ValRepoName,
        RequestCause::ImageIdsCount => RuleId::ValImageIdsCount,
        RequestCause::TagLength => RuleId::ValTagLength,
        RequestCause::MediaTypesCount => RuleId::ValMediaTypesCount,
        RequestCause::InvalidDigest => RuleId::IdInvalidDigest,
        RequestCause::RepositoryNotFound => RuleId::RepoNotFound,
        RequestCause::ForeignRegistry => RuleId::RepoForeignRegistry,
        _ => RuleId::ValMalformed,
    }
}

fn check_error(expected: &Expected, e: &ErrorReply, out: &mut Vec<Violation>) {
    check_error_form(e, out);
    check_error_expected(expected, e.code.as_deref(), out);
}

/// The error's form, whatever the request: an AWS JSON error with the status of its name,
/// a modelled name in `__type`, a message.
fn check_error_form(e: &ErrorReply, out: &mut Vec<Violation>) {
    let code = e.code.as_deref();
    if matches!(e.body, ErrorBody::NotJson { html: true }) {
        out.push(Violation::new(
            RuleId::RobustNo5xx,
            "",
            "an AWS JSON error body",
            "an HTML page",
        ));
    }
    let status = if code == Some("ServerException") {
        500
    } else {
        400
    };
    if e.status != status {
        let name = code.unwrap_or("an error");
        out.push(Violation::new(
            RuleId::WireStatus,
            "",
            format!("HTTP {status} for {name}"),
            format!("HTTP {}", e.status),
        ));
    }
    match code {
        None => out.push(Violation::new(
            RuleId::WireErrorCode,
            "",
            "an error name",
            "none in __type, code or X-Amzn-Errortype",
        )),
        Some(c) if !KNOWN_ERRORS.contains(&c) => {
            out.push(Violation::new(
                RuleId::WireErrorCode,
                "",
                "a modelled or common AWS error",
                c.to_owned(),
            ));
        }
        Some(_) => {}
    }
    if code.is_some() && e.code_source != Some(CodeSource::BodyType) {
        let found = format!(
            "the name only in {:?}",
            e.code_source.unwrap_or(CodeSource::Header)
        );
        out.push(Violation::new(
            RuleId::WireErrorBodyType,
            "__type",
            "the error name in the body's __type",
            found,
        ));
    }
    if e.message.is_none() {
        out.push(Violation::new(
            RuleId::WireErrorMessage,
            "message",
            "a string message",
            "none",
        ));
    }
}

/// Whether the request called for an error, and for this one.
fn check_error_expected(expected: &Expected, code: Option<&str>, out: &mut Vec<Violation>) {
    let found = code.unwrap_or("an unnamed error").to_owned();
    match (&expected.error, &expected.success) {
        (Some(ExpectedError { codes, .. }), _) if code.is_some_and(|c| codes.contains(&c)) => {}
        (Some(ee), _) => out.push(Violation::new(
            rule_of_request(ee.cause),
            "",
            one_of(&ee.codes),
            found,
        )),
        (None, Some(batch)) => {
            let rule = match (code, batch.at_limits.first()) {
                (Some("InvalidParameterException"), Some(limit)) => rule_of_request(*limit),
                _ => RuleId::IdAccounting,
            };
            out.push(Violation::new(
                rule,
                "",
                "a 200 answer for every requested id",
                found,
            ));
        }
        (None, None) => {}
    }
}

fn check_success(
    expected: &Expected,
    status: u16,
    d: &Decoded<BatchGetImageResponse>,
    out: &mut Vec<Violation>,
) {
    if status != 200 {
        out.push(Violation::new(
            RuleId::WireStatus,
            "",
            "HTTP 200",
            format!("HTTP {status}"),
        ));
    }
    for issue in &d.shape_issues {
        out.push(Violation::new(
            RuleId::WireShape,
            &issue.path,
            issue.expected.to_string(),
            &issue.found,
        ));
    }
    for path in &d.unknown_members {
        out.push(Violation::new(
            RuleId::WireUnknownMember,
            path,
            "only modelled members",
            "an unknown member",
        ));
    }
    let response = &d.value;
    for (member, present) in [
        ("images", response.images.is_some()),
        ("failures", response.failures.is_some()),
    ] {
        if !present {
            out.push(Violation::new(
                RuleId::WireBothLists,
                member,
                "a list, possibly empty",
                "no member",
            ));
        }
    }
    check_failure_fields(response, out);
    match &expected.success {
        Some(batch) => check_batch(batch, response, out),
        None => {
            if let Some(ee) = &expected.error {
                out.push(Violation::new(
                    rule_of_request(ee.cause),
                    "",
                    one_of(&ee.codes),
                    "a 200 answer",
                ));
            }
        }
    }
}

/// Checks that need no model: every failure has a modelled code and a reason.
fn check_failure_fields(response: &BatchGetImageResponse, out: &mut Vec<Violation>) {
    for (i, f) in response.failures.iter().flatten().enumerate() {
        match f.failure_code.as_deref() {
            Some(c) if FAILURE_CODES.contains(&c) => {}
            found => out.push(Violation::new(
                RuleId::IdFailureCode,
                format!("failures[{i}].failureCode"),
                "a modelled ImageFailureCode",
                found.unwrap_or("none"),
            )),
        }
        if f.failure_reason.is_none() {
            out.push(Violation::new(
                RuleId::IdFailureReason,
                format!("failures[{i}].failureReason"),
                "a reason",
                "none",
            ));
        }
    }
}
