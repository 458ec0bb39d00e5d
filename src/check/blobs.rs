//! The blobs the harness can upload before a push, by digest (see `Session::upload_blobs`).
//! Pure: it must not upload anything.

use crate::strategy::manifests::ContentBlob;
use crate::strategy::{Fixture, generated_blobs};

/// The blobs the harness uploads before a push, by digest: the fixture's, the generators',
/// and those the contract cases name (`n1` to `n3`; not `b1` and `b2`: the case that shows
/// LayersNotFoundException uploads them itself, after pushing without them). The first of
/// equal digests wins.
pub(super) fn known_blobs(fixture: &Fixture) -> std::collections::HashMap<String, ContentBlob> {
    let named_by_cases = ["n1", "n2", "n3"].map(ContentBlob::from_seed);
    let mut blobs = std::collections::HashMap::new();
    for blob in fixture
        .blobs
        .iter()
        .cloned()
        .chain(named_by_cases)
        .chain(generated_blobs())
    {
        blobs.entry(blob.digest.clone()).or_insert(blob);
    }
    blobs
}
