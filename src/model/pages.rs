//! Pagination of the list operations (DescribeRepositories, ListImages, DescribeImages) as the
//! service model documents it: `maxResults` from 1 to 1000, up to 100 results when it is
//! absent, and an opaque `nextToken` that continues the listing it came from and no other.
//!
//! A token names its listing (operation, registry, repository, filter) and the offset where
//! the next page starts, with a checksum: a token that is not one of ours, or one from
//! another listing, is `InvalidParameterException`. Tokens carry no state on the server, so
//! the model stays a pure function of the registry and the request.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::error::OpError;

/// The page size when `maxResults` is absent: "returns up to 100 results" (service model,
/// `maxResults` of each of the three operations).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest `maxResults` (service model, `MaxResults`: 1..1000).
pub const MAX_RESULTS: i64 = 1000;

/// Which part of a listing to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// The index of the first result.
    pub start: usize,
    /// How many results at most.
    pub size: usize,
}

impl Page {
    /// The page a request asks for: its `maxResults` checked, its `nextToken` read against
    /// `listing` (the operation and what it lists, such as `ListImages/123456789012/app/ANY`).
    pub fn of(
        listing: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Self, OpError> {
        let size = match max_results {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 1 => {
                return Err(OpError::invalid(format!(
                    "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1', found '{n}'"
                )));
            }
            Some(n) if n > MAX_RESULTS => {
                return Err(OpError::invalid(format!(
                    "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to {MAX_RESULTS}', found '{n}'"
                )));
            }
            Some(n) => usize::try_from(n).unwrap_or(DEFAULT_PAGE_SIZE),
        };
        let start = match next_token {
            None => 0,
            Some(token) => read_token(listing, token).ok_or_else(|| {
                OpError::invalid(
                    "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
                )
            })?,
        };
        Ok(Self { start, size })
    }

    /// This page of `items`, and the token of the next page when there are more.
    pub fn take<T>(&self, listing: &str, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        let end = self.start.saturating_add(self.size).min(total);
        let page: Vec<T> = items
            .into_iter()
            .skip(self.start)
            .take(end.saturating_sub(self.start))
            .collect();
        let next = (end < total).then(|| token(listing, end));
        (page, next)
    }
}

/// `InvalidParameterException` for `maxResults` or `nextToken` given with `member`, which
/// they cannot be combined with (service model: "This option cannot be used when you specify
/// ... with `member`").
pub(crate) fn not_with(
    member: &str,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(), OpError> {
    let given = match (max_results.is_some(), next_token.is_some()) {
        (true, _) => "maxResults",
        (false, true) => "nextToken",
        (false, false) => return Ok(()),
    };
    Err(OpError::invalid(format!(
        "Invalid parameter at '{given}' failed to satisfy constraint: '{given} cannot be used with {member}'"
    )))
}

fn checksum(listing: &str, offset: usize) -> String {
    let hash = Sha256::digest(format!("ecr-contract nextToken\n{listing}\n{offset}"));
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The token of the page of `listing` starting at `offset`.
fn token(listing: &str, offset: usize) -> String {
    let text = format!("{offset}.{}.{listing}", checksum(listing, offset));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The offset a token of `listing` names; `None` for anything else.
fn read_token(listing: &str, token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut parts = text.splitn(3, '.');
    let offset: usize = parts.next()?.parse().ok()?;
    let (sum, named) = (parts.next()?, parts.next()?);
    (named == listing && sum == checksum(listing, offset)).then_some(offset)
}
