//! Generators: manifests and blobs to push, the standard fixture, and the proptest
//! strategies (`arb_*`) that feed property tests, fuzz seeds and the harness's random phase.

mod fixture;
pub mod manifests;
mod strategies;

pub use fixture::{ACCOUNT, Fixture, FixtureImage, REGION, fixture};
pub use strategies::*;
