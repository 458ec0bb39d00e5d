//! Credentials and region the AWS way, with `aws-config`'s providers: environment variables,
//! the shared config and credentials files (`AWS_PROFILE` or a named profile, with SSO,
//! `credential_process`, role assumption), web identity (how CI systems such as GitHub
//! Actions reach AWS), container credentials, and off this machine the EC2 instance metadata
//! service.
//!
//! For an endpoint on this machine the instance metadata service is not asked: nothing there
//! needs an instance role, and off EC2 the service only costs a wait for its timeouts on every
//! run. Credentials are resolved once, at the start of a run.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::{ProvideRegion, RegionProviderChain};
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::chain;
use crate::wire::Credentials;

/// Why the configured credentials could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsConfigError {
    /// A provider found configuration but failed (an expired SSO session, a profile that
    /// names a missing source, a web identity token that STS refused, ...).
    #[error("loading AWS credentials: {0}")]
    Credentials(String),
    /// The profile asked for has no credentials.
    #[error(
        "profile {0} has no credentials (in AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE, by default ~/.aws/credentials and ~/.aws/config)"
    )]
    Profile(String),
}

/// What the AWS configuration says: credentials and region, each when configured.
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// The credentials, when any source has them.
    pub credentials: Option<Credentials>,
    /// The region, when any source names one.
    pub region: Option<String>,
}

impl AwsConfig {
    /// Loads the credentials and region of `profile` (`None`: `AWS_PROFILE`, else `default`)
    /// for an endpoint that is on this machine (`loopback`) or not.
    pub async fn load(profile: Option<&str>, loopback: bool) -> Result<Self, AwsConfigError> {
        let config = ProviderConfig::without_region().with_http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .build_https(),
        );
        let region = regions(&config, profile, loopback).region().await;
        let config = config.with_region(region.clone());
        let found = match loopback {
            true => {
                local_credentials(&config, profile)
                    .provide_credentials()
                    .await
            }
            false => {
                let mut chain = DefaultCredentialsChain::builder().configure(config);
                if let Some(name) = profile {
                    chain = chain.profile_name(name);
                }
                if let Some(region) = region.clone() {
                    chain = chain.region(region);
                }
                chain.build().await.provide_credentials().await
            }
        };
        let credentials = match found {
            Ok(c) => Some(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                c.session_token().map(str::to_owned),
            )),
            Err(CredentialsError::CredentialsNotLoaded(_)) => match profile {
                Some(name) => return Err(AwsConfigError::Profile(name.to_owned())),
                None => None,
            },
            Err(e) => return Err(AwsConfigError::Credentials(chain(&e))),
        };
        Ok(Self {
            credentials,
            region: region.map(|r| r.to_string()),
        })
    }
}

/// The default chain's region sources: the environment, the profile, and off this machine the
/// instance metadata service.
fn regions(config: &ProviderConfig, profile: Option<&str>, loopback: bool) -> impl ProvideRegion {
    let mut file = ProfileFileRegionProvider::builder().configure(config);
    if let Some(name) = profile {
        file = file.profile_name(name);
    }
    let chain = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(file.build());
    match loopback {
        true => chain,
        false => chain.or_else(ImdsRegionProvider::builder().configure(config).build()),
    }
}

/// The default chain's credential sources but the instance metadata service.
fn local_credentials(config: &ProviderConfig, profile: Option<&str>) -> impl ProvideCredentials {
    let mut file = ProfileFileCredentialsProvider::builder().configure(config);
    if let Some(name) = profile {
        file = file.profile_name(name);
    }
    CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", file.build())
    .or_else(
        "WebIdentityToken",
        WebIdentityTokenCredentialsProvider::builder()
            .configure(config)
            .build(),
    )
    .or_else(
        "EcsContainer",
        EcsCredentialsProvider::builder().configure(config).build(),
    )
}
