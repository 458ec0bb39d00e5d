//! The integration tests: one binary, with shared helpers in `support/`.

mod catalogue;
mod contract;
mod decoder;
mod fuzzing;
mod properties;
mod snapshots;
mod support;
