//! The integration tests: one binary, with shared helpers in `support/`.

mod acceptance;
mod api;
mod aws;
mod catalogue;
mod check;
mod clients;
mod contract;
mod decoder;
mod fuzzing;
mod journal;
mod pacing;
mod pagination;
mod peers;
mod properties;
mod provision;
mod pull;
mod sdk;
mod serve;
mod signing;
mod snapshots;
mod support;
mod uploads;
