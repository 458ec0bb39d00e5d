//! Fuzz target bodies, the seed corpus, and the input layout they share.
//!
//! The targets in `fuzz/` are one-line adapters to [`TARGETS`], so the same logic runs under
//! libFuzzer on nightly and under `cargo test` on stable (the seed corpus and the committed
//! regressions are replayed there).

mod corpus;
mod endpoint;
mod http;
pub mod input;
#[doc(hidden)]
pub mod mutate;
mod registry;
mod scenario;
mod targets;

pub use corpus::seeds;
pub use endpoint::endpoint;
pub use scenario::{
    accounting_holds, check_scenario, digests_are_content_addresses, model_answer_passes,
    mutations_are_caught,
};
pub use targets::{
    differential, model_oracle, parse_request, parse_response, pass_through as pass_through_rng,
    roundtrip,
};

/// A fuzz target's body: panics on a finding.
pub type Target = fn(&[u8]);

/// Every fuzz target: its name and its body.
pub const TARGETS: [(&str, Target); 6] = [
    ("parse_response", parse_response),
    ("parse_request", parse_request),
    ("roundtrip", roundtrip),
    ("model_oracle", model_oracle),
    ("differential", differential),
    ("endpoint", endpoint),
];
