//! `ecr-contract matrix`: the same run (same seed, same sequences) against several servers,
//! as one HTML page and one Markdown table: rules as rows, servers as columns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use ecr_contract::recording::Recording;
use ecr_contract::report::{Column, Ledger, Report, matrix_html, matrix_markdown, to_html};

use super::check::{Keep, RunArgs, in_runtime, run_for};

/// Arguments of `matrix`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the matrix was written; 2 a server could not be checked.\n\
Example: ecr-contract matrix --out matrix serve=embedded moto=http://127.0.0.1:5000 --ledger moto=tests/peers/moto.toml"
)]
pub struct Args {
    /// Servers, as NAME=URL (`NAME=embedded` for the embedded reference server).
    #[arg(required = true, value_name = "NAME=URL")]
    servers: Vec<String>,
    /// The folder to write `matrix.html`, `matrix.md` and each server's `NAME.html` into.
    #[arg(long, default_value = "matrix")]
    out: PathBuf,
    /// A server's divergence ledger, as NAME=PATH (repeatable): its known divergences are
    /// shown as ledgered.
    #[arg(long, value_name = "NAME=PATH")]
    ledger: Vec<String>,
    /// Hold every server to this recording (its seed and sequences): parity differences are
    /// shown per rule.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["seed", "cases"])]
    against: Option<PathBuf>,
    /// Put this before each rule's link to the contract (`docs/contract/...`), such as
    /// `../../` for a page two folders below the repository's root.
    #[arg(long, default_value = "")]
    contract_base: String,
    #[command(flatten)]
    run: RunArgs,
}

/// Checks every server and writes the matrix.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let servers = pairs(&args.servers, "server")?;
    let ledgers = pairs(&args.ledger, "--ledger")?;
    for (name, _) in &ledgers {
        if !servers.iter().any(|(s, _)| s == name) {
            bail!("--ledger {name}=...: no server named {name}");
        }
    }
    in_runtime(async {
        let against = args
            .against
            .as_deref()
            .map(Recording::load)
            .transpose()?
            .map(Arc::new);
        let seed = against
            .as_ref()
            .map_or_else(|| args.run.seed(), |r| r.meta.seed);
        let mut reports: Vec<(String, Report)> = Vec::new();
        for (name, url) in &servers {
            let endpoint = (url != "embedded").then(|| url.clone());
            let keep = against.clone().map_or(Keep::Report, Keep::Against);
            let (mut report, _) = run_for(endpoint, &args.run, seed, keep)
                .await
                .with_context(|| format!("checking {name}"))?;
            let ledger = ledger_of(&ledgers, name)?;
            report.ledger = ledger.as_ref().map(|l| l.compare(&report));
            write(
                &args.out,
                &format!("{}.html", file_name(name)),
                &to_html(&report, ledger.as_ref()),
            )?;
            reports.push((name.clone(), report));
        }
        let pages: Vec<String> = reports
            .iter()
            .map(|(n, _)| format!("{}.html", file_name(n)))
            .collect();
        let columns: Vec<Column<'_>> = reports
            .iter()
            .zip(&pages)
            .map(|((name, report), page)| Column {
                name,
                report,
                page: Some(page),
            })
            .collect();
        write(
            &args.out,
            "matrix.html",
            &matrix_html(&columns, &args.contract_base),
        )?;
        let markdown = matrix_markdown(&columns, &args.contract_base);
        write(&args.out, "matrix.md", &markdown)?;
        std::io::stdout().lock().write_all(markdown.as_bytes())?;
        Ok(ExitCode::SUCCESS)
    })
}

fn pairs(items: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in items {
        let Some((name, value)) = item
            .split_once('=')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            bail!("{what} {item:?}: expected NAME=VALUE");
        };
        if out.iter().any(|(n, _)| n == name) {
            bail!("{what} {name} given twice");
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn ledger_of(ledgers: &[(String, String)], name: &str) -> anyhow::Result<Option<Ledger>> {
    ledgers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, path)| Ledger::load(Path::new(path)).map_err(anyhow::Error::from))
        .transpose()
}

/// `name` as a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned()
}

fn write(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
}
