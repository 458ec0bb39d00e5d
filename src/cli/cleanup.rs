//! `ecr-contract cleanup`: deletes the repositories a crashed or `--keep` run left, as listed in
//! its journal, and nothing else.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::check::Journal;
use crate::target::HttpTarget;
use crate::wire::{Credentials, Operation};

/// Arguments of `cleanup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The journal a `check` run wrote.
    #[arg(long, default_value = "ecr-contract-journal.tsv")]
    journal: PathBuf,
}

/// Deletes every journalled repository (force) and forgets those that are gone.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let journal = Journal::new(&args.journal);
    let entries = journal
        .entries()
        .with_context(|| format!("reading {}", args.journal.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut removed = Vec::new();
    let mut out = std::io::stdout().lock();
    for entry in &entries {
        let credentials = Credentials::from_env().unwrap_or_else(Credentials::placeholder);
        let target = HttpTarget::new(
            &entry.endpoint,
            &entry.region,
            Some(credentials),
            Duration::from_secs(30),
        )?;
        let body = serde_json::to_vec(
            &serde_json::json!({"repositoryName": entry.repository, "force": true}),
        )?;
        let answer = runtime.block_on(target.send(Operation::DeleteRepository, body));
        match answer {
            Ok(e)
                if e.status == 200
                    || String::from_utf8_lossy(&e.body).contains("RepositoryNotFoundException") =>
            {
                writeln!(out, "deleted {} at {}", entry.repository, entry.endpoint)?;
                removed.push(entry.clone());
            }
            Ok(e) => writeln!(
                out,
                "kept {}: HTTP {} {}",
                entry.repository,
                e.status,
                String::from_utf8_lossy(&e.body)
            )?,
            Err(e) => writeln!(out, "kept {}: {e}", entry.repository)?,
        }
    }
    journal.forget(&removed)?;
    writeln!(
        out,
        "{} of {} journalled repositories removed",
        removed.len(),
        entries.len()
    )?;
    Ok(if removed.len() == entries.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
