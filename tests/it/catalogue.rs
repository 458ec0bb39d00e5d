//! The rule catalogue matches the contract's catalogues exactly (`batch-get-image.md` section
//! 9, `registry-api.md` section 7, read from the repository's copy in `docs/contract/`): ids,
//! levels and statements; and every rule links to a section of the contract that exists.

use ecr_contract::oracle::{CONTRACT_VERSION, Document, Level, RULES, RuleId, anchors};
use ecr_contract::report::{Report, to_html, to_junit, to_markdown, to_text};

use crate::support::binary;

/// The contract as the repository holds it, read as files, not through the library.
const CONTRACT: [(&str, &str); 2] = [
    (
        "batch-get-image.md",
        include_str!("../../docs/contract/batch-get-image.md"),
    ),
    (
        "registry-api.md",
        include_str!("../../docs/contract/registry-api.md"),
    ),
];

/// Rules of `registry-api.md` the catalogue does not judge yet. Each entry must still be
/// missing, so the list shrinks as they are added: it is empty now.
const NOT_YET_IN_THE_CATALOGUE: [&str; 0] = [];

/// `(id, level, statement)` rows of both documents' rule catalogue tables.
fn spec_rows() -> Vec<(String, String, String)> {
    CONTRACT
        .iter()
        .flat_map(|(_, text)| catalogue_table(text))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (
                cells[0].to_owned(),
                cells[1].to_owned(),
                cells[2..].join(" | "),
            )
        })
        .collect()
}

/// The rows of the table under a document's `Rule catalogue` heading, header rows left out.
fn catalogue_table(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .skip_while(|l| !(l.starts_with("## ") && l.ends_with("Rule catalogue")))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id ") && !l.starts_with("| ---"))
}

#[test]
fn the_contract_catalogues_hold_43_and_29_rules() {
    let rows = spec_rows();
    let registry = rows.iter().filter(|(id, _, _)| id.starts_with("REG-"));
    assert_eq!(rows.len(), 43 + 29);
    assert_eq!(registry.count(), 29);
}

#[test]
fn every_rule_of_the_spec_is_in_the_catalogue_with_its_level_and_statement() {
    for (id, level, statement) in &spec_rows() {
        if NOT_YET_IN_THE_CATALOGUE.contains(&id.as_str()) {
            assert_eq!(RuleId::parse(id), None, "{id} is in the catalogue now");
            continue;
        }
        let rule = RuleId::parse(id)
            .unwrap_or_else(|| panic!("{id} is missing from the catalogue"))
            .rule();
        assert_eq!(rule.level.as_str(), level, "level of {id}");
        assert_eq!(rule.statement, statement, "statement of {id}");
    }
}

#[test]
fn the_catalogue_has_no_rule_the_spec_does_not_have() {
    let ids: Vec<String> = spec_rows().into_iter().map(|(id, _, _)| id).collect();
    for rule in RULES {
        assert!(
            ids.contains(&rule.id.as_str().to_owned()),
            "{} is not in the spec",
            rule.id
        );
        assert!(!rule.source.is_empty(), "{} has no source", rule.id);
    }
    assert_eq!(RULES.len() + NOT_YET_IN_THE_CATALOGUE.len(), ids.len());
}

#[test]
fn the_embedded_contract_is_the_repository_s_copy() {
    for (document, (file, text)) in Document::ALL.into_iter().zip(CONTRACT) {
        assert_eq!(document.path(), format!("docs/contract/{file}"));
        assert_eq!(document.text(), text, "{file}");
    }
}

#[test]
fn every_rule_links_to_an_anchor_of_its_document() {
    for rule in RULES {
        let section = rule.id.section();
        let link = rule.id.contract_link();
        let (path, anchor) = link.split_once('#').expect("a link with an anchor");
        assert_eq!(path, section.document.path(), "{}", rule.id);
        assert!(
            anchors(section.document.text()).contains(&anchor.to_owned()),
            "{}: no heading of {path} has the anchor {anchor}",
            rule.id
        );
        assert!(section.text().is_some(), "{}: no section text", rule.id);
        assert!(
            section.document.row(rule.id).is_some(),
            "{}: no row",
            rule.id
        );
    }
}

#[test]
fn anchors_are_computed_as_github_computes_them() {
    let text = "# A title\n```sh\n# a comment, not a heading\n```\n## 1. Wire protocol (AWS JSON 1.1)\n### Media-type negotiation (`acceptedMediaTypes`)\n## Notes\n## Notes\n";
    assert_eq!(
        anchors(text),
        [
            "a-title",
            "1-wire-protocol-aws-json-11",
            "media-type-negotiation-acceptedmediatypes",
            "notes",
            "notes-1",
        ]
    );
}

#[test]
fn a_section_runs_to_the_next_heading_of_its_level_with_its_subsections() {
    let section = RuleId::ManTranslation.section();
    let text = section.text().expect("section 5");
    assert!(text.starts_with("## 5. The manifest, its digest and its media type\n"));
    assert!(text.contains("### Media-type negotiation"));
    assert!(!text.contains("## 6."));
    let mismatch = RuleId::IdMismatchCode.section().text().expect("section 4");
    assert!(mismatch.contains(
        "| `T` and `D` | `T` exists, points elsewhere | failure `ImageTagDoesNotMatchDigest`"
    ));
}

#[test]
fn rule_ids_round_trip_through_their_spelling() {
    for rule in RULES {
        assert_eq!(RuleId::parse(rule.id.as_str()), Some(rule.id));
        assert_eq!(rule.id.level(), rule.level);
    }
    assert_eq!(RuleId::parse("id-by-tag"), None, "ids are spelled exactly");
}

#[test]
fn may_rules_never_fail_a_run() {
    let may = RULES
        .iter()
        .filter(|r| r.level == Level::May)
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>();
    assert_eq!(
        may,
        ["WIRE-UNKNOWN-MEMBER", "ID-INVALID-TAG", "ROBUST-AUTH"]
    );
    let v = ecr_contract::oracle::Violation::new(RuleId::WireUnknownMember, "x", "a", "b");
    assert!(!v.fails_at(Level::Should) && !v.fails_at(Level::Must));
}

#[test]
fn rules_with_an_id_shows_the_row_and_the_section_of_the_contract_it_comes_from() {
    let out = binary()
        .args(["rules", "ID-MISMATCH-CODE"])
        .output()
        .expect("ecr-contract runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let rule = RuleId::IdMismatchCode.rule();
    for part in [
        rule.statement,
        rule.source,
        "ID-MISMATCH-CODE (should)",
        "docs/contract/batch-get-image.md#4-resolving-each-image-id",
        "| ID-MISMATCH-CODE | should |",
        "## 4. Resolving each image id",
        "| `T` and `D` | `T` exists, points elsewhere | failure `ImageTagDoesNotMatchDigest`",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
    assert!(!text.contains("## 5."), "only its own section");
    let unknown = binary()
        .args(["rules", "NO-SUCH-RULE"])
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn version_names_the_crate_and_the_contract() {
    let out = binary()
        .arg("--version")
        .output()
        .expect("ecr-contract runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(
        text.trim(),
        format!(
            "ecr-contract {} (contract {CONTRACT_VERSION})",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn every_report_records_the_versions_and_links_every_rule_to_its_section() {
    let report = Report::default();
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["contract_version"], CONTRACT_VERSION);
    let versions = format!(
        "ecr-contract {}, contract {CONTRACT_VERSION}",
        env!("CARGO_PKG_VERSION")
    );
    let junit = to_junit(&report, Level::Should);
    assert!(junit.contains(&format!(
        r#"<property name="contract_version" value="{CONTRACT_VERSION}"/>"#
    )));
    for (format, text) in [
        ("text", to_text(&report)),
        ("Markdown", to_markdown(&report, None)),
        ("HTML", to_html(&report, None)),
    ] {
        assert!(text.contains(&versions), "{format} names no versions");
    }
    for rule in RULES {
        let link = rule.id.contract_link();
        for (format, text) in [
            ("text", to_text(&report)),
            ("Markdown", to_markdown(&report, None)),
            ("HTML", to_html(&report, None)),
            ("JUnit", junit.clone()),
        ] {
            assert!(text.contains(&link), "{format} has no link for {}", rule.id);
        }
    }
}
