//! Signing: `wire::Signer`, which keeps the day's derived signing key, against
//! `wire::sign_request` (`aws-sigv4`, which derives the key with four HMACs on every request,
//! the harness's path before the signer), on the requests the harness sends most: a
//! BatchGetImage of a few ids and a PutImage of a real-size manifest. Side by side in one run;
//! prints criterion's times, then the ratio signer / `aws-sigv4`.
//!
//! `cargo bench --bench sign`

mod support;

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{BenchmarkId, Criterion};
use ecr_contract::wire::{Credentials, Signer, sign_request};

const URL: &str = "http://127.0.0.1:5000/";

/// The requests signed: name, `X-Amz-Target` and body.
fn requests() -> Vec<(&'static str, String, Vec<u8>)> {
    let batch_get = br#"{"repositoryName":"ecr-contract-1a2b3c/app","imageIds":[{"imageTag":"v1"},{"imageDigest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],"acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json"]}"#;
    let (manifest, media_type) = support::images(1).remove(0);
    let put = serde_json::json!({
        "repositoryName": "ecr-contract-1a2b3c/app",
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
        "imageTag": "v1",
    });
    vec![
        (
            "BatchGetImage",
            "AmazonEC2ContainerRegistry_V20150921.BatchGetImage".into(),
            batch_get.to_vec(),
        ),
        (
            "PutImage",
            "AmazonEC2ContainerRegistry_V20150921.PutImage".into(),
            serde_json::to_vec(&put).expect("encodes"),
        ),
    ]
}

fn sign(c: &mut Criterion) {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("FwoGZXIvYXdzEXAMPLETOKEN".into()),
    );
    let signer = Signer::new(credentials.clone());
    let time = SystemTime::now();
    let mut group = c.benchmark_group("sign");
    for (name, target, body) in requests() {
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
            ("host", "127.0.0.1:5000"),
        ];
        let reference = sign_request(
            &credentials,
            "us-east-1",
            "POST",
            URL,
            &headers,
            &body,
            time,
        );
        assert_eq!(
            signer.sign("us-east-1", "POST", URL, &headers, &body, time),
            reference,
            "the signer signs as aws-sigv4 does"
        );
        group.bench_with_input(BenchmarkId::new("signer", name), &body, |b, body| {
            b.iter(|| signer.sign("us-east-1", "POST", URL, black_box(&headers), body, time));
        });
        group.bench_with_input(BenchmarkId::new("aws_sigv4", name), &body, |b, body| {
            b.iter(|| {
                sign_request(
                    &credentials,
                    "us-east-1",
                    "POST",
                    URL,
                    black_box(&headers),
                    body,
                    time,
                )
            });
        });
    }
    group.finish();
}

#[allow(clippy::print_stdout)]
fn main() {
    let estimates = support::Estimates::start();
    let mut criterion = Criterion::default().configure_from_args();
    sign(&mut criterion);
    criterion.final_summary();
    println!("\nsigning one request: Signer (key kept) / sign_request (aws-sigv4), same run");
    println!(
        "{:>14} {:>7} {:>13} {:>13} {:>7}",
        "request", "bytes", "Signer", "aws-sigv4", "ratio"
    );
    for (name, _, body) in requests() {
        let ours = estimates.nanos(&format!("sign/signer/{name}"));
        let theirs = estimates.nanos(&format!("sign/aws_sigv4/{name}"));
        println!(
            "{name:>14} {:>7} {:>13} {:>13} {:>7}",
            body.len(),
            support::time(ours),
            support::time(theirs),
            support::ratio(ours, theirs)
        );
    }
}
