//! GetAuthorizationToken: the `docker login` credentials ECR hands out.
//!
//! A token is base64 of `AWS:<password>`, valid for 12 hours from `now` (service model,
//! `AuthorizationData`), one per registry asked for (the caller's when none is). The password
//! is URL-safe base64 of `<registry>.<expiresAt seconds>.<mac>`, the mac an HMAC-SHA256 of the
//! registry and the expiry under the server's [`TokenKey`]: the caller passes the key in, as
//! it passes the time, so the model stays pure, and no one without the key can mint a token.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

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
    /// Passwords are signed with `key`.
    pub fn get_authorization_token(
        &self,
        request: &wire::GetAuthorizationTokenRequest,
        now: f64,
        key: &TokenKey,
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
                authorization_token: Some(authorization_token(key, registry, expires_at)),
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

/// The server's secret for what it signs itself (registry passwords, pre-signed blob URLs):
/// 32 random bytes (HMAC-SHA256's block-size-safe key length, RFC 2104 section 3), never
/// printed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(** redacted **)")
    }
}

impl TokenKey {
    /// A key of `bytes`; the caller draws them at random, once per process.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(message.as_bytes());
        mac
    }

    /// The HMAC-SHA256 of `message`, in lower-case hex.
    pub fn sign(&self, message: &str) -> String {
        hex(&self.mac(message).finalize().into_bytes())
    }

    /// Whether `signature` (lower-case hex) is the HMAC-SHA256 of `message`, compared in
    /// constant time.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        match unhex(signature) {
            Some(tag) => self.mac(message).verify_slice(&tag).is_ok(),
            None => false,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The token for `registry` expiring at `expires_at`: base64 of `AWS:<password>`.
fn authorization_token(key: &TokenKey, registry: &RegistryId, expires_at: f64) -> String {
    let engine = &base64::engine::general_purpose::STANDARD;
    engine.encode(format!(
        "AWS:{}",
        password(key, registry, expires_at as i64)
    ))
}

/// What a password's mac covers: the registry and the expiry.
fn password_message(registry: &str, seconds: i64) -> String {
    format!("ecr-contract password\n{registry}\n{seconds}")
}

/// The password of the token for `registry` expiring at `seconds`.
fn password(key: &TokenKey, registry: &RegistryId, seconds: i64) -> String {
    let mac = key.sign(&password_message(registry.as_str(), seconds));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{registry}.{seconds}.{mac}"))
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
    /// GetAuthorizationToken handed out for this registry's account under `key`, unexpired at
    /// `now`. A password with another mac is invalid, whatever its expiry.
    pub fn check_registry_password(
        &self,
        given: &str,
        now: f64,
        key: &TokenKey,
    ) -> Result<(), TokenRefusal> {
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let decoded = engine.decode(given).map_err(|_| TokenRefusal::Invalid)?;
        let text = std::str::from_utf8(&decoded).map_err(|_| TokenRefusal::Invalid)?;
        let mut parts = text.splitn(3, '.');
        let (Some(registry), Some(seconds), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRefusal::Invalid);
        };
        let seconds: i64 = seconds.parse().map_err(|_| TokenRefusal::Invalid)?;
        if registry != self.account.as_str()
            || !key.verify(&password_message(registry, seconds), mac)
        {
            return Err(TokenRefusal::Invalid);
        }
        match (seconds as f64) > now {
            true => Ok(()),
            false => Err(TokenRefusal::Expired),
        }
    }
}
