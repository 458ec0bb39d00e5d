//! JUnit XML: one test case per rule, by `quick-junit`.

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use crate::oracle::Level;

use super::{Report, Status};

/// The report as JUnit XML: a suite, a test case per rule; failures at or above `fail_on`
/// are failures, `may` violations pass with their findings in the output.
pub fn to_junit(report: &Report, fail_on: Level) -> String {
    let mut suite = TestSuite::new("ecr-contract");
    suite.add_property(("tool_version", report.versions.tool_version));
    suite.add_property(("contract_version", report.versions.contract_version));
    for (operation, n) in &report.spent {
        suite.add_property((
            format!("spent {operation}").as_str(),
            n.to_string().as_str(),
        ));
    }
    for rule in report.rules() {
        let findings: Vec<&super::Finding> = report
            .findings
            .iter()
            .filter(|f| f.violation.rule == rule.rule)
            .collect();
        let fails = findings.iter().any(|f| f.violation.fails_at(fail_on));
        let status = match (rule.status, fails) {
            (Status::NotExercised, _) => {
                let mut s = TestCaseStatus::skipped();
                s.set_message("not exercised");
                s
            }
            (_, true) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "{} violation(s): {}",
                    findings.len(),
                    findings[0].message
                ));
                s.set_description(
                    findings
                        .iter()
                        .map(|f| format!("{}\n  {}\n", f.message, f.reproduction.curl))
                        .collect::<String>(),
                );
                s
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(format!("{} ({})", rule.rule, rule.level), status);
        case.set_classname("rules");
        case.add_property(("contract", rule.rule.contract_link().as_str()));
        if !findings.is_empty() && !fails {
            case.set_system_out(
                findings
                    .iter()
                    .map(|f| format!("{}\n", f.message))
                    .collect::<String>(),
            );
        }
        suite.add_test_case(case);
    }
    let coverage = report.coverage_lines();
    if !coverage.is_empty() {
        suite.set_system_out(coverage.join("\n"));
    }
    let mut junit = Junit::new("ecr-contract check");
    junit.add_test_suite(suite);
    junit.to_string().unwrap_or_default()
}
