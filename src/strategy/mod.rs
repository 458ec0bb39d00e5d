//! Generators: manifests and blobs to push, the standard fixture, and the proptest
//! strategies (`arb_*`) that feed property tests, fuzz seeds and the harness's random phase.

mod answers;
#[doc(hidden)]
pub mod cases;
mod fixture;
pub mod manifests;
mod strategies;

pub use answers::{Answered, arb_answer, arb_batch_get_image_request, arb_registry};
pub use fixture::{ACCOUNT, Fixture, FixtureImage, REGION, fixture};
pub use strategies::*;
