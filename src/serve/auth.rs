//! `--verify-signatures`: requests must carry a valid SigV4 signature by configured
//! credentials, answered over JSON as ECR does (HTTP 400, spec section 1).
//!
//! Checked in the order AWS does: an `Authorization` header at all
//! (`MissingAuthenticationTokenException`), its form (`IncompleteSignatureException`), the
//! access key and the session token (`UnrecognizedClientException`), the signing time within
//! five minutes of the server's clock (`InvalidSignatureException`, "Signature expired"), then
//! the signature itself. The session token must be the configured one (none when none is
//! configured), whether or not the client signed its header. The credential scope must be
//! whole and right (`<key>/<day of X-Amz-Date>/<region>/ecr/aws4_request`), and the signature
//! is compared in constant time.
//!
//! What the server signs itself (registry passwords, pre-signed blob URLs) is signed with
//! [`process_key`], a secret drawn once per process.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use subtle::ConstantTimeEq as _;

use crate::model::{OpError, TokenKey};
use crate::wire::Credentials;
use crate::wire::{format_amz_date, parse_amz_date, sign_request};

/// How far a request's `X-Amz-Date` may be from the server's clock: five minutes, as AWS.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The service a credential scope must name.
const SERVICE: &str = "ecr";

/// The last part of every SigV4 credential scope.
const TERMINATOR: &str = "aws4_request";

/// This process's key for registry passwords and pre-signed blob URLs: 32 bytes from the
/// operating system's random source, drawn on first use.
pub fn process_key() -> TokenKey {
    static KEY: std::sync::OnceLock<TokenKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .unwrap_or_else(|e| panic!("the operating system has no random source: {e}"));
        TokenKey::new(bytes)
    })
    .clone()
}

/// Checks the SigV4 signature of a request against `credentials`, at server time `now`.
pub fn verify(
    credentials: &Credentials,
    now: SystemTime,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OpError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(authorization) = header("authorization") else {
        return Err(OpError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let incomplete = || {
        OpError::new(
            "IncompleteSignatureException",
            "The request signature is incomplete or malformed",
        )
    };
    let parts = Authorization::parse(authorization).ok_or_else(incomplete)?;
    let time = header("x-amz-date")
        .and_then(parse_amz_date)
        .ok_or_else(incomplete)?;
    if parts.access_key_id != credentials.access_key_id
        || header("x-amz-security-token") != credentials.session_token()
    {
        return Err(OpError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    check_time(time, now)?;
    check_scope(&parts, header("x-amz-date").unwrap_or(""))?;
    let token_signed = parts.signed_headers.contains(&"x-amz-security-token");
    let signer = match token_signed {
        true => credentials.clone(),
        false => credentials.without_session_token(),
    };
    let signed: Vec<(&str, &str)> = parts
        .signed_headers
        .iter()
        .filter(|name| {
            !matches!(
                **name,
                "x-amz-date" | "x-amz-security-token" | "authorization"
            )
        })
        .map(|name| Ok((*name, header(name).ok_or_else(incomplete)?)))
        .collect::<Result<_, OpError>>()?;
    let host = header("host").unwrap_or("localhost");
    let url = format!("http://{host}{uri}");
    let (_, expected) = sign_request(&signer, parts.region, method, &url, &signed, body, time)
        .map_err(|e| OpError::new("IncompleteSignatureException", e.to_string()))?;
    if !bool::from(expected.as_bytes().ct_eq(parts.signature.as_bytes())) {
        return Err(OpError::new(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(())
}

/// The credential scope names the day of `X-Amz-Date`, `ecr` and `aws4_request`, each refused
/// with AWS's message when it does not. Its region is any: the signature is checked with the
/// key of the region it names, and clients of a mock sign with the region they are configured
/// with, whatever region the server writes in its ARNs.
fn check_scope(parts: &Authorization<'_>, amz_date: &str) -> Result<(), OpError> {
    let day = amz_date.get(..8).unwrap_or(amz_date);
    let message = if parts.date != day {
        format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from 'x-amz-date'.",
            parts.date
        )
    } else if parts.service != SERVICE {
        format!("Credential should be scoped to correct service: '{SERVICE}'. ")
    } else if parts.terminator != TERMINATOR {
        format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            parts.terminator
        )
    } else {
        return Ok(());
    };
    Err(OpError::new("InvalidSignatureException", message))
}

/// A signing time more than [`MAX_CLOCK_SKEW`] from `now` is refused with AWS's message,
/// which names the server's time: SDKs read it (and the `Date` header) to correct their clock.
fn check_time(time: SystemTime, now: SystemTime) -> Result<(), OpError> {
    let earliest = now
        .checked_sub(MAX_CLOCK_SKEW)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let latest = now.checked_add(MAX_CLOCK_SKEW).unwrap_or(now);
    let message = if time < earliest {
        format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            format_amz_date(time),
            format_amz_date(earliest),
            format_amz_date(now)
        )
    } else if time > latest {
        format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            format_amz_date(time),
            format_amz_date(latest),
            format_amz_date(now)
        )
    } else {
        return Ok(());
    };
    Err(OpError::new("InvalidSignatureException", message))
}

/// The parts of `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/ecr/aws4_request,
/// SignedHeaders=a;b, Signature=hex`.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',').map(str::trim) {
            let (key, value) = part.split_once('=')?;
            match key {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed_headers = Some(value.split(';').collect()),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let mut scope = credential?.split('/');
        let (access_key_id, date, region, service, terminator) = (
            scope.next()?,
            scope.next()?,
            scope.next()?,
            scope.next()?,
            scope.next()?,
        );
        if scope.next().is_some() {
            return None;
        }
        Some(Self {
            access_key_id,
            date,
            region,
            service,
            terminator,
            signed_headers: signed_headers?,
            signature: signature?,
        })
    }
}
