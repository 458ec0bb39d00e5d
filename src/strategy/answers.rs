//! Strategies for users' own property tests: registries, BatchGetImage requests, and answers a
//! conforming server may give, each built by the same generators as the harness's random phase.

use proptest::prelude::*;

use crate::model::{Expected, OpError, Profile, Registry, batch_get_image};
use crate::wire::{BatchGetImageRequest, BatchGetImageResponse};

use super::strategies::{
    arb_call_choice, arb_profile, arb_request_choice, arb_scenario, build_registry, resolve_calls,
    resolve_request, shared_pool,
};

/// A registry state built by up to seventeen random calls (repositories created and deleted,
/// images of every kind pushed, tagged, retagged and deleted), always with `team/app` created
/// first, in the fixture's account. Its manifests come from the same pool as the digests of
/// [`arb_batch_get_image_request`], so that the two, drawn apart, still meet.
pub fn arb_registry() -> impl Strategy<Value = Registry> {
    proptest::collection::vec(arb_call_choice(), 0..16)
        .prop_map(|calls| build_registry(&resolve_calls(&calls, shared_pool())))
}

/// A BatchGetImage request: mostly valid, naming the generators' repositories, tags and
/// digests (of the manifests [`arb_registry`] pushes), sometimes absent or invalid ones,
/// foreign registries and `acceptedMediaTypes`.
pub fn arb_batch_get_image_request() -> impl Strategy<Value = BatchGetImageRequest> {
    arb_request_choice().prop_map(|c| resolve_request(&c, shared_pool()))
}

/// A registry, a request against it, and the answer a conforming server following a random
/// profile gives: one of the answers the model accepts.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The server's state.
    pub registry: Registry,
    /// The request.
    pub request: BatchGetImageRequest,
    /// The server's choices where the spec allows several outcomes.
    pub profile: Profile,
    /// Every acceptable answer, as the model sees it.
    pub expected: Expected,
    /// The answer given: a response, or a whole-request error.
    pub answer: Result<BatchGetImageResponse, OpError>,
}

impl Answered {
    /// The answer on the wire: HTTP status and AWS JSON 1.1 body, as `serve` sends it.
    pub fn to_http(&self) -> (u16, Vec<u8>) {
        OpError::to_http(&self.answer)
    }
}

/// A generated registry, request and profile with the model's answer.
///
/// ```
/// use ecr_contract::strategy::arb_answer;
/// use proptest::test_runner::{Config, TestRunner};
///
/// // A client's parser must read every answer a conforming server may give.
/// let mut runner = TestRunner::new(Config { cases: 32, ..Config::default() });
/// runner
///     .run(&arb_answer(), |answered| {
///         let (status, body) = answered.to_http();
///         let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
///         match status {
///             200 => assert!(json["images"].is_array() && json["failures"].is_array()),
///             _ => assert!(json["__type"].is_string()),
///         }
///         Ok(())
///     })
///     .expect("every generated answer reads");
/// ```
pub fn arb_answer() -> impl Strategy<Value = Answered> {
    (arb_scenario(), arb_profile()).prop_map(|(scenario, profile)| {
        let registry = scenario.registry();
        let expected = batch_get_image(&registry, &scenario.request);
        Answered {
            answer: expected.answer(&profile),
            registry,
            request: scenario.request,
            profile,
            expected,
        }
    })
}
