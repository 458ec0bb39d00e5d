//! Contract tests, a reference model and fuzzers for Amazon ECR's `BatchGetImage`.
//!
//! The reference model says what a correct server may answer for any registry state and any
//! request; the oracle names every rule of the contract an observed answer breaks.
//!
//! ```
//! use ecr_contract::strategy::{build_registry, fixture};
//! use ecr_contract::model::batch_get_image;
//! use ecr_contract::oracle::{Observed, RuleId, check};
//! use ecr_contract::wire::{BatchGetImageRequest, ImageIdentifier};
//!
//! // A registry with the standard fixture: `team/app:v1` is a Docker schema 2 image.
//! let registry = build_registry(&fixture().calls());
//! let request = BatchGetImageRequest {
//!     repository_name: Some("team/app".into()),
//!     image_ids: Some(vec![ImageIdentifier::tag("v1")]),
//!     ..Default::default()
//! };
//! let expected = batch_get_image(&registry, &request);
//!
//! // A server that forgets the requested id breaks ID-ACCOUNTING.
//! let body = br#"{"images": [], "failures": []}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
//! let violations = check(&expected, &Observed::from_http(200, &headers, body));
//! assert_eq!(violations[0].rule, RuleId::IdAccounting);
//!
//! // The model's own answer passes.
//! let answer = expected.answer(&Default::default());
//! assert!(check(&expected, &Observed::from_answer(&answer)).is_empty());
//! ```
//!
//! # In your own `cargo test`
//!
//! - **Server authors**: [`Suite`] runs the same suite as `ecr-contract check` against an
//!   endpoint and returns a [`Report`]; [`Report::assert_conforms`] fails the test with the
//!   readable report, [`Report::assert_conforms_except`] with a list of known divergences.
//! - **Client authors**: a registry written in code ([`model::Registry::builder`]), served by
//!   the model on a loopback port ([`serve::spawn`] with [`serve::Config::with_registry`]) or
//!   inside a wiremock `MockServer` ([`serve::Responder::from_registry`]), with faults for
//!   retry logic ([`serve::Fault`]: throttling, 500s, slow answers, truncated bodies).
//! - **Property tests**: the generators' strategies, [`strategy`]`::arb_*`, such as
//!   `arb_registry`, `arb_batch_get_image_request` and `arb_answer`.
//!
//! The `examples/` folder has one complete test file per group.
//!
//! Layers, each depending only on those before it:
//! [`wire`] (bytes and typed shapes) <- [`model`] (the reference semantics) <- [`oracle`]
//! (rules and `check`) <- [`strategy`] (generators). [`model`] and [`oracle`] do no
//! I/O, read no clock and are not `async`.

pub mod check;
#[cfg(feature = "arbitrary")]
pub mod fuzzing;
pub mod model;
pub mod oracle;
pub mod recording;
pub mod remote;
pub mod report;
pub mod serve;
pub mod strategy;
pub mod wire;

pub use check::Suite;
pub use report::Report;
