//! `ecr-contract cleanup`: deletes the repositories a crashed or `--keep` run left, as listed in
//! its journal, and nothing else. A journal whose lock is held (a run still going, or another
//! cleanup) is skipped and named: its repositories are its owner's to delete.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use ecr_contract::check::{Deletion, HeldJournal, Journal, delete_repository};
use ecr_contract::remote::{HttpTarget, is_loopback};
use ecr_contract::wire::Credentials;

use super::aws::AwsArgs;

/// Arguments of `cleanup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The journal a `check` run wrote (default: every journal earlier runs left in
    /// $XDG_STATE_HOME/ecr-contract, or ~/.local/state/ecr-contract).
    #[arg(long)]
    journal: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

/// Deletes every journalled repository (force) and forgets those that are gone; exit 1 when
/// some could not be deleted. A held journal is skipped without changing the exit code: the
/// run that holds it deletes what it created, so nothing is left undone that cleanup may do,
/// and a script that repeats cleanup until it exits 0 does not spin on a live run.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let journals = match &args.journal {
        Some(path) => vec![Journal::new(path)],
        None => {
            let dir = Journal::state_dir().context(
                "no state directory to look for journals in: set XDG_STATE_HOME or HOME, or give --journal PATH",
            )?;
            let journals =
                Journal::left_in(&dir).with_context(|| format!("listing {}", dir.display()))?;
            writeln!(
                std::io::stdout().lock(),
                "{} journals left by earlier runs in {}",
                journals.len(),
                dir.display()
            )?;
            journals
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let mut complete = true;
    for journal in &journals {
        let path = journal.path().display();
        match journal.hold().with_context(|| format!("locking {path}"))? {
            Some(held) => complete &= runtime.block_on(clean(&held, &args.aws))?,
            None => writeln!(
                std::io::stdout().lock(),
                "{path}: skipped, held by a run still going (or another cleanup)"
            )?,
        }
    }
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Cleans what one journal lists; whether every repository is gone.
async fn clean(journal: &HeldJournal, aws: &AwsArgs) -> anyhow::Result<bool> {
    let entries = journal
        .entries()
        .with_context(|| format!("reading {}", journal.path().display()))?;
    let mut removed = Vec::new();
    let mut out = std::io::stdout().lock();
    let tls = aws.tls()?;
    // Loaded once for endpoints on this machine and once for the others.
    let mut configured: [Option<Option<Credentials>>; 2] = [None, None];
    for entry in &entries {
        let loopback = is_loopback(&entry.endpoint);
        let slot = &mut configured[usize::from(loopback)];
        if slot.is_none() {
            *slot = Some(aws.config(loopback).await?.credentials);
        }
        let credentials = slot
            .clone()
            .flatten()
            .unwrap_or_else(Credentials::placeholder);
        let target = HttpTarget::with_tls(
            &entry.endpoint,
            &entry.region,
            Some(credentials),
            Duration::from_secs(30),
            &tls,
        )?;
        match delete_repository(&target, &entry.repository).await {
            Ok(Deletion { kept: None, .. }) => {
                writeln!(out, "deleted {} at {}", entry.repository, entry.endpoint)?;
                removed.push(entry.clone());
            }
            Ok(Deletion {
                kept: Some(why), ..
            }) => writeln!(out, "kept {}: {why}", entry.repository)?,
            Err(e) => writeln!(out, "kept {}: {e}", entry.repository)?,
        }
    }
    journal.forget(&removed)?;
    writeln!(
        out,
        "{}: {} of {} journalled repositories removed",
        journal.path().display(),
        removed.len(),
        entries.len()
    )?;
    Ok(removed.len() == entries.len())
}
