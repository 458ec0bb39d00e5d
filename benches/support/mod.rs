//! Shared by the benchmarks: the estimates criterion wrote in this process run, read back so
//! that every ratio compares two figures measured side by side; the benchmark registry of
//! real-size images; and `check` runs against the embedded server as the CLI makes them.
#![allow(dead_code)] // each benchmark binary uses part of it

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ecr_contract::Suite;
use ecr_contract::model::manifest::{OCI, S2};
use ecr_contract::model::{Profile, Registry, RegistryId, batch_get_image};
use ecr_contract::oracle::Level;
use ecr_contract::report::Report;
use ecr_contract::serve::Config;
use ecr_contract::strategy::manifests::{ContentBlob, Layout, oci, schema2};
use ecr_contract::strategy::{ACCOUNT, REGION};
use ecr_contract::wire::Credentials;
use ecr_contract::wire::{
    BatchGetImageRequest, CONTENT_TYPE, CreateRepositoryRequest, PutImageRequest,
};
use http::HeaderMap;

/// Criterion's estimates written since this value was made.
pub struct Estimates {
    since: SystemTime,
}

impl Estimates {
    /// Call before running the benchmarks: older estimates are ignored.
    pub fn start() -> Self {
        Self {
            since: SystemTime::now(),
        }
    }

    /// Criterion's estimate for `id` (such as `decode/typed/100`) in nanoseconds per
    /// iteration, if it was measured in this run: its slope when it fitted one, else its mean.
    pub fn nanos(&self, id: &str) -> Option<f64> {
        let file = output_directory()?
            .join(id)
            .join("new")
            .join("estimates.json");
        let modified = std::fs::metadata(&file).ok()?.modified().ok()?;
        if modified < self.since {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
        ["slope", "mean"]
            .iter()
            .find_map(|k| json[k]["point_estimate"].as_f64())
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `criterion/` in the target directory,
/// which holds this benchmark's executable (`<target>/release/deps/<bench>-<hash>`).
fn output_directory() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .map(|dir| dir.join("criterion"))
        .find(|dir| dir.is_dir())
}

/// `a / b`, or a dash when either was not measured in this run.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

/// A duration in nanoseconds, readably.
pub fn time(nanos: Option<f64>) -> String {
    match nanos {
        None => "not measured".into(),
        Some(n) if n < 1e3 => format!("{n:.0} ns"),
        Some(n) if n < 1e6 => format!("{:.2} µs", n / 1e3),
        Some(n) if n < 1e9 => format!("{:.2} ms", n / 1e6),
        Some(n) => format!("{:.2} s", n / 1e9),
    }
}

/// Layers shared by every benchmark image: a base image's five.
fn layers() -> Vec<ContentBlob> {
    (0..5)
        .map(|i| ContentBlob::from_seed(&format!("layer {i}")))
        .collect()
}

/// Image `i` of a benchmark registry: a real-size manifest (Docker schema 2 or OCI, as
/// `docker push` lays them out, a config and five layers: about 1.1 KB), with its media type.
pub fn image(i: usize, layers: &[ContentBlob]) -> (String, &'static str) {
    let config = ContentBlob::from_seed(&format!("config {i}"));
    match i % 2 {
        0 => (schema2(&config, layers, Layout::Docker), S2),
        _ => (oci(&config, layers, Layout::Docker), OCI),
    }
}

/// `n` benchmark images.
pub fn images(n: usize) -> Vec<(String, &'static str)> {
    let layers = layers();
    (0..n).map(|i| image(i, &layers)).collect()
}

/// The benchmark repository.
pub const REPOSITORY: &str = "bench/app";

/// A registry whose repository [`REPOSITORY`] holds `n` images, image `i` tagged `t{i}`;
/// returns it with the digests, in image order.
pub fn registry(n: usize) -> (Registry, Vec<String>) {
    let mut registry = Registry::new(RegistryId::parse(ACCOUNT).expect("an account id"), REGION);
    let create = CreateRepositoryRequest {
        repository_name: Some(REPOSITORY.into()),
        ..Default::default()
    };
    registry.create_repository(&create, 0.0).expect("created");
    let digests = images(n)
        .into_iter()
        .enumerate()
        .map(|(i, (manifest, media_type))| {
            let put = PutImageRequest {
                repository_name: Some(REPOSITORY.into()),
                image_manifest: Some(manifest),
                image_manifest_media_type: Some(media_type.into()),
                image_tag: Some(format!("t{i}")),
                ..Default::default()
            };
            let answer = registry.put_image(&put, 0.0).expect("pushed");
            answer
                .image
                .and_then(|i| i.image_id)
                .and_then(|i| i.image_digest)
                .expect("a digest")
        })
        .collect();
    (registry, digests)
}

/// The bytes `serve` answers `request` with, and the HTTP headers.
pub fn answer_bytes(registry: &Registry, request: &BatchGetImageRequest) -> (Vec<u8>, HeaderMap) {
    let answer = batch_get_image(registry, request)
        .answer(&Profile::default())
        .expect("a 200 answer");
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        CONTENT_TYPE.parse().expect("a header value"),
    );
    (serde_json::to_vec(&answer).expect("encodes"), headers)
}

/// The embedded server as `ecr-contract check` starts it (requiring uploaded blobs, like
/// ECR), verifying signatures made with the placeholder credentials when `verify`.
pub fn embedded(verify: bool) -> Config {
    Config {
        require_blobs: true,
        verify_signatures: verify.then(Credentials::placeholder),
        ..Config::default()
    }
}

/// `check` as the CLI runs it on loopback (signed with the placeholder credentials, no
/// progress bar), with `cases` random sequences from `seed`, against `url`.
pub async fn check(url: &str, cases: u32, seed: u64) -> Report {
    check_with(url, cases, seed, Some(Credentials::placeholder())).await
}

/// As [`check`], signing with `credentials`, or not at all.
pub async fn check_with(
    url: &str,
    cases: u32,
    seed: u64,
    credentials: Option<Credentials>,
) -> Report {
    let journal = std::env::temp_dir().join(format!(
        "ecr-contract-bench-journal-{}.tsv",
        std::process::id()
    ));
    let suite = Suite::new(url)
        .region(REGION)
        .cases(cases)
        .seed(seed)
        .journal(journal)
        .timeout(Duration::from_secs(30));
    let suite = match credentials {
        Some(credentials) => suite.credentials(credentials),
        None => suite.unsigned(),
    };
    check_suite(suite).await
}

/// As [`check`], for a suite set up by the caller (paced, or with jobs, say).
pub async fn check_suite(suite: Suite) -> Report {
    let report = suite.run().await.expect("the run completes");
    // A server that does not verify signatures breaks ROBUST-AUTH, a "may": not a failure.
    assert!(
        !report.fails_at(Level::Should),
        "the reference server passes: {:?}",
        report.findings.first().map(|f| &f.message)
    );
    report
}

/// This process's resident memory, in KiB (`/proc/self/statm`, pages of 4 KiB; 0 where
/// `/proc` is not there).
pub fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}
