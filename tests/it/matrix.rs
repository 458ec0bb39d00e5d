//! `ecr-contract matrix`: serve, moto and a broken server on one page, every cell readable
//! and linked to the evidence in that server's own report.

use std::path::Path;

use ecr_contract::oracle::RULES;

use crate::peers::Moto;
use crate::support::broken::{Fault, broken_server};
use crate::support::{binary, tempdir};

const MOTO_LEDGER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/moto.toml");

/// The cells of the row of `rule` in the matrix page: `(class, link)` per server.
fn row(html: &str, rule: &str) -> Vec<(String, Option<String>)> {
    let start = html
        .find(&format!("<tr id=\"{rule}\">"))
        .unwrap_or_else(|| panic!("no row for {rule}"));
    let end = start + html[start..].find("</tr>").expect("the row ends");
    html[start..end]
        .split("<td class=\"")
        .skip(1)
        .map(|cell| {
            let class = cell.split('"').next().unwrap_or_default().to_owned();
            let link = cell
                .split_once("<a href=\"")
                .map(|(_, rest)| rest.split('"').next().unwrap_or_default().to_owned());
            (class, link)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_of_serve_moto_and_a_broken_server_has_every_cell_readable_and_linked() {
    let broken = broken_server(Fault {
        mutation: Some("drop_image"),
        ..Fault::default()
    })
    .await;
    let broken_url = broken.uri();
    let dir = tempdir().join("matrix");
    let out = dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        let moto = Moto::start();
        binary()
            .args(["matrix", "--out"])
            .arg(&out)
            .args(["--seed", "1", "--cases", "5", "--ledger"])
            .arg(format!("moto={MOTO_LEDGER}"))
            .arg("serve=embedded")
            .arg(format!("moto={}", moto.url))
            .arg(format!("broken={broken_url}"))
            .output()
            .expect("ecr-contract runs")
    })
    .await
    .expect("joined");
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{shown}");
    let html = std::fs::read_to_string(dir.join("matrix.html")).expect("matrix.html");
    assert!(html.contains("<th>serve<th>moto<th>broken</tr>"), "{html}");
    assert_eq!(
        html.matches("<tr id=\"").count(),
        RULES.len(),
        "one row per rule"
    );
    let mut seen = std::collections::BTreeMap::<(usize, String), usize>::new();
    for rule in RULES {
        let cells = row(&html, rule.id.as_str());
        assert_eq!(cells.len(), 3, "{}: one cell per server", rule.id);
        for (i, (class, link)) in cells.iter().enumerate() {
            assert!(
                ["pass", "fail", "known", "parity", "none"].contains(&class.as_str()),
                "{}: {class}",
                rule.id
            );
            *seen.entry((i, class.clone())).or_default() += 1;
            if ["fail", "known"].contains(&class.as_str()) {
                let link = link
                    .as_deref()
                    .unwrap_or_else(|| panic!("{}: no link", rule.id));
                let (page, anchor) = link.split_once('#').expect("page#rule");
                assert_eq!(anchor, rule.id.as_str());
                let page = std::fs::read_to_string(dir.join(page)).expect("the linked report");
                assert!(
                    page.contains(&format!("id=\"{anchor}\"")),
                    "{link}: no such anchor"
                );
            }
        }
    }
    assert_eq!(
        seen.get(&(0, "fail".into())),
        None,
        "serve breaks no rule: {seen:?}"
    );
    assert!(
        seen.contains_key(&(1, "known".into())),
        "moto's ledgered divergences: {seen:?}"
    );
    assert_eq!(
        seen.get(&(1, "fail".into())),
        None,
        "moto: all in its ledger: {seen:?}"
    );
    assert!(
        seen.contains_key(&(2, "fail".into())),
        "the broken server fails: {seen:?}"
    );
    assert_eq!(html.matches("<tr class=\"summary\">").count(), 1);
    let markdown = std::fs::read_to_string(dir.join("matrix.md")).expect("matrix.md");
    assert!(
        markdown.contains("| rule | level | serve | moto | broken |"),
        "{markdown}"
    );
    assert_eq!(
        markdown.lines().filter(|l| l.starts_with("| [")).count(),
        RULES.len()
    );
    assert!(
        markdown.contains("](broken.html#"),
        "failures link to the evidence"
    );
    assert!(Path::new(&dir.join("serve.html")).is_file());
}
