//! `ecr-contract corpus`: writes the deterministic seed corpus of every fuzz target.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sha2::{Digest, Sha256};

use ecr_contract::fuzzing::{TARGETS, seeds};

/// Arguments of `corpus`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write into: one subfolder per target, as `cargo fuzz run` expects.
    #[arg(long, default_value = "fuzz/corpus")]
    out: PathBuf,
}

/// Writes each seed as a file named by its SHA-256 (so rewriting is idempotent).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for (name, _) in TARGETS {
        let dir = args.out.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let seeds = seeds(name).unwrap_or_default();
        for seed in &seeds {
            let path = dir.join(format!("{:x}", Sha256::digest(seed)));
            std::fs::write(&path, seed).with_context(|| format!("writing {}", path.display()))?;
        }
        writeln!(out, "{name}: {} seeds in {}", seeds.len(), dir.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
