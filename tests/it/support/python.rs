//! The Python tools (boto3, the AWS CLI, moto) that `.ci/run` installs into `target/py`.

use std::path::PathBuf;

/// How to install the tools, for failure messages.
pub const INSTALL: &str = "python3 -m venv target/py && target/py/bin/pip install -r tests/clients/requirements.txt \
(or run .ci/run, which does this)";

/// The virtual environment's `bin/` folder (`ECR_CONTRACT_PY` overrides `target/py`). Fails
/// the test with install instructions when the tools are missing: never a silent skip.
pub fn bin() -> PathBuf {
    let root = std::env::var_os("ECR_CONTRACT_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/py")));
    let bin = root.join("bin");
    for tool in ["python", "aws", "moto_server"] {
        assert!(
            bin.join(tool).exists(),
            "{} is missing: the client tests need boto3, the AWS CLI and moto. Install them with: {INSTALL}",
            bin.join(tool).display()
        );
    }
    bin
}

/// Runs `tests/clients/ecr_clients.py` against `url` with `args`, with credentials `key`/`secret`.
pub fn run_client_tests(url: &str, args: &[&str], key: &str, secret: &str) -> std::process::Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/ecr_clients.py");
    std::process::Command::new(bin().join("python"))
        .arg(script)
        .arg(url)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("python runs")
}
