//! Running `check`, from the library or as the binary, in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ecr_contract::check::{Journal, Options, run};
use ecr_contract::report::Report;
use ecr_contract::target::HttpTarget;
use ecr_contract::wire::Credentials;

/// A temporary directory of the calling thread (named by process and thread).
pub fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ecr-contract-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Options of a run: `cases` random sequences, seed 7, the journal at `journal`.
pub fn options(cases: u32, journal: &Path) -> Options {
    Options {
        cases,
        seed: 7,
        settle: Duration::ZERO,
        keep: false,
        journal: Journal::new(journal),
        progress: None,
    }
}

/// The report of `check` against `url`, signed with the placeholder credentials.
pub async fn check_url(url: &str, cases: u32) -> Report {
    let dir = tempdir();
    let target = HttpTarget::new(
        url,
        "us-east-1",
        Some(Credentials::placeholder()),
        Duration::from_secs(10),
    )
    .expect("a target");
    run(&target, &options(cases, &dir.join("journal.tsv")))
        .await
        .expect("the check runs")
}

/// The `ecr-contract` binary, in a temporary directory (a default journal lands there, not in
/// the repository), without the caller's AWS endpoint and credentials.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecr-contract"));
    command.current_dir(tempdir());
    command
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ECR")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    command
}
