//! [`Signer`]: SigV4 for service `ecr` that keeps the day's derived signing key, so that a
//! request costs one HMAC for its signature instead of five. Pure: the time is an argument.
//!
//! The canonical request and the string to sign are written here, as the SigV4 documentation
//! lays them out (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>),
//! for the requests the harness sends: a path of unreserved characters, no query, header
//! values of printable ASCII. Any other request (a query string, dot segments, a user in the
//! authority, a time before 1970, ...) is signed by [`sign_request`] (`aws-sigv4`), so the
//! result is `aws-sigv4`'s for every request; a property test holds the two equal.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::sign::{Credentials, SignError, format_amz_date, sign_request};

const SERVICE: &str = "ecr";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Headers `aws-sigv4` never signs (its default `excluded_headers`).
const EXCLUDED: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];
/// 9999-12-31T23:59:59Z: `X-Amz-Date` has four digits of year.
const LAST_SECOND: u64 = 253_402_300_799;

/// Signs requests with one set of credentials, keeping the signing key of the last (day,
/// region) it signed for. `Send + Sync`: concurrent requests share one signer.
pub struct Signer {
    credentials: Credentials,
    key: Mutex<Option<DerivedKey>>,
}

/// The signing key of one day and region (`kSigning` of the SigV4 documentation).
#[derive(Clone)]
struct DerivedKey {
    date: String,
    region: String,
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            key: Mutex::new(None),
        }
    }

    /// The credentials it signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// What [`sign_request`] returns for the same arguments: the headers SigV4 adds, and the
    /// signature.
    pub fn sign(
        &self,
        region: &str,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<(Vec<(String, String)>, String), SignError> {
        let Some(request) = Plain::of(method, url, headers, time, &self.credentials) else {
            return sign_request(&self.credentials, region, method, url, headers, body, time);
        };
        let date_time = format_amz_date(time);
        let date = &date_time[..8];
        let mut canonical_headers = request.headers;
        canonical_headers.push(("x-amz-date".to_owned(), date_time.clone()));
        let token = self.credentials.session_token();
        if let Some(token) = token {
            canonical_headers.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        let (lines, signed) = header_lines(canonical_headers);
        let canonical = format!(
            "{method}\n{}\n\n{lines}\n{signed}\n{}",
            request.path,
            hex(&Sha256::digest(body))
        );
        let scope = format!("{date}/{region}/{SERVICE}/aws4_request");
        let to_sign = format!(
            "{ALGORITHM}\n{date_time}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let signature = hex(&hmac_sha256(
            &self.signing_key(date, region),
            to_sign.as_bytes(),
        ));
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.credentials.access_key_id
        );
        let mut added = vec![
            ("x-amz-date".to_owned(), date_time),
            ("authorization".to_owned(), authorization),
        ];
        if let Some(token) = token {
            added.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        Ok((added, signature))
    }

    /// The signing key of `date` and `region`: derived (four HMACs) on the first request of a
    /// day and region, then kept.
    fn signing_key(&self, date: &str, region: &str) -> [u8; 32] {
        let mut kept = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = kept
            .as_ref()
            .filter(|k| k.date == date && k.region == region)
        {
            return k.key;
        }
        let secret = format!("AWS4{}", self.credentials.secret_access_key());
        let mut key = hmac_sha256(secret.as_bytes(), date.as_bytes());
        for part in [region, SERVICE, "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        *kept = Some(DerivedKey {
            date: date.to_owned(),
            region: region.to_owned(),
            key,
        });
        key
    }
}

/// A request in the subset signed here, its path and headers (lowercased and trimmed) read.
struct Plain<'a> {
    path: &'a str,
    headers: Vec<(String, String)>,
}

impl<'a> Plain<'a> {
    fn of(
        method: &str,
        url: &'a str,
        headers: &[(&str, &str)],
        time: SystemTime,
        credentials: &Credentials,
    ) -> Option<Self> {
        let secs = time.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        let plain_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
        let token_plain = credentials.session_token().is_none_or(printable);
        if secs > Duration::from_secs(LAST_SECOND) || !plain_method || !token_plain {
            return None;
        }
        let (authority, default_port, path) = plain_url(url)?;
        let mut lowered: Vec<(String, String)> = Vec::with_capacity(headers.len() + 3);
        for (name, value) in headers {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) || !printable(value) {
                return None;
            }
            lowered.push((name.to_ascii_lowercase(), trim_all(value)));
        }
        if !lowered.iter().any(|(n, _)| n == "host") {
            let host = match authority.split_once(':') {
                Some((host, port)) if port == default_port => host,
                _ => authority,
            };
            lowered.push(("host".to_owned(), host.to_owned()));
        }
        // `x-amz-date` is always replaced, `x-amz-security-token` when there is a token.
        lowered.retain(|(n, _)| {
            n != "x-amz-date"
                && (n != "x-amz-security-token" || credentials.session_token().is_none())
        });
        Some(Self {
            path,
            headers: lowered,
        })
    }
}

/// The authority, default port and path of an `http` or `https` URL without a query, a
/// fragment or a user, whose path is made of unreserved characters without empty or dot
/// segments (what SigV4 leaves as it is).
fn plain_url(url: &str) -> Option<(&str, &str, &str)> {
    let (rest, default_port) = match url.strip_prefix("https://") {
        Some(rest) => (rest, "443"),
        None => (url.strip_prefix("http://")?, "80"),
    };
    let (authority, path) = rest.split_at(rest.find('/')?);
    let plain_path = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_~/".contains(&b))
        && !path.contains("//");
    let plain = !url.contains(['?', '#', '@']) && plain_path && plain_authority(authority);
    plain.then_some((authority, default_port, path))
}

/// `host` or `host:port`, the host of letters, digits, dots and dashes (no IPv6 literal, no
/// user), the port a number.
fn plain_authority(authority: &str) -> bool {
    let (host, port) = authority.split_once(':').unwrap_or((authority, "80"));
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

/// Visible ASCII and spaces: what `aws-sigv4` copies as is into the canonical request.
fn printable(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The canonical headers (one `name:values` line per signed name, sorted; the values of a
/// name joined with commas in the order given) and the signed-headers list.
fn header_lines(mut headers: Vec<(String, String)>) -> (String, String) {
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = String::new();
    let mut signed = String::new();
    let mut previous: Option<&str> = None;
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| !EXCLUDED.contains(&n.as_str()))
    {
        if previous == Some(name.as_str()) {
            lines.push(',');
        } else {
            if previous.is_some() {
                lines.push('\n');
                signed.push(';');
            }
            lines.push_str(name);
            lines.push(':');
            signed.push_str(name);
        }
        lines.push_str(value);
        previous = Some(name.as_str());
    }
    lines.push('\n');
    (lines, signed)
}

/// Leading and trailing spaces removed, runs of spaces made one, as SigV4 canonicalises a
/// header value.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new("AKIDEXAMPLE", "secret", token.map(str::to_owned))
    }

    #[test]
    fn the_harness_request_takes_the_plain_path_and_equals_aws_sigv4() {
        let credentials = credentials(Some("token"));
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            (
                "x-amz-target",
                "AmazonEC2ContainerRegistry_V20150921.BatchGetImage",
            ),
            ("host", "127.0.0.1:5000"),
        ];
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let url = "http://127.0.0.1:5000/";
        assert!(Plain::of("POST", url, &headers, time, &credentials).is_some());
        let signer = Signer::new(credentials.clone());
        let ours = signer.sign("us-east-1", "POST", url, &headers, b"{}", time);
        let theirs = sign_request(
            &credentials,
            "us-east-1",
            "POST",
            url,
            &headers,
            b"{}",
            time,
        );
        assert_eq!(ours, theirs);
    }

    #[test]
    fn the_key_is_derived_again_for_another_day_or_region() {
        let signer = Signer::new(credentials(None));
        let day = signer.signing_key("20240101", "us-east-1");
        assert_eq!(signer.signing_key("20240101", "us-east-1"), day);
        assert_ne!(signer.signing_key("20240102", "us-east-1"), day);
        assert_ne!(signer.signing_key("20240101", "eu-west-1"), day);
        assert_eq!(signer.signing_key("20240101", "us-east-1"), day);
    }

    #[test]
    fn header_values_are_trimmed_and_runs_of_spaces_made_one() {
        assert_eq!(trim_all("  a   b c  "), "a b c");
        assert_eq!(trim_all(""), "");
        assert_eq!(trim_all("\ta\t"), "\ta\t");
    }
}
