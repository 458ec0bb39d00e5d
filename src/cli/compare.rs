//! `ecr-contract compare`: the same suite (same seed, same cases) against two endpoints, and
//! where their verdicts differ, rule by rule.

use std::io::Write;
use std::process::ExitCode;

use ecr_contract::report::{compare, comparison_to_text};

use super::check::{RunArgs, in_runtime, report_for};

/// Arguments of `compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the two endpoints agree on every rule; 1 they differ; 2 a run could not be done.\n\
Example: ecr-contract compare embedded http://127.0.0.1:5055"
)]
pub struct Args {
    /// The first endpoint URL, or `embedded` for the embedded reference server.
    left: String,
    /// The second endpoint URL, or `embedded`.
    right: String,
    #[command(flatten)]
    run: RunArgs,
    /// Write both reports and the per-rule comparison as JSON here.
    #[arg(long)]
    report_json: Option<std::path::PathBuf>,
}

/// Runs both checks and prints where they differ.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    in_runtime(async {
        let seed = args.run.seed();
        let left = report_for(endpoint(&args.left), &args.run, seed).await?;
        let right = report_for(endpoint(&args.right), &args.run, seed).await?;
        let diffs = compare(&left, &right);
        if let Some(path) = &args.report_json {
            let json = serde_json::json!({"left": left.to_json(), "right": right.to_json(), "rules": diffs});
            std::fs::write(path, serde_json::to_vec_pretty(&json)?)?;
        }
        write!(
            std::io::stdout().lock(),
            "{}",
            comparison_to_text(&left, &right, &diffs)
        )?;
        Ok(if diffs.iter().any(|d| d.differs()) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// `None` (the embedded server) for `embedded`.
fn endpoint(name: &str) -> Option<String> {
    (name != "embedded").then(|| name.to_owned())
}
