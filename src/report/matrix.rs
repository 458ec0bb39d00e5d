//! Several servers on one page: rules as rows, servers as columns, each cell pass, fail (with
//! the count and a link to the first example in that server's own report), not exercised,
//! ledgered (a known divergence of that server's ledger), or parity-different (conforming,
//! but answering otherwise than the recording the run was held to); a summary row per
//! server. Rendered as one HTML page and one Markdown table.

use std::fmt::Write;

use crate::oracle::{Level, RULES, RuleId};

use super::Report;
use super::document::{Verdict, rows};
use super::html::escape;
use super::markdown::text;

/// One server of a matrix.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// The server's name, as the page shows it.
    pub name: &'a str,
    /// Its report (with its ledger verdict and parity section, when it has them).
    pub report: &'a Report,
    /// Where its own HTML report is, relative to the matrix page (links to the first example
    /// of each failure and to each parity difference).
    pub page: Option<&'a str>,
}

/// What a cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Exercised, never broken, answered as recorded (or held to no recording).
    Pass,
    /// Broken `count` times.
    Fail {
        /// How many violations.
        count: usize,
    },
    /// Broken, and listed in the server's ledger.
    Ledgered {
        /// How many violations.
        count: usize,
    },
    /// Conforming, but `count` answers differ from the recording's.
    Parity {
        /// How many differences.
        count: usize,
    },
    /// No probe reached the rule.
    NotExercised,
}

impl Cell {
    /// The CSS class and the label of the cell.
    pub fn label(&self) -> (&'static str, String) {
        match self {
            Self::Pass => ("pass", "pass".into()),
            Self::Fail { count } => ("fail", format!("FAIL x{count}")),
            Self::Ledgered { count } => ("known", format!("ledgered x{count}")),
            Self::Parity { count } => ("parity", format!("parity x{count}")),
            Self::NotExercised => ("none", "not exercised".into()),
        }
    }
}

/// Each rule's cell for `report`, in the catalogue's order.
pub fn cells(report: &Report) -> Vec<(RuleId, Cell)> {
    let parity = |rule: RuleId| {
        report
            .parity
            .iter()
            .flatten()
            .filter(|d| d.rule == Some(rule))
            .count()
    };
    rows(report)
        .into_iter()
        .map(|row| {
            let rule = row.rule.rule;
            let cell = match row.verdict {
                Verdict::Fail => Cell::Fail {
                    count: row.rule.count,
                },
                Verdict::Known => Cell::Ledgered {
                    count: row.rule.count,
                },
                _ if parity(rule) > 0 => Cell::Parity {
                    count: parity(rule),
                },
                Verdict::Pass => Cell::Pass,
                Verdict::NotExercised => Cell::NotExercised,
            };
            (rule, cell)
        })
        .collect()
}

/// A server's summary: failed must and should rules, passed, not exercised, ledgered,
/// parity-different.
fn summary(report: &Report) -> String {
    let cells = cells(report);
    let failed = |level: Level| {
        cells
            .iter()
            .filter(|(rule, cell)| {
                matches!(cell, Cell::Fail { .. })
                    && RULES.iter().any(|r| r.id == *rule && r.level == level)
            })
            .count()
    };
    let count = |f: fn(&Cell) -> bool| cells.iter().filter(|(_, c)| f(c)).count();
    format!(
        "{} must and {} should failed; {} passed; {} not exercised; {} ledgered; {} parity",
        failed(Level::Must),
        failed(Level::Should),
        count(|c| *c == Cell::Pass),
        count(|c| *c == Cell::NotExercised),
        count(|c| matches!(c, Cell::Ledgered { .. })),
        count(|c| matches!(c, Cell::Parity { .. })),
    )
}

fn link(column: &Column<'_>, rule: RuleId, cell: &Cell) -> Option<String> {
    let page = column.page?;
    match cell {
        Cell::Fail { .. } | Cell::Ledgered { .. } => Some(format!("{page}#{rule}")),
        Cell::Parity { .. } => Some(format!("{page}#parity-{rule}")),
        Cell::Pass | Cell::NotExercised => None,
    }
}

/// The matrix as a Markdown table; each rule links to its section of the contract, under
/// `contract_base` (`""`: relative to the repository's root, as in every report; `"../../"`
/// for a page two folders down).
pub fn matrix_markdown(columns: &[Column<'_>], contract_base: &str) -> String {
    let mut out = String::from("# ECR conformance matrix\n\n| rule | level |");
    for column in columns {
        let _ = write!(out, " {} |", text(column.name));
    }
    out.push_str("\n| --- | --- |");
    out.push_str(&" --- |".repeat(columns.len()));
    out.push('\n');
    let all: Vec<Vec<(RuleId, Cell)>> = columns.iter().map(|c| cells(c.report)).collect();
    for (i, rule) in RULES.iter().enumerate() {
        let _ = write!(
            out,
            "| [{}]({contract_base}{}) | {} |",
            rule.id,
            rule.id.contract_link(),
            rule.level
        );
        for (column, cells) in columns.iter().zip(&all) {
            let cell = &cells[i].1;
            let (_, label) = cell.label();
            match link(column, rule.id, cell) {
                Some(href) => {
                    let _ = write!(out, " [{label}]({href}) |");
                }
                None => {
                    let _ = write!(out, " {label} |");
                }
            }
        }
        out.push('\n');
    }
    out.push_str("| summary | |");
    for column in columns {
        let _ = write!(out, " {} |", text(&summary(column.report)));
    }
    out.push('\n');
    out
}

/// The matrix as one HTML page (`contract_base` as for [`matrix_markdown`]).
pub fn matrix_html(columns: &[Column<'_>], contract_base: &str) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ECR conformance matrix</title>\n<style>\
body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}\
.pass{background:#e6f4ea}.fail{background:#fce8e6}.known{background:#fef7e0}.parity{background:#e8f0fe}.none{color:#777}\
</style></head><body>\n<h1>ECR conformance matrix</h1>\n<table id=\"matrix\">\n<tr><th>rule<th>level",
    );
    for column in columns {
        let _ = write!(out, "<th>{}", escape(column.name));
    }
    out.push_str("</tr>\n");
    let all: Vec<Vec<(RuleId, Cell)>> = columns.iter().map(|c| cells(c.report)).collect();
    for (i, rule) in RULES.iter().enumerate() {
        let _ = write!(
            out,
            "<tr id=\"{id}\"><td><a href=\"{}{}\">{id}</a><td>{}",
            escape(contract_base),
            escape(&rule.id.contract_link()),
            rule.level,
            id = rule.id
        );
        for (column, cells) in columns.iter().zip(&all) {
            let cell = &cells[i].1;
            let (class, label) = cell.label();
            match link(column, rule.id, cell) {
                Some(href) => {
                    let _ = write!(
                        out,
                        "<td class=\"{class}\"><a href=\"{}\">{}</a>",
                        escape(&href),
                        escape(&label)
                    );
                }
                None => {
                    let _ = write!(out, "<td class=\"{class}\">{}", escape(&label));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("<tr class=\"summary\"><th>summary<th>");
    for column in columns {
        let _ = write!(out, "<td>{}", escape(&summary(column.report)));
    }
    out.push_str("</tr>\n</table>\n</body></html>\n");
    out
}
