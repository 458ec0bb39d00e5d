//! Decoding: the typed, validating `parse_response` on BatchGetImage answers of 1, 10 and 100
//! real-size images, against `serde_json::from_slice::<serde_json::Value>` of the same bytes,
//! side by side in one run. Prints criterion's times, then the ratio typed / generic.
//!
//! `cargo bench --bench decode`

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use ecr_contract::wire::{BatchGetImageRequest, BatchGetImageResponse, ImageIdentifier, Reply};

const SIZES: [usize; 3] = [1, 10, 100];

/// The answer `serve` gives to a request for every image of a registry of `n`, by tag.
fn answer(n: usize) -> (Vec<u8>, http::HeaderMap) {
    let (registry, _) = support::registry(n);
    let request = BatchGetImageRequest {
        repository_name: Some(support::REPOSITORY.into()),
        image_ids: Some(
            (0..n)
                .map(|i| ImageIdentifier::tag(format!("t{i}")))
                .collect(),
        ),
        ..Default::default()
    };
    support::answer_bytes(&registry, &request)
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for n in SIZES {
        let (body, headers) = answer(n);
        let decoded =
            ecr_contract::wire::parse_response::<BatchGetImageResponse>(200, &headers, &body);
        assert!(
            matches!(&decoded, Ok(Reply::Success(d)) if d.is_clean() && d.value.images.as_ref().map(Vec::len) == Some(n)),
            "the typed decoder reads the answer"
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("typed", n), &body, |b, body| {
            b.iter(|| {
                ecr_contract::wire::parse_response::<BatchGetImageResponse>(
                    200,
                    black_box(&headers),
                    black_box(body),
                )
            });
        });
        group.bench_with_input(BenchmarkId::new("value", n), &body, |b, body| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)));
        });
    }
    group.finish();
}

#[allow(clippy::print_stdout)]
fn main() {
    let estimates = support::Estimates::start();
    let mut criterion = Criterion::default().configure_from_args();
    decode(&mut criterion);
    criterion.final_summary();
    println!(
        "\ndecoding a BatchGetImage answer: parse_response (typed) / serde_json::Value, same bytes, same run"
    );
    println!(
        "{:>7} {:>9} {:>13} {:>13} {:>7}",
        "images", "bytes", "typed", "Value", "ratio"
    );
    for n in SIZES {
        let typed = estimates.nanos(&format!("decode/typed/{n}"));
        let value = estimates.nanos(&format!("decode/value/{n}"));
        println!(
            "{n:>7} {:>9} {:>13} {:>13} {:>7}",
            answer(n).0.len(),
            support::time(typed),
            support::time(value),
            support::ratio(typed, value)
        );
    }
}
