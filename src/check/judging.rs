//! Judging one answer: the rules every judged answer exercises, the oracle called with or
//! without a case's context rule, and the error name of a refused call. Pure: no I/O, and it
//! must not record findings (the session does).

use crate::model::Expected;
use crate::oracle::{Observed, RuleId, Violation, check, check_in};
use crate::remote::Exchange;
use crate::wire::{self, Reply};

/// Rules every judged answer exercises, whatever the probe: the model-free checks.
pub(super) const WIRE_RULES: [RuleId; 5] = [
    RuleId::WireStatus,
    RuleId::WireContentType,
    RuleId::WireShape,
    RuleId::WireUnknownMember,
    RuleId::RobustNo5xx,
];

/// Rules every judged success answer exercises.
pub(super) const SUCCESS_RULES: [RuleId; 3] = [
    RuleId::WireBothLists,
    RuleId::IdFailureCode,
    RuleId::IdFailureReason,
];

/// Rules every judged error answer exercises.
pub(super) const ERROR_RULES: [RuleId; 3] = [
    RuleId::WireErrorCode,
    RuleId::WireErrorBodyType,
    RuleId::WireErrorMessage,
];

/// The oracle's verdict on one answer; with a case's scenario rule `context`, what was
/// answered is also filed under it (see [`check_in`]).
pub(super) fn judge(
    expected: &Expected,
    observed: &Observed,
    context: Option<RuleId>,
) -> Vec<Violation> {
    match context {
        Some(rule) => check_in(rule, expected, observed),
        None => check(expected, observed),
    }
}

/// The error name of a refused call.
pub(crate) fn error_code(exchange: &Exchange) -> String {
    match wire::parse_response::<wire::BatchGetImageResponse>(
        exchange.status,
        &exchange.headers,
        &exchange.body,
    ) {
        Ok(Reply::Error(e)) => e
            .code
            .unwrap_or_else(|| format!("HTTP {}", exchange.status)),
        _ => format!("HTTP {}", exchange.status),
    }
}
