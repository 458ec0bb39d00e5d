//! For server authors: the `ecr-contract check` suite inside your own `cargo test`.
//!
//! Copy this file into your server's `tests/` folder and start your server where
//! `start_server` does. Here the server is `ecr-contract`'s own reference server, so the file
//! runs as it is: `cargo test --example server_author`.

#[cfg(test)]
mod tests {
    use ecr_contract::Suite;
    use ecr_contract::oracle::RuleId;
    use ecr_contract::serve::{Config, Fault, Server, nth, spawn};
    use ecr_contract::wire::Credentials;
    use ecr_contract::wire::Operation;

    /// The server under test, on a loopback port. Replace with your own: any URL works, and
    /// endpoints off this machine need `.allow_writes(true)` and `.credentials(..)`.
    async fn start_server() -> Server {
        // Like real ECR: pushed blobs are required, and requests must be signed (`Suite` signs
        // with placeholder credentials on loopback unless given others).
        let config = Config {
            require_blobs: true,
            verify_signatures: Some(Credentials::placeholder()),
            ..Config::default()
        };
        spawn(config).await.expect("the server starts")
    }

    /// The whole suite: every contract case, an unsigned request, and 50 random sequences of
    /// setup calls and reads. A failure panics with the report: each broken rule, the request,
    /// the answer, and a `curl` command that reproduces it.
    #[tokio::test]
    async fn my_server_conforms_to_batch_get_image() {
        let server = start_server().await;
        let report = Suite::new(server.url())
            .cases(50)
            .run()
            .await
            .expect("the suite could run");
        report.assert_conforms();
        server.shutdown().await;
    }

    /// A server with known divergences lists them; the test fails on any other violation, and
    /// also when a listed divergence is gone, so the list stays true. The seed pins the random
    /// sequences.
    #[tokio::test]
    async fn my_server_conforms_except_its_known_divergences() {
        let server = start_server().await;
        // A stand-in for a bug: the first BatchGetImage answer is an HTTP 500.
        server
            .endpoint()
            .fault_on(Operation::BatchGetImage, nth(1), Fault::ServerError);
        let report = Suite::new(server.url())
            .cases(20)
            .seed(42)
            .run()
            .await
            .expect("the suite could run");
        report.assert_conforms_except(&[RuleId::RobustNo5xx, RuleId::IdAccounting]);
        server.shutdown().await;
    }
}
