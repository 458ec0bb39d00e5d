//! The AWS settings `check`, `compare` and `cleanup` share: the credentials profile and how the
//! endpoint's certificate is checked.

use std::path::PathBuf;

use anyhow::Context;

use ecr_contract::remote::{AwsConfig, Tls};

/// Credentials and TLS, the AWS way.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// The profile of the shared config and credentials files to take credentials and region
    /// from (default: AWS_PROFILE, else `default`).
    #[arg(long)]
    profile: Option<String>,
    /// Also trust the certificates of this PEM bundle for an https:// endpoint.
    #[arg(long, env = "AWS_CA_BUNDLE")]
    ca_bundle: Option<PathBuf>,
    /// Do not verify the TLS certificate of an https:// endpoint (still encrypted, but anyone
    /// on the way can read and change the traffic).
    #[arg(long)]
    no_verify_ssl: bool,
}

impl AwsArgs {
    /// The credentials and region configured for an endpoint on this machine or not.
    pub async fn config(&self, loopback: bool) -> anyhow::Result<AwsConfig> {
        Ok(AwsConfig::load(self.profile.as_deref(), loopback).await?)
    }

    /// How the endpoint's certificate is checked.
    pub fn tls(&self) -> anyhow::Result<Tls> {
        let mut tls = Tls::default();
        if let Some(path) = &self.ca_bundle {
            tls = tls
                .ca_bundle(path)
                .context("--ca-bundle or AWS_CA_BUNDLE")?;
        }
        if self.no_verify_ssl {
            tls = tls.no_verify();
        }
        Ok(tls)
    }

    /// The CA bundle given, if any.
    pub fn ca_bundle(&self) -> Option<&PathBuf> {
        self.ca_bundle.as_ref()
    }

    /// Whether the endpoint's certificate is checked.
    pub fn verify_tls(&self) -> bool {
        !self.no_verify_ssl
    }
}
