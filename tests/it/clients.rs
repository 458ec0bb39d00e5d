//! `ecr-contract serve` driven by the real AWS clients: boto3 and the AWS CLI.

use ecr_contract::serve::{Config, spawn};
use ecr_contract::wire::Credentials;

use crate::support::python::run_client_tests;

fn assert_passed(output: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "client tests failed:\n{text}");
    assert!(
        text.contains("\nOK"),
        "client tests did not report OK:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_the_aws_cli_work_against_serve() {
    let server = spawn(Config::default()).await.expect("serve starts");
    let url = server.url();
    let output =
        tokio::task::spawn_blocking(move || run_client_tests(&url, &[], "testing", "testing"))
            .await
            .expect("runs");
    server.shutdown().await;
    assert_passed(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_verifies_boto3_signatures_when_asked() {
    let config = Config {
        verify_signatures: Some(Credentials::new(
            "AKIDECRCONTRACT",
            "secret-for-tests",
            None,
        )),
        ..Config::default()
    };
    let server = spawn(config).await.expect("serve starts");
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        run_client_tests(
            &url,
            &["--signed-only"],
            "AKIDECRCONTRACT",
            "secret-for-tests",
        )
    })
    .await
    .expect("runs");
    server.shutdown().await;
    assert_passed(&output);
}
