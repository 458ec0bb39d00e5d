//! `ecr-contract rules`: the rule catalogue, as a table or as JSON; `rules ID` shows one rule
//! with the contract's text it comes from.

use std::io::Write;
use std::process::ExitCode;

use ecr_contract::oracle::{CONTRACT_VERSION, RULES, RuleId};

/// Arguments of `rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// One rule's id (`ID-MISMATCH-CODE`): its statement, level, sources, and the contract's
    /// row and section it comes from.
    id: Option<String>,
}

/// Prints the catalogue, or one rule, to standard output.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if let Some(id) = &args.id {
        let id = RuleId::parse(id).ok_or_else(|| {
            anyhow::anyhow!("no rule {id} in the catalogue (`ecr-contract rules` lists them)")
        })?;
        write!(out, "{}", one_rule(id))?;
    } else if args.json {
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

/// A rule in full: the catalogue's fields, the contract's row of it, and its section's text.
fn one_rule(id: RuleId) -> String {
    let rule = id.rule();
    let section = id.section();
    let row = section.document.row(id).unwrap_or("(no row)");
    let text = section.text().unwrap_or("(no such section)");
    format!(
        "{id} ({level}): {statement}\nsources: {source}\ncontract {CONTRACT_VERSION}: {link}\n\nits row in {path}:\n{row}\n\n{text}\n",
        level = rule.level,
        statement = rule.statement,
        source = rule.source,
        link = section.link(),
        path = section.document.path(),
    )
}
