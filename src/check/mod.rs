//! `check`: runs the contract against an endpoint and gathers a [`Report`](crate::report::Report).
//!
//! Seeds the standard fixture through the ECR API under a unique run prefix, runs every
//! contract case (with its setup in a fresh copy of the fixture), probes authentication, runs
//! random sequences from the project's generators (a failing one is shrunk before it is
//! reported), and deletes what it created: only that, journalled before it is created.

mod builder;
mod journal;
pub mod plan;
mod pull;
mod push;
mod session;
mod suite;

pub use builder::{REMOTE_JOBS, Suite};
pub use journal::{Entry, HeldJournal, Journal};
pub use session::{CheckError, Deletion, delete_repository};
