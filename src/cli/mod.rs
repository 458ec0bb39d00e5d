//! The command line: argument parsing and one file per subcommand. Exit codes: 0 no
//! violation at or above `--fail-on`, 1 violations, 2 the harness could not do its job.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod aws;
mod check;
mod cleanup;
mod compare;
#[cfg(feature = "arbitrary")]
mod corpus;
mod matrix;
mod replay;
mod rules;
mod serve;

/// Checks that a server behaves like Amazon ECR's BatchGetImage.
#[derive(Debug, Parser)]
#[command(name = "ecr-contract", version = version(), about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--version`: the crate's version and the contract's, which a CI history pins.
fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (contract {})",
            env!("CARGO_PKG_VERSION"),
            ecr_contract::oracle::CONTRACT_VERSION
        )
    })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check an ECR-compatible endpoint against the contract, rule by rule.
    Check(check::Args),
    /// Run the same suite against two endpoints and show where their verdicts differ, per rule.
    Compare(compare::Args),
    /// Run the same suite against several endpoints: one page, rules as rows, servers as columns.
    Matrix(matrix::Args),
    /// Replay recordings (`check --record`) through the model and the oracle, without their server.
    Replay(replay::Args),
    /// Delete the repositories a run left behind, as listed in its journal.
    Cleanup(cleanup::Args),
    /// Serve the reference model as a local ECR endpoint (AWS JSON 1.1).
    Serve(serve::Args),
    /// Print the rule catalogue: id, level, statement and source of every rule.
    Rules(rules::Args),
    /// Write the seed corpus of every fuzz target (deterministic).
    #[cfg(feature = "arbitrary")]
    Corpus(corpus::Args),
}

/// Parses the arguments, runs the subcommand and maps the outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Matrix(args) => matrix::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Cleanup(args) => cleanup::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Rules(args) => rules::run(&args),
        #[cfg(feature = "arbitrary")]
        Command::Corpus(args) => corpus::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}
