//! The rule catalogue and the checker: which rules an observed answer breaks.
//!
//! `check(expected, observed)` compares an answer with the model's set of acceptable answers
//! and returns every [`Violation`], not the first. No I/O, no clock, nothing `async`. A
//! malformed body is reported as a `WIRE-STATUS` violation here, never as an `Err`.

mod attribution;
mod calls;
mod check;
mod contract;
pub mod coverage;
mod ids;
mod index;
mod manifest;
pub(crate) mod normalize;
mod parity;
mod pull;
mod push;
mod rules;
mod violation;

pub use calls::{check_put_digest, check_put_refusal, check_unsigned};
pub use check::{Observed, check, check_in};
pub use contract::{CONTRACT_VERSION, Document, Section, anchor, anchors};
pub use parity::{Place, aws_parity_rule, registry_parity_rule};
pub use pull::{
    PullObserved, TAGS_DEFAULT_PAGE, TAGS_MAX_N, check_blob, check_blob_head, check_blob_unknown,
    check_challenge, check_denied, check_gone_after_delete, check_head, check_manifest, check_ping,
    check_tags, check_tags_limit, check_token, check_visible_after_put, has_registry_api,
};
pub use push::{
    PushedImage, check_absent_repository, check_chunk, check_chunk_order, check_completed,
    check_delete_refused, check_deleted, check_empty_completion, check_immutable,
    check_manifest_pushed, check_manifest_type, check_refused, check_refused_mount,
    check_small_chunk, check_upload_start, check_wrong_digest,
};
pub use rules::{Level, RULES, Rule, RuleId};
pub use violation::Violation;
