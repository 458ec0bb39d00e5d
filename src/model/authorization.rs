//! GetAuthorizationToken: the `docker login` credentials ECR hands out.
//!
//! A token is base64 of `AWS:<password>`, valid for 12 hours from `now` (service model,
//! `AuthorizationData`), one per registry asked for (the caller's when none is). The password
//! is derived from the registry and the expiry alone, so the model stays pure: URL-safe
//! base64 of `<registry>.<expiresAt seconds>.<checksum>`.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::wire;

use super::error::OpError;
use super::names::RegistryId;
use super::registry::Registry;

/// How long a token is valid: 12 hours (service model, `AuthorizationData.expiresAt`).
pub const TOKEN_LIFETIME_SECONDS: f64 = 12.0 * 3600.0;

/// The most registries one request may name (service model,
/// `GetAuthorizationTokenRegistryIdList`: 1..10).
pub const MAX_TOKEN_REGISTRIES: usize = 10;

impl Registry {
    /// `GetAuthorizationToken` at time `now` (seconds since the epoch).
    pub fn get_authorization_token(
        &self,
        request: &wire::GetAuthorizationTokenRequest,
        now: f64,
    ) -> Result<wire::GetAuthorizationTokenResponse, OpError> {
        let registries = match &request.registry_ids {
            None => vec![self.account.clone()],
            Some(ids) => {
                let constraint = match ids.len() {
                    0 => Some("Member must have length greater than or equal to 1".to_owned()),
                    n if n > MAX_TOKEN_REGISTRIES => Some(format!(
                        "Member must have length less than or equal to {MAX_TOKEN_REGISTRIES}"
                    )),
                    _ => None,
                };
                if let Some(constraint) = constraint {
                    return Err(OpError::invalid(format!(
                        "Invalid parameter at 'registryIds' failed to satisfy constraint: '{constraint}'"
                    )));
                }
                ids.iter()
                    .map(|id| RegistryId::parse(id).map_err(OpError::from))
                    .collect::<Result<_, _>>()?
            }
        };
        let expires_at = (now + TOKEN_LIFETIME_SECONDS).floor();
        let data = registries
            .iter()
            .map(|registry| wire::AuthorizationData {
                authorization_token: Some(authorization_token(registry, expires_at)),
                expires_at: Some(expires_at),
                proxy_endpoint: Some(format!(
                    "https://{registry}.dkr.ecr.{}.amazonaws.com",
                    self.region
                )),
            })
            .collect();
        Ok(wire::GetAuthorizationTokenResponse {
            authorization_data: Some(data),
        })
    }
}

/// The token for `registry` expiring at `expires_at`: base64 of `AWS:<password>`.
fn authorization_token(registry: &RegistryId, expires_at: f64) -> String {
    let engine = &base64::engine::general_purpose::STANDARD;
    engine.encode(format!("AWS:{}", password(registry, expires_at)))
}

/// The password of the token for `registry` expiring at `expires_at`.
fn password(registry: &RegistryId, expires_at: f64) -> String {
    let seconds = expires_at as i64;
    let hash = Sha256::digest(format!("ecr-contract password\n{registry}\n{seconds}"));
    let checksum: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{registry}.{seconds}.{checksum}"))
}

/// Why the registry API refuses a password (spec `registry-api.md` section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRefusal {
    /// A token this registry handed out, past its `expiresAt`.
    Expired,
    /// Not a password of a token this registry handed out.
    Invalid,
}

impl Registry {
    /// Whether `given` (the password after `AWS:` of a decoded token) is one that
    /// GetAuthorizationToken handed out for this registry's account, unexpired at `now`.
    pub fn check_registry_password(&self, given: &str, now: f64) -> Result<(), TokenRefusal> {
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let decoded = engine.decode(given).map_err(|_| TokenRefusal::Invalid)?;
        let text = std::str::from_utf8(&decoded).map_err(|_| TokenRefusal::Invalid)?;
        let mut parts = text.splitn(3, '.');
        let (Some(registry), Some(seconds), Some(_)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRefusal::Invalid);
        };
        let seconds: i64 = seconds.parse().map_err(|_| TokenRefusal::Invalid)?;
        if registry != self.account.as_str() || given != password(&self.account, seconds as f64) {
            return Err(TokenRefusal::Invalid);
        }
        match (seconds as f64) > now {
            true => Ok(()),
            false => Err(TokenRefusal::Expired),
        }
    }
}
