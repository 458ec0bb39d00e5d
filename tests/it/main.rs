//! The integration tests: one binary, with shared helpers in `support/`.

mod acceptance;
mod api;
mod aws;
mod catalogue;
mod check;
mod clients;
mod contract;
mod decoder;
mod deletes;
mod fuzzing;
mod journal;
mod model;
mod pacing;
mod pagination;
mod peers;
mod profiles;
mod properties;
mod provision;
mod pull;
mod registry_rules;
mod sdk;
mod serve;
mod signing;
mod snapshots;
mod support;
mod uploads;
