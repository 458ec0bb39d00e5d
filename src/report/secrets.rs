//! The secrets a run knows, gathered in one [`Secrets`] set, and the one function that takes
//! them out of a captured text. A secret is never printed (`Debug` shows its kind only), and
//! only exact secret values are replaced, as they are, JSON-escaped (`\/`, `\uXXXX`),
//! percent-encoded or in base64: unrelated text, even one sharing a prefix with a secret, is
//! left as it was sent and received.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;

use crate::oracle::Violation;
use crate::wire::Credentials;

/// What replaces a secret in a report.
pub const REDACTED: &str = "** redacted **";

/// Secrets shorter than this cannot be AWS credentials (a secret access key has 40
/// characters, an access key id 20, a session token hundreds, a SigV4 signature 64).
pub const MIN_SECRET_CHARS: usize = 16;

/// The bytes of an answer body a report holds: the cut is made after redaction, so a secret
/// straddling it is redacted whole.
pub const EVIDENCE_BYTES: usize = 4096;

/// The most bytes one character of a secret takes in a captured text: `\uXXXX`.
const MAX_ENCODED_CHAR_BYTES: usize = 6;

/// The harness's own placeholder credentials: no one's secret, nothing to say about them.
const OWN_PLACEHOLDERS: [&str; 2] = ["ecr-contract-placeholder-secret", "AKIDECRCONTRACTLOCAL"];

/// AWS's documentation examples: published, not secret.
const DOCUMENTED_EXAMPLES: [&str; 2] = [
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAIOSFODNN7EXAMPLE",
];

/// The query parameters of a pre-signed URL that carry a credential (S3's and CloudFront's
/// SigV4 and legacy signatures, Azure's SAS `sig`).
const SIGNED_QUERY: [&str; 5] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "Signature",
    "sig",
];

/// Whether `secret` may be a real credential, and so must never appear in any output.
pub fn is_credential(secret: &str) -> bool {
    secret.chars().count() >= MIN_SECRET_CHARS
        && !OWN_PLACEHOLDERS.contains(&secret)
        && !DOCUMENTED_EXAMPLES.contains(&secret)
}

/// A secret value: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// One secret with its kind, the forms it is searched in, and how often it was redacted.
#[derive(Debug, Clone)]
struct Entry {
    kind: &'static str,
    forms: Vec<Secret>,
    count: usize,
}

#[derive(Debug, Default)]
struct Known {
    entries: Vec<Entry>,
    /// Kinds given whose value is no credential, for the report's notes.
    placeholders: Vec<&'static str>,
}

/// Every secret a run knows: its credentials, then what it learns (registry passwords,
/// pre-signed URL signatures). Clones share one set, so that what one part of a run learns
/// redacts what every other part captures.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    known: Arc<Mutex<Known>>,
}

impl Secrets {
    /// Adds the secrets of `credentials`: the access key id, the secret access key and the
    /// session token.
    pub fn add_credentials(&self, credentials: &Credentials) {
        self.add("access key id", &credentials.access_key_id);
        for (kind, value) in credentials.secrets() {
            self.add(kind, value);
        }
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `value` as a secret of `kind`, unless it cannot be a credential (see
    /// [`is_credential`]).
    pub fn add(&self, kind: &'static str, value: &str) {
        let mut known = self.known();
        if !is_credential(value) {
            let own = value.is_empty() || OWN_PLACEHOLDERS.contains(&value);
            if !own && !known.placeholders.contains(&kind) {
                known.placeholders.push(kind);
            }
            return;
        }
        if known
            .entries
            .iter()
            .any(|e| e.forms.first().is_some_and(|f| f.0 == value))
        {
            return;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        known.entries.push(Entry {
            kind,
            forms: vec![Secret(value.to_owned()), Secret(encoded)],
            count: 0,
        });
    }

    /// Learns a GetAuthorizationToken token: the base64 token, the `AWS:<password>` it
    /// decodes to, and the password alone.
    pub fn learn_authorization_token(&self, token: &str) {
        self.add("registry authorization token", token);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some(decoded) = decoded {
            if let Some((_, password)) = decoded.split_once(':') {
                self.add("registry password", password);
            }
            self.add("registry password", &decoded);
        }
    }

    /// Learns the credential values of every pre-signed URL in `text`: its `X-Amz-Signature`,
    /// `X-Amz-Credential`, `X-Amz-Security-Token`, `Signature` and `sig` query values.
    pub fn learn_signed_urls(&self, text: &str) {
        for value in signed_query_values(text) {
            self.add("pre-signed URL credential", &value);
        }
    }

    /// `text` with every known secret replaced by [`REDACTED`], after learning the pre-signed
    /// URLs it holds.
    pub fn redact(&self, text: &str) -> String {
        self.learn_signed_urls(text);
        let mut known = self.known();
        redact_with(&mut known.entries, text)
    }

    /// `violation` with its path, expectation and finding redacted (a finding may quote the
    /// server).
    pub fn redact_violation(&self, violation: Violation) -> Violation {
        Violation {
            path: self.redact(&violation.path),
            expected: self.redact(&violation.expected),
            found: self.redact(&violation.found),
            ..violation
        }
    }

    /// A captured answer body as a report holds it: redacted whole, then cut at
    /// [`EVIDENCE_BYTES`], so that no part of a secret across the cut is kept.
    pub fn evidence(&self, body: &[u8]) -> String {
        let span = self.known().entries.iter().map(longest_form).max();
        let window = EVIDENCE_BYTES + span.unwrap_or(0) * MAX_ENCODED_CHAR_BYTES;
        let text = String::from_utf8_lossy(&body[..body.len().min(window)]);
        let mut clean = self.redact(&text);
        if clean.len() > EVIDENCE_BYTES {
            clean.truncate(cut_at(&clean, EVIDENCE_BYTES));
        }
        clean
    }

    /// What was redacted, and which values given were left alone as placeholders, for the
    /// report's notes.
    pub fn notes(&self) -> Vec<String> {
        let known = self.known();
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for entry in &known.entries {
            match kinds.iter_mut().find(|(k, _)| *k == entry.kind) {
                Some((_, count)) => *count += entry.count,
                None => kinds.push((entry.kind, entry.count)),
            }
        }
        let placeholders = known
            .placeholders
            .iter()
            .filter(|p| !kinds.iter().any(|(k, _)| k == *p))
            .map(|kind| format!(
                "not redacted: the {kind} is a placeholder (shorter than {MIN_SECRET_CHARS} characters, or a documented example), not a credential"
            ));
        let redacted = kinds
            .iter()
            .map(|(kind, count)| format!("redacted: the {kind}, {count} times"));
        placeholders.chain(redacted).collect()
    }
}

/// Where to cut `text` to about `limit` bytes: on a character boundary at or before it, or
/// after a [`REDACTED`] mark the limit falls in, so that the mark stays whole.
fn cut_at(text: &str, limit: usize) -> usize {
    let start = limit.saturating_sub(REDACTED.len() - 1);
    if let Some(at) = text.get(start..).and_then(|t| t.find(REDACTED))
        && start + at < limit
    {
        return start + at + REDACTED.len();
    }
    (0..=limit)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// The length in characters of an entry's longest form.
fn longest_form(entry: &Entry) -> usize {
    entry
        .forms
        .iter()
        .map(|f| f.0.chars().count())
        .max()
        .unwrap_or(0)
}

/// `text` with every form of every entry replaced, counting replacements.
fn redact_with(entries: &mut [Entry], text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        // The longest match wins: a token is redacted whole, not the password inside it.
        let found = entries
            .iter_mut()
            .filter_map(|e| {
                let len = e
                    .forms
                    .iter()
                    .filter_map(|f| encoded_at(&bytes[at..], &f.0))
                    .max();
                len.map(|len| (len, e))
            })
            .max_by_key(|(len, _)| *len);
        if let Some((len, entry)) = found {
            entry.count += 1;
            out.push_str(REDACTED);
            at += len;
            continue;
        }
        let next = (at + 1..=bytes.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(bytes.len());
        out.push_str(&text[at..next]);
        at = next;
    }
    out
}

/// The length of `secret` at the start of `text`, each character as itself, JSON-escaped or
/// percent-encoded.
fn encoded_at(text: &[u8], secret: &str) -> Option<usize> {
    let mut at = 0;
    for c in secret.chars() {
        at += encoded_char(text.get(at..)?, c)?;
    }
    Some(at)
}

/// The bytes `c` takes at the start of `text`, in any of the forms a captured text may hold.
fn encoded_char(text: &[u8], c: char) -> Option<usize> {
    let mut buf = [0; 4];
    let literal = c.encode_utf8(&mut buf).as_bytes();
    if text.starts_with(literal) {
        return Some(literal.len());
    }
    let hex = |digits: &[u8]| {
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 16).ok())
    };
    match text {
        [b'\\', e, ..] if char::from(*e) == c && matches!(c, '/' | '\\' | '"') => Some(2),
        [b'\\', b'u', rest @ ..] if rest.len() >= 4 && hex(&rest[..4]) == Some(u32::from(c)) => {
            Some(6)
        }
        [b'%', rest @ ..]
            if rest.len() >= 2 && c.is_ascii() && hex(&rest[..2]) == Some(u32::from(c)) =>
        {
            Some(3)
        }
        _ => None,
    }
}

/// The values of [`SIGNED_QUERY`] parameters in the URLs of `text`, decoded (`%2F` and `\/`
/// as `/`).
fn signed_query_values(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut values = Vec::new();
    for name in SIGNED_QUERY {
        let key = format!("{}=", name.to_ascii_lowercase());
        for (at, _) in lower.match_indices(&key) {
            let before = &lower[..at];
            let in_query = before.ends_with('?')
                || before.ends_with('&')
                || before.ends_with("\\u0026")
                || before.ends_with("\\u003f");
            if in_query {
                values.push(decode_query_value(&text[at + key.len()..]));
            }
        }
    }
    values
}

/// A query value at the start of `rest`, up to its end, decoded.
fn decode_query_value(rest: &str) -> String {
    let bytes = rest.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' if bytes.get(at + 1) == Some(&b'/') => {
                out.push(b'/');
                at += 2;
            }
            b'%' => match rest
                .get(at + 1..at + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(decoded) => {
                    out.push(decoded);
                    at += 3;
                }
                None => break,
            },
            b'&' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'#' | b',' | b';' | b')' | b']' => break,
            b if b.is_ascii_whitespace() => break,
            b => {
                out.push(b);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/not-a-real-secret/0123456789";

    fn secrets() -> Secrets {
        let secrets = Secrets::default();
        secrets.add("secret access key", SECRET);
        secrets
    }

    #[test]
    fn a_secret_is_redacted_raw_json_escaped_percent_encoded_and_in_base64() {
        let escaped = SECRET.replace('/', "\\/");
        let unicode = SECRET.replace('/', "\\u002F");
        let percent = SECRET.replace('/', "%2f");
        let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET);
        for text in [SECRET, &escaped, &unicode, &percent, &encoded] {
            let clean = secrets().redact(&format!("before {text} after"));
            assert_eq!(clean, format!("before {REDACTED} after"), "{text}");
        }
    }

    #[test]
    fn unrelated_text_is_left_alone_even_with_a_prefix_of_a_secret() {
        let text = "the token wJalrXUtnFEMI/not-a-real-secret/012345678 latest \\u0041 %zz \u{e9}";
        assert_eq!(secrets().redact(text), text);
    }

    #[test]
    fn values_that_cannot_be_credentials_are_not_secrets() {
        let secrets = Secrets::default();
        let short = "a".repeat(MIN_SECRET_CHARS - 1);
        let long = "a".repeat(MIN_SECRET_CHARS);
        secrets.add("session token", &short);
        secrets.add("secret access key", DOCUMENTED_EXAMPLES[0]);
        assert_eq!(secrets.redact(&long), long);
        secrets.add("session token", &long);
        assert_eq!(secrets.redact(&long), REDACTED);
    }

    #[test]
    fn the_cut_is_made_after_redaction_so_a_straddling_secret_goes_whole() {
        let mut body = "x".repeat(EVIDENCE_BYTES - 10).into_bytes();
        body.extend_from_slice(SECRET.replace('/', "\\u002f").as_bytes());
        body.extend_from_slice(&[b'y'; 100]);
        let evidence = secrets().evidence(&body);
        assert_eq!(
            evidence,
            format!("{}{REDACTED}", "x".repeat(EVIDENCE_BYTES - 10))
        );
        let long = vec![b'z'; EVIDENCE_BYTES + 1];
        assert_eq!(secrets().evidence(&long).len(), EVIDENCE_BYTES);
        assert_eq!(secrets().evidence(&long[1..]).len(), EVIDENCE_BYTES);
        let short = vec![b'z'; EVIDENCE_BYTES - 1];
        assert_eq!(secrets().evidence(&short).len(), EVIDENCE_BYTES - 1);
        let mut accent = vec![b'z'; EVIDENCE_BYTES - 1];
        accent.extend_from_slice("\u{e9}".as_bytes());
        assert_eq!(secrets().evidence(&accent).len(), EVIDENCE_BYTES - 1);
    }

    #[test]
    fn a_secret_escaped_character_by_character_across_the_cut_is_redacted_whole() {
        // Every character as `\uXXXX`: the longest form a secret takes, which the window read
        // past the cut must hold.
        let escaped: String = SECRET
            .chars()
            .map(|c| format!("\\u{:04x}", u32::from(c)))
            .collect();
        let mut body = "x".repeat(EVIDENCE_BYTES - 1).into_bytes();
        body.extend_from_slice(escaped.as_bytes());
        let evidence = secrets().evidence(&body);
        assert_eq!(
            evidence,
            format!("{}{REDACTED}", "x".repeat(EVIDENCE_BYTES - 1))
        );
    }

    #[test]
    fn an_authorization_token_teaches_the_password_and_what_it_decodes_to() {
        let password = "registry-password-not-real-0123456789";
        let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
        let secrets = Secrets::default();
        secrets.learn_authorization_token(&token);
        let text = format!("{token} AWS:{password} {password}");
        assert_eq!(
            secrets.redact(&text),
            format!("{REDACTED} {REDACTED} {REDACTED}")
        );
    }

    #[test]
    fn pre_signed_url_signatures_are_learned_and_redacted_wherever_they_recur() {
        let signature = "0123456789abcdef0123456789abcdef";
        let url = format!(
            "https://b.s3/x?X-Amz-Credential=AKIAREALKEY123456%2F20240101%2Fs3&X-Amz-Signature={signature}&n=1"
        );
        let secrets = Secrets::default();
        let clean = secrets.redact(&format!("{url} and {signature}"));
        assert_eq!(
            clean,
            format!(
                "https://b.s3/x?X-Amz-Credential={REDACTED}&X-Amz-Signature={REDACTED}&n=1 and {REDACTED}"
            )
        );
        assert_eq!(
            secrets.redact("?sig=short&Signature="),
            "?sig=short&Signature="
        );
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let shown = format!("{:?}", secrets());
        assert!(!shown.contains("wJalr"), "{shown}");
    }
}
