//! Finding, by hash lookups, the requested ids an answered entry may answer, so that checking
//! an answer of `n` entries to `n` ids takes time in proportion to `n`, not `n` squared.

use std::borrow::{Borrow, Cow};
use std::hash::Hash;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{IdAnswer, IdExpectation};
use crate::wire::ImageIdentifier;

/// Finds the slots an answered id can link to (see `ids::link`) by hash lookups, so that
/// attributing entries does not compare every entry with every requested id: a slot links
/// only if it requested the answered tag, or a digest equal to the answered one ignoring
/// case, or expects the image with the answered digest.
pub(super) struct Index<'e> {
    by_tag: Chains<&'e str>,
    by_digest: Chains<Cow<'e, str>>,
    by_expected_digest: Chains<&'e str>,
}

impl<'e> Index<'e> {
    /// An index of `ids`, the distinct requested ids in request order.
    pub(super) fn new(ids: &[&'e IdExpectation]) -> Self {
        let mut index = Index {
            by_tag: Chains::new(ids.len()),
            by_digest: Chains::new(ids.len()),
            by_expected_digest: Chains::new(ids.len()),
        };
        for (k, expectation) in ids.iter().enumerate() {
            let requested = &expectation.requested;
            if let Some(tag) = requested.image_tag.as_deref() {
                index.by_tag.insert(tag, k);
            }
            if let Some(digest) = requested.image_digest.as_deref() {
                index.by_digest.insert(fold(digest), k);
            }
            if let IdAnswer::Found(e) = &expectation.answer {
                index.by_expected_digest.insert(e.stored.digest.as_str(), k);
            }
        }
        index
    }

    /// Every slot that may link to `answered`, in request order.
    pub(super) fn candidates(&self, answered: &ImageIdentifier) -> Vec<usize> {
        let mut out = Vec::new();
        if let Some(tag) = answered.image_tag.as_deref() {
            self.by_tag.extend(&tag, &mut out);
        }
        if let Some(digest) = answered.image_digest.as_deref() {
            self.by_digest.extend(&fold(digest), &mut out);
            self.by_expected_digest.extend(&digest, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A multimap from keys to slot numbers without a list per key: each key holds its latest
/// slot, and each slot the one inserted before it under the same key.
struct Chains<K> {
    head: HashMap<K, usize>,
    next: Vec<usize>,
}

impl<K: Hash + Eq> Chains<K> {
    const END: usize = usize::MAX;

    fn new(slots: usize) -> Self {
        Self {
            head: HashMap::with_capacity_and_hasher(slots, Default::default()),
            next: vec![Self::END; slots],
        }
    }

    fn insert(&mut self, key: K, slot: usize) {
        self.next[slot] = self.head.insert(key, slot).unwrap_or(Self::END);
    }

    /// Appends the slots under `key` to `out`.
    fn extend<Q>(&self, key: &Q, out: &mut Vec<usize>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut slot = self.head.get(key).copied().unwrap_or(Self::END);
        while slot != Self::END {
            out.push(slot);
            slot = self.next[slot];
        }
    }
}

/// `digest` in lower case, copied only when it has upper-case letters.
fn fold(digest: &str) -> Cow<'_, str> {
    match digest.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(digest.to_ascii_lowercase()),
        false => Cow::Borrowed(digest),
    }
}
