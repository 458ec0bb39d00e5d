//! `ecr-contract replay`: each recording replayed through the model and the oracle, without
//! the server it was recorded from.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use ecr_contract::oracle::Level;
use ecr_contract::recording::replay;
use ecr_contract::report::to_text;

use super::check::in_runtime;

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every recording replays with its recorded verdict, rule by rule, and no violation at or above should; \
1 a verdict changed, a request had no recorded answer, or a violation; 2 a recording could not be read or replayed.\n\
Example: ecr-contract replay tests/recordings/*"
)]
pub struct Args {
    /// Recording folders (written by `ecr-contract check --record DIR`).
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
}

/// Replays every recording and prints each verdict.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    in_runtime(async {
        let mut failed = false;
        let mut out = std::io::stdout().lock();
        for dir in &args.recordings {
            let (recording, replayed) = replay(dir).await?;
            writeln!(out, "== {}", dir.display())?;
            write!(out, "{}", to_text(&replayed.report))?;
            let changes = replayed.verdict_changes(&recording);
            for (rule, was, now) in &changes {
                writeln!(
                    out,
                    "verdict changed: {rule}: recorded {was}, replayed {now}"
                )?;
            }
            for miss in &replayed.misses {
                writeln!(out, "no recorded answer: {miss}")?;
            }
            if replayed.unused > 0 {
                writeln!(
                    out,
                    "recorded exchanges never asked for: {}",
                    replayed.unused
                )?;
            }
            failed |= !changes.is_empty()
                || !replayed.misses.is_empty()
                || replayed.report.fails_at(Level::Should);
        }
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}
