//! `ecr-contract`: checks that a server behaves like Amazon ECR's BatchGetImage.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::run()
}
