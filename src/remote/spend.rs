//! What a run spends: every request sent to the server, by operation (AWS JSON operations by
//! name, registry API requests by method and kind), throttled attempts and redirect hops
//! included. Shared by every clone of a target, so concurrent parts of a run count together.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests sent so far, by operation.
#[derive(Debug, Clone, Default)]
pub struct Spend(Arc<Mutex<BTreeMap<String, u64>>>);

impl Spend {
    /// Counts one request of `operation`.
    pub(crate) fn add(&self, operation: &str) {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match counts.get_mut(operation) {
            Some(n) => *n += 1,
            None => {
                counts.insert(operation.to_owned(), 1);
            }
        }
    }

    /// The requests counted so far, by operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The name a registry API request is counted under: `registry`, its method and what it
/// asks for (`manifest`, `blob`, `tags`, `base`, or `other` for a redirect's target).
pub(crate) fn registry_operation(method: &str, url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let kind = if path.contains("/manifests/") {
        "manifest"
    } else if path.contains("/blobs/uploads") {
        "upload"
    } else if path.contains("/blobs/") {
        "blob"
    } else if path.ends_with("/tags/list") {
        "tags"
    } else if path.ends_with("/v2/") || path.ends_with("/v2") {
        "base"
    } else {
        "other"
    };
    format!("registry {method} {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_operation_across_clones() {
        let spend = Spend::default();
        let clone = spend.clone();
        spend.add("PutImage");
        clone.add("PutImage");
        clone.add(&registry_operation(
            "GET",
            "http://h/v2/a/b/manifests/v1?x=1",
        ));
        let counts = spend.counts();
        assert_eq!(counts.get("PutImage"), Some(&2));
        assert_eq!(counts.get("registry GET manifest"), Some(&1));
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn registry_requests_are_named_by_what_they_ask_for() {
        let name = |url| registry_operation("HEAD", url);
        assert_eq!(name("http://h/v2/"), "registry HEAD base");
        assert_eq!(name("http://h/v2/r/blobs/sha256:ab"), "registry HEAD blob");
        assert_eq!(name("http://h/v2/r/tags/list?n=1"), "registry HEAD tags");
        assert_eq!(name("http://s3/bucket/key?sig=1"), "registry HEAD other");
    }
}
