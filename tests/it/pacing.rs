//! Pacing as a client of `serve` sees it: a paced target rides out throttling, and `--rate`
//! is read or refused.

use std::time::Duration;

use ecr_contract::remote::{HttpTarget, Rates};
use ecr_contract::serve::{Config, Fault, first, spawn};
use ecr_contract::wire::Operation;

use crate::support::binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_target_rides_out_throttling_and_gets_its_answer() {
    let server = spawn(Config::default()).await.expect("the server starts");
    server
        .endpoint()
        .fault_on(Operation::CreateRepository, first(3), Fault::Throttle);
    let target = HttpTarget::new(&server.url(), "us-east-1", None, Duration::from_secs(10))
        .expect("a client")
        .paced(&Rates::uniform(Some(1000.0)));
    let body = br#"{"repositoryName":"paced/app"}"#.to_vec();
    let exchange = target
        .send(Operation::CreateRepository, body)
        .await
        .expect("an answer");
    assert_eq!(
        exchange.status,
        200,
        "{}",
        String::from_utf8_lossy(&exchange.body)
    );
    assert_eq!(exchange.retries, 3);
    assert_eq!(server.endpoint().requests(Operation::CreateRepository), 4);
    server.shutdown().await;
}

#[test]
fn a_rate_that_is_not_one_is_refused_with_exit_2() {
    for bad in ["PutImage=fast", "Put=5", "0"] {
        let output = binary()
            .args(["check", "--rate", bad])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("OPERATION=RATE"), "{bad}: {stderr}");
    }
}

#[test]
fn check_paced_on_loopback_still_passes() {
    let output = binary()
        .args(["check", "--cases", "5", "--seed", "1", "--rate", "5000"])
        .args(["--rate", "PutImage=2000", "--rate", "BatchGetImage=none"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("0 failed"), "{stdout}");
}
