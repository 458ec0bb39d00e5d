//! `check`: runs the contract against an endpoint and gathers a [`Report`](crate::report::Report).
//!
//! Seeds the standard fixture through the ECR API under a unique run prefix, runs every
//! contract case (with its setup in a fresh copy of the fixture), probes authentication, runs
//! random sequences from the project's generators (a failing one is shrunk before it is
//! reported), and deletes what it created: only that, journalled before it is created.
//!
//! One file per concern, and the imports go one way (the phases down to the session):
//! `suite` runs the phases in order; each phase's work is in `seeding` (the digest probe and
//! the fixture), `cases`, `auth`, `pull` and `push` (the registry API), `sequences` and
//! `shrinking`; `plan` decides what is sent (pure), `waves` which setup calls may be sent at
//! once (pure). Below them, `session` is the run's state and its probes, with `setup` (setup
//! calls and the mirror), `digests`, `blobs`, `judging`, `cleanup` and `journal` beside it;
//! `clock` reads the wall clock; `builder` is the public face ([`Suite`]).

mod auth;
mod blobs;
mod builder;
mod cases;
mod cleanup;
mod clock;
mod digests;
mod journal;
mod judging;
pub mod plan;
mod pull;
mod push;
mod seeding;
mod sequences;
mod session;
mod setup;
mod shrinking;
mod suite;
mod waves;

pub use builder::{READS_PER_WRITE, REMOTE_JOBS, Suite};
pub use cleanup::{Deletion, delete_repository};
pub use journal::{Entry, HeldJournal, Journal};
pub use session::CheckError;
