//! `ecr-contract rules`: the rule catalogue, as a table or as JSON.

use std::io::Write;
use std::process::ExitCode;

use ecr_contract::oracle::RULES;

/// Arguments of `rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints the catalogue to standard output.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, RULES)?;
        writeln!(out)?;
    } else {
        for rule in RULES {
            writeln!(
                out,
                "{:<30} {:<6} {}",
                rule.id.as_str(),
                rule.level.as_str(),
                rule.statement
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
