//! The model and the oracle: `batch_get_image` plus `check` of the answer `serve` gives, for
//! requests of 1 and 100 distinct ids, on registries of 100, 10,000 and 100,000 images. Prints ids
//! resolved and checked per second, and how the time grows with the registry (a hash lookup
//! does not grow; a scan grows with it).
//!
//! `cargo bench --bench model`

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use ecr_contract::model::{ImageDigest, batch_get_image};
use ecr_contract::oracle::{Observed, check};
use ecr_contract::wire::{BatchGetImageRequest, ImageIdentifier};

// The smallest registry holds as many images as the largest request has ids, so that every
// request names distinct images in every registry and the baseline does the same work.
const REGISTRIES: [usize; 3] = [100, 10_000, 100_000];
const IDS: [usize; 2] = [1, 100];
/// The aim: ids resolved and checked per second, on one core.
const AIM_IDS_PER_SECOND: f64 = 1e6;

/// `n` distinct ids spread over the registry: by tag, by digest, by both, and one in four
/// absent (a tag or a digest no image has, which the model must also look up). 7,919 is prime
/// to every registry size, so `k * 7919 % len` names a different image for each `k`.
fn request(n: usize, digests: &[String]) -> BatchGetImageRequest {
    let ids = (0..n)
        .map(|k| {
            let j = (k * 7919) % digests.len();
            match k % 8 {
                0 | 4 => ImageIdentifier::tag(format!("t{j}")),
                1 | 5 => ImageIdentifier::digest(digests[j].clone()),
                2 | 6 => ImageIdentifier::tag_and_digest(format!("t{j}"), digests[j].clone()),
                3 => ImageIdentifier::tag(format!("absent-{k}")),
                _ => ImageIdentifier::digest(
                    ImageDigest::of(format!("absent {k}").as_bytes()).to_string(),
                ),
            }
        })
        .collect();
    BatchGetImageRequest {
        repository_name: Some(support::REPOSITORY.into()),
        image_ids: Some(ids),
        ..Default::default()
    }
}

fn model(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    for size in REGISTRIES {
        // Built once, outside the measurement.
        let (registry, digests) = support::registry(size);
        for n in IDS {
            let request = request(n, &digests);
            let ids = request.image_ids.as_deref().unwrap_or_default();
            let distinct: std::collections::HashSet<_> = ids
                .iter()
                .map(|id| (&id.image_tag, &id.image_digest))
                .collect();
            assert_eq!(distinct.len(), n, "every id of the request is distinct");
            let (body, headers) = support::answer_bytes(&registry, &request);
            let observed = Observed::from_http(200, &headers, &body);
            let expected = batch_get_image(&registry, &request);
            assert_eq!(check(&expected, &observed), vec![], "serve's answer passes");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("ids_{n}"), size),
                &request,
                |b, request| {
                    b.iter(|| {
                        let expected = batch_get_image(&registry, black_box(request));
                        check(&expected, black_box(&observed))
                    });
                },
            );
        }
    }
    group.finish();
}

#[allow(clippy::print_stdout)]
fn main() {
    let estimates = support::Estimates::start();
    let mut criterion = Criterion::default().configure_from_args();
    model(&mut criterion);
    criterion.final_summary();
    println!(
        "\nbatch_get_image + check, one thread; growth: time / time on the 100-image registry"
    );
    println!(
        "{:>4} {:>9} {:>12} {:>14} {:>9} {:>7}",
        "ids", "images", "per request", "ids/s", "of aim", "growth"
    );
    for n in IDS {
        let base = estimates.nanos(&format!("model/ids_{n}/{}", REGISTRIES[0]));
        for size in REGISTRIES {
            let nanos = estimates.nanos(&format!("model/ids_{n}/{size}"));
            let per_second = nanos.map(|t| n as f64 * 1e9 / t);
            println!(
                "{n:>4} {size:>9} {:>12} {:>14} {:>9} {:>7}",
                support::time(nanos),
                per_second.map_or("-".into(), |r| format!("{r:.0}")),
                support::ratio(per_second, Some(AIM_IDS_PER_SECOND)),
                support::ratio(nanos, base),
            );
        }
    }
}
