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
        registry_url: None,
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

/// The `ecr-contract` binary in a world of its own: started in an empty temporary directory,
/// its state directory (journals) and home in temporary directories too, and none of the
/// caller's AWS endpoint, credentials, profiles or instance metadata.
pub fn binary() -> Command {
    let world = tempdir();
    binary_in(
        &world.join("cwd"),
        &world.join("state"),
        &world.join("home"),
    )
}

/// The binary started in `cwd`, with `XDG_STATE_HOME` at `state` and `HOME` at `home` (each
/// created), and no AWS settings of the caller's.
pub fn binary_in(cwd: &Path, state: &Path, home: &Path) -> Command {
    for dir in [cwd, state, home] {
        std::fs::create_dir_all(dir).expect("a temp dir");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecr-contract"));
    command
        .current_dir(cwd)
        .env("XDG_STATE_HOME", state)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CA_BUNDLE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        command.env_remove(name);
    }
    command
}

/// The names of the files in `dir` (none when it does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|listing| {
            listing
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
