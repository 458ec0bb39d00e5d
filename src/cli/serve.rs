//! `ecr-contract serve`: the reference model as a local ECR endpoint.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use ecr_contract::model::RegistryId;
use ecr_contract::remote::AwsConfig;
use ecr_contract::serve::{Config, PROFILE_HELP, TlsFiles, parse_profile, run as run_server};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The caller's account id: the default registry.
    #[arg(long, default_value = "123456789012")]
    account_id: String,
    /// Region used in ARNs and repository URIs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Refuse PutImage when the config or a layer blob was not uploaded, as real ECR does.
    #[arg(long)]
    require_blobs: bool,
    /// Require requests signed (SigV4) with the credentials configured the AWS way
    /// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE's in the shared files), as
    /// ECR does. With a session token among them (AWS_SESSION_TOKEN), requests must carry
    /// that token (X-Amz-Security-Token), and any other token, or none, is answered
    /// UnrecognizedClientException. A request signed more than 5 minutes from the server's
    /// clock is answered InvalidSignatureException ("Signature expired"); every answer carries
    /// a Date header for SDKs to correct their clock.
    #[arg(long)]
    verify_signatures: bool,
    /// Choices where the spec allows several outcomes.
    #[arg(long, default_value = "", help = format!("Choices where the spec allows several outcomes: {PROFILE_HELP}"))]
    outcomes: String,
    /// Serve https:// with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Answer registry-API blob requests (`/v2/<name>/blobs/<digest>`) with a 307 to a
    /// pre-signed URL, as ECR does, rather than with the bytes.
    #[arg(long)]
    blob_redirect: bool,
}

/// Serves until Ctrl-C (SIGINT) or SIGTERM.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    if !args.verify_signatures && reachable_from_afar(&args.host) {
        let _ = writeln!(
            std::io::stderr(),
            "ecr-contract serve: warning: --host {} is not loopback and signatures are not verified: \
             anyone who can reach the port can read and change the registry's state, and registry \
             tokens are only as strong as what serve checks (--verify-signatures)",
            args.host
        );
    }
    let verify_signatures = match args.verify_signatures {
        false => None,
        true => match runtime.block_on(AwsConfig::load(None, true))?.credentials {
            Some(c) => Some(c),
            None => bail!(
                "--verify-signatures needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ),
        },
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let config = Config {
        host: args.host.clone(),
        port: args.port,
        account_id: RegistryId::parse(&args.account_id).context("--account-id")?,
        region: args.region.clone(),
        require_blobs: args.require_blobs,
        verify_signatures,
        profile: parse_profile(&args.outcomes)
            .map_err(anyhow::Error::msg)
            .context("--outcomes")?,
        registry: None,
        tls,
        blob_redirect: args.blob_redirect,
        ..Config::default()
    };
    runtime
        .block_on(async {
            // The handlers are in place before the URL is printed: a Ctrl-C or SIGTERM right
            // after it stops the server cleanly instead of killing the process.
            let interrupted = stop_signal().context("listening for Ctrl-C and SIGTERM")?;
            run_server(
                config,
                |url| {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(
                        out,
                        "ecr-contract serve: listening on {url} (Ctrl-C or SIGTERM to stop)"
                    );
                    let _ = out.flush();
                },
                interrupted,
            )
            .await
            .map_err(anyhow::Error::from)
        })
        .with_context(|| format!("serving on {}:{}", args.host, args.port))?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `host` names an address other machines may reach: not loopback, or unresolvable
/// (then assumed reachable).
fn reachable_from_afar(host: &str) -> bool {
    use std::net::ToSocketAddrs;
    (host, 0)
        .to_socket_addrs()
        .map_or(true, |mut addrs| addrs.any(|a| !a.ip().is_loopback()))
}

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM (what `docker stop`, systemd and CI
/// runners send), with its handlers registered now.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
