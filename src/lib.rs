//! Contract tests, a reference model and fuzzers for Amazon ECR's `BatchGetImage`.

pub mod r#gen;
pub mod model;
pub mod oracle;
pub mod wire;

#[doc(hidden)]
pub mod cli;
