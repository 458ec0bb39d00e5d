//! Helpers shared by every test module: snapshot settings, the fixture registry, and the
//! data-driven contract-case runner.

pub mod broken;
pub mod cases;
pub mod pull;
pub mod python;
pub mod registry_broken;
mod run;
pub mod spec_table;

pub use run::{binary, binary_in, check_url, files_in, suite, tempdir};

use ecr_contract::model::{DigestTags, Profile, Registry};
use ecr_contract::strategy::{Fixture, build_registry, fixture};

/// Binds insta to the top-level `snapshots/` folder for the duration of `f`.
pub fn with_snapshots<R>(f: impl FnOnce() -> R) -> R {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(f)
}

/// The standard fixture and the registry it builds.
pub fn fixture_registry() -> (Fixture, Registry) {
    let fixture = fixture();
    let registry = build_registry(&fixture.calls());
    (fixture, registry)
}

/// Every profile: each combination of the choices a conforming server may make.
pub fn all_profiles() -> Vec<Profile> {
    let mut out = Vec::new();
    for digest_tags in [DigestTags::None, DigestTags::First, DigestTags::Each] {
        for bits in 0..32u8 {
            let bit = |i: u8| bits & (1 << i) != 0;
            out.push(Profile {
                digest_tags,
                fail_untranslatable: bit(0),
                digest_of_translation: bit(1),
                reject_invalid_digest: bit(2),
                mismatch_as_not_found: bit(3),
                dedupe_ids: bit(4),
            });
        }
    }
    out
}

/// The crate's own client of `url`: signed with the placeholder credentials, retrying
/// throttling, with `timeout`.
pub fn signed_target(url: &str, timeout: std::time::Duration) -> ecr_contract::remote::HttpTarget {
    ecr_contract::remote::HttpTarget::new(
        url,
        "us-east-1",
        Some(ecr_contract::wire::Credentials::placeholder()),
        timeout,
    )
    .expect("a target")
}
