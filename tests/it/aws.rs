//! Credentials, region and TLS the AWS way: `check` against `serve` over `https://` with a CA
//! made here, trusted through `--ca-bundle`, `AWS_CA_BUNDLE` or not checked at all
//! (`--no-verify-ssl`), and signing with a profile of temporary shared config and credentials
//! files.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ecr_contract::Suite;
use ecr_contract::check::CheckError;
use ecr_contract::serve::{Config, TlsFiles, spawn};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::support::broken::reference_config;
use crate::support::{binary_in, tempdir};

/// A private CA and a certificate it issued for `localhost` and `127.0.0.1`, as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("a dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ecr-contract test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a CA key"))
            .expect("a CA");
        let key = KeyPair::generate().expect("a key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("leaf parameters")
            .signed_by(&key, &ca)
            .expect("a certificate");
        let pki = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca, ca.pem()).expect("written");
        std::fs::write(&pki.cert, leaf.pem()).expect("written");
        std::fs::write(&pki.key, key.serialize_pem()).expect("written");
        pki
    }

    fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

/// The binary in a fresh world under `dir`.
fn binary(dir: &Path) -> Command {
    binary_in(&dir.join("cwd"), &dir.join("state"), &dir.join("home"))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `check` against `url` with `args` added, off the async runtime's threads.
async fn check(dir: &Path, url: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = binary(dir);
    command.args([
        "check",
        "--endpoint-url",
        url,
        "--cases",
        "2",
        "--seed",
        "5",
    ]);
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().expect("check runs"))
        .await
        .expect("joins")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_trusts_a_private_ca_only_when_told_to() {
    let dir = tempdir().join("tls-check");
    let pki = Pki::new(&dir);
    let server = spawn(Config {
        tls: Some(pki.files()),
        ..reference_config()
    })
    .await
    .expect("serve starts");
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let refused = check(&dir, &url, &[], &[]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("UnknownIssuer"),
        "{}",
        text(&refused)
    );

    let ca = pki.ca.display().to_string();
    let trusted = check(&dir, &url, &["--ca-bundle", &ca], &[]).await;
    assert_eq!(trusted.status.code(), Some(0), "{}", text(&trusted));
    assert!(text(&trusted).contains("72 passed, 0 failed"));

    let from_env = check(&dir, &url, &[], &[("AWS_CA_BUNDLE", &pki.ca)]).await;
    assert_eq!(from_env.status.code(), Some(0), "{}", text(&from_env));

    let unverified = check(&dir, &url, &["--no-verify-ssl"], &[]).await;
    assert_eq!(unverified.status.code(), Some(0), "{}", text(&unverified));

    let missing = check(&dir, &url, &["--ca-bundle", "no-such-ca.pem"], &[]).await;
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains("CA bundle no-such-ca.pem: "),
        "{}",
        text(&missing)
    );
    let not_pem = check(
        &dir,
        &url,
        &["--ca-bundle", &pki.key.display().to_string()],
        &[],
    )
    .await;
    assert!(
        text(&not_pem).contains("no PEM certificate in it"),
        "{}",
        text(&not_pem)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_checks_an_https_server_with_a_ca_bundle() {
    let pki = Pki::new(&tempdir().join("tls-suite"));
    let server = spawn(Config {
        tls: Some(pki.files()),
        ..Config::default()
    })
    .await
    .expect("serve starts");
    let error = Suite::new(server.url())
        .cases(0)
        .run()
        .await
        .expect_err("an unknown CA is refused");
    assert!(matches!(error, CheckError::Transport(_)), "{error}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    let report = Suite::new(server.url())
        .cases(2)
        .ca_bundle(&pki.ca)
        .run()
        .await
        .expect("the suite runs");
    report.assert_conforms();
    Suite::new(server.url())
        .cases(0)
        .verify_tls(false)
        .run()
        .await
        .expect("the suite runs unverified")
        .assert_conforms();
    server.shutdown().await;
}

/// `ecr-contract serve` as its own process, stopped on drop.
struct ServeProcess {
    child: Child,
    url: String,
}

impl ServeProcess {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("serve prints its URL");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_of_the_shared_files_signs_for_serve_over_tls_without_showing_its_secret() {
    let dir = tempdir().join("profile");
    let pki = Pki::new(&dir);
    let (credentials, config) = (dir.join("credentials"), dir.join("config"));
    std::fs::write(
        &credentials,
        "[p]\naws_access_key_id = AKIDPROFILEP\naws_secret_access_key = secret-of-profile-p\n\
         [q]\naws_access_key_id = AKIDPROFILEQ\naws_secret_access_key = secret-of-profile-q\n",
    )
    .expect("written");
    std::fs::write(&config, "[profile p]\nregion = eu-west-1\n").expect("written");
    let files = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_path()),
        ("AWS_CONFIG_FILE", config.as_path()),
    ];
    let mut serve = binary(&dir);
    serve
        .args(["serve", "--require-blobs", "--verify-signatures"])
        .arg("--tls-cert")
        .arg(&pki.cert)
        .arg("--tls-key")
        .arg(&pki.key)
        .envs(files)
        .env("AWS_PROFILE", "p");
    let server = ServeProcess::start(serve);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let ca = pki.ca.display().to_string();
    let report = dir.join("report.json").display().to_string();
    let profile_p = [files[0], files[1], ("AWS_PROFILE", Path::new("p"))];
    let signed = check(
        &dir,
        &server.url,
        &["--ca-bundle", &ca, "--report-json", &report],
        &profile_p,
    )
    .await;
    assert_eq!(signed.status.code(), Some(0), "{}", text(&signed));
    let json = std::fs::read_to_string(&report).expect("a report");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(parsed["region"], "eu-west-1", "the profile's region");
    for shown in [text(&signed), json] {
        assert!(!shown.contains("secret-of-profile-p"), "{shown}");
    }

    // Profile q's keys are not the server's; --profile p wins over AWS_PROFILE=q.
    let profile_q = [files[0], files[1], ("AWS_PROFILE", Path::new("q"))];
    let wrong = check(&dir, &server.url, &["--ca-bundle", &ca], &profile_q).await;
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("UnrecognizedClientException"),
        "{}",
        text(&wrong)
    );
    assert!(!text(&wrong).contains("secret-of-profile-q"));
    let named = check(
        &dir,
        &server.url,
        &["--ca-bundle", &ca, "--profile", "p"],
        &profile_q,
    )
    .await;
    assert_eq!(named.status.code(), Some(0), "{}", text(&named));

    let unknown = check(
        &dir,
        &server.url,
        &["--ca-bundle", &ca, "--profile", "nobody"],
        &profile_q,
    )
    .await;
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(text(&unknown).contains("nobody"), "{}", text(&unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_check_never_asks_the_instance_metadata_service() {
    // A metadata service that would accept connections and never answer.
    let metadata = TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", metadata.local_addr().expect("an address"));
    let dir = tempdir().join("imds");
    let mut command = binary(&dir);
    command
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)
        .args(["check", "--cases", "0"]);
    let output = tokio::task::spawn_blocking(move || command.output().expect("check runs"))
        .await
        .expect("joins");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    metadata.set_nonblocking(true).expect("non-blocking");
    assert!(
        metadata.accept().is_err(),
        "check connected to the metadata service"
    );
}
