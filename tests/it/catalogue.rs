//! The rule catalogue matches the spec's catalogues exactly (`batch-get-image.md` section 9,
//! `registry-api.md` section 6): ids, levels and statements.

use ecr_contract::oracle::{Level, RULES, RuleId};

/// `(id, level, statement)` rows of the verbatim copies of both catalogues.
fn spec_rows() -> Vec<(String, String, String)> {
    let text = [
        include_str!("../cases/rule-catalogue.md"),
        include_str!("../cases/registry-rule-catalogue.md"),
    ]
    .concat();
    text.lines()
        .filter(|l| l.starts_with("| "))
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

#[test]
fn every_rule_of_the_spec_is_in_the_catalogue_with_its_level_and_statement() {
    let rows = spec_rows();
    assert_eq!(
        rows.len(),
        43 + 16,
        "43 BatchGetImage rules and 16 registry API rules"
    );
    for (id, level, statement) in &rows {
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
    assert_eq!(RULES.len(), ids.len());
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
