//! SigV4 for service `ecr`, by the `aws-sigv4` crate: signing a request, and recomputing the
//! signature of a received one. Pure functions: the time is an argument.

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// AWS credentials. `Debug` shows the access key id only: secrets never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret).
    pub access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, if the first two are set.
    pub fn from_env() -> Option<Self> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Some(Self::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            var("AWS_SESSION_TOKEN"),
        ))
    }

    /// Placeholder credentials for endpoints on this machine when the environment has none:
    /// emulators (moto, LocalStack) read the region and account from the signature's scope,
    /// and route unsigned requests elsewhere.
    pub fn placeholder() -> Self {
        Self::new(
            "AKIDECRCONTRACTLOCAL",
            "ecr-contract-placeholder-secret",
            None,
        )
    }

    /// The secret access key, for deriving signing keys.
    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token, if any.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    /// The same key pair without a session token: to check a signature whose signed headers
    /// leave the token out.
    pub fn without_session_token(&self) -> Self {
        Self {
            session_token: None,
            ..self.clone()
        }
    }

    /// Every secret these credentials hold, named, for redaction.
    pub fn secrets(&self) -> Vec<(&'static str, &str)> {
        std::iter::once(("secret access key", self.secret_access_key.as_str()))
            .chain(self.session_token.as_deref().map(|t| ("session token", t)))
            .collect()
    }

    fn identity(&self) -> Identity {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "ecr-contract",
        )
        .into()
    }
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SignError(String);

/// The headers SigV4 adds to a request (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` with a session token), and the signature.
pub fn sign_request(
    credentials: &Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Result<(Vec<(String, String)>, String), SignError> {
    let identity = credentials.identity();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ecr")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, signature) = sign(request, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    let added = instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok((added, signature))
}

/// Reads an `X-Amz-Date` value (`YYYYMMDDTHHMMSSZ`).
pub fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| value.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Writes a time as `X-Amz-Date` does (`YYYYMMDDTHHMMSSZ`), to the second; times before the
/// epoch are written as the epoch.
pub fn format_amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // The civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
