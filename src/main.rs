//! `ecr-contract`: checks that a server behaves like Amazon ECR's BatchGetImage.

use std::process::ExitCode;

fn main() -> ExitCode {
    ecr_contract::cli::run()
}
