//! The rule catalogue and the checker: which rules an observed answer breaks.
//!
//! `check(expected, observed)` compares an answer with the model's set of acceptable answers
//! and returns every [`Violation`], not the first. No I/O, no clock, nothing `async`. A
//! malformed body is reported as a `WIRE-STATUS` violation here, never as an `Err`.

mod calls;
mod check;
mod contract;
mod ids;
mod index;
mod manifest;
pub(crate) mod normalize;
mod parity;
mod pull;
mod rules;
mod violation;

pub use calls::{check_put_digest, check_put_refusal, check_unsigned};
pub use check::{Observed, check, check_in};
pub use contract::{CONTRACT_VERSION, Document, Section, anchor, anchors};
pub use parity::{Place, aws_parity_rule, registry_parity_rule};
pub use pull::{
    PullObserved, check_blob, check_blob_unknown, check_challenge, check_denied,
    check_gone_after_delete, check_head, check_manifest, check_ping, check_tags, check_token,
    check_visible_after_put, has_registry_api,
};
pub use rules::{Level, RULES, Rule, RuleId};
pub use violation::Violation;
