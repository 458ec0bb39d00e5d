//! `check`'s peak memory on the largest answer each operation allows (its
//! `remote::answer_bound`), against the answer's size: a counting global allocator measures
//! the bytes held at once while the answer is decoded as `check` decodes it (and judged by the
//! oracle, for BatchGetImage), the answer itself included, so a ratio of 1.0 is the body alone.
//!
//! Each operation gets the hostile shapes that cost most: a flood of unknown members, a list
//! of empty objects (its longest list, or an unknown one), and an error whose body is a flood
//! of numbers; BatchGetImage also gets its largest real answer, 100 images of 4,194,304
//! characters each, every one escaped to two bytes, judged against the fixture.
//!
//! `cargo bench --bench memory` (not part of `cargo bench`: it allocates about 2 GiB at its
//! peak and takes a minute or two).

use std::hint::black_box;

use ecr_contract::model::batch_get_image;
use ecr_contract::oracle::{Observed, check};
use ecr_contract::remote::answer_bound;
use ecr_contract::strategy::{build_registry, fixture};
use ecr_contract::wire::{self, BatchGetImageRequest, ImageIdentifier, Operation};
use http::HeaderMap;
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Decodes `body` as `check` decodes an answer of `operation`; what it kept, in items.
fn decode(operation: Operation, status: u16, body: &[u8]) -> usize {
    macro_rules! parse {
        ($($op:ident => $output:ident,)*) => {
            match operation {
                $(Operation::$op => {
                    let reply = wire::parse_response::<wire::$output>(status, &HeaderMap::new(), body);
                    usize::from(reply.is_ok())
                })*
                _ => 0,
            }
        };
    }
    parse! {
        CreateRepository => CreateRepositoryResponse,
        InitiateLayerUpload => InitiateLayerUploadResponse,
        UploadLayerPart => UploadLayerPartResponse,
        CompleteLayerUpload => CompleteLayerUploadResponse,
        PutImage => PutImageResponse,
        BatchDeleteImage => BatchDeleteImageResponse,
        DeleteRepository => DeleteRepositoryResponse,
        DescribeRepositories => DescribeRepositoriesResponse,
        ListImages => ListImagesResponse,
        DescribeImages => DescribeImagesResponse,
        BatchCheckLayerAvailability => BatchCheckLayerAvailabilityResponse,
        GetAuthorizationToken => GetAuthorizationTokenResponse,
    }
}

/// Decodes and judges a BatchGetImage answer against the fixture, as a probe does.
fn judge(status: u16, body: &[u8]) -> usize {
    let f = fixture();
    let registry = build_registry(&f.calls());
    let request = BatchGetImageRequest {
        repository_name: Some("team/app".into()),
        image_ids: Some(
            (0..100)
                .map(|i| ImageIdentifier::tag(format!("t{i}")))
                .collect(),
        ),
        ..Default::default()
    };
    let expected = batch_get_image(&registry, &request);
    let mut headers = HeaderMap::new();
    headers.insert("content-type", wire::CONTENT_TYPE.parse().expect("a value"));
    let observed = Observed::from_http(status, &headers, body);
    check(&expected, &observed).len()
}

/// The longest list of `operation`'s answer (or a member it does not have).
fn list_member(operation: Operation) -> &'static str {
    match operation {
        Operation::BatchGetImage => "images",
        Operation::BatchDeleteImage => "failures",
        Operation::DescribeRepositories => "repositories",
        Operation::ListImages => "imageIds",
        Operation::DescribeImages => "imageDetails",
        Operation::BatchCheckLayerAvailability => "layers",
        Operation::GetAuthorizationToken => "authorizationData",
        _ => "unknownList",
    }
}

/// `{head` + `item,` repeated + `last}` of exactly `len` bytes (padded with spaces).
fn flood(len: usize, head: &str, item: &str, last: &str) -> Vec<u8> {
    let room = len - head.len() - last.len();
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head.as_bytes());
    let n = room / item.len();
    for _ in 0..n {
        body.extend_from_slice(item.as_bytes());
    }
    body.resize(head.len() + room, b' ');
    body.extend_from_slice(last.as_bytes());
    body
}

/// A body, made only when measured: several of them at once would not fit.
type Make = Box<dyn Fn() -> Vec<u8>>;

/// The shapes of `operation`'s largest answer: name, status, body.
fn shapes(operation: Operation) -> Vec<(&'static str, u16, Make)> {
    let len = answer_bound(operation);
    let list = format!("{{\"{}\":[", list_member(operation));
    let mut out: Vec<(&'static str, u16, Make)> = vec![
        (
            "unknown members",
            200,
            Box::new(move || flood(len, "{", "\"a\":0,", "\"a\":0}")),
        ),
        (
            "list of {}",
            200,
            Box::new(move || flood(len, &list, "{},", "{}]}")),
        ),
        (
            "error, number flood",
            400,
            Box::new(move || {
                flood(
                    len,
                    "{\"__type\":\"X\",\"message\":\"m\",\"x\":[",
                    "1,",
                    "1]}",
                )
            }),
        ),
    ];
    if operation == Operation::BatchGetImage {
        out.push(("100 manifests of 4 MiB, escaped", 200, Box::new(manifests)));
    }
    out
}

/// 100 images of 4,194,304 characters each, every one a `"` escaped to two bytes.
fn manifests() -> Vec<u8> {
    let manifest = "\\\"".repeat(4_194_304);
    let mut body = b"{\"images\":[".to_vec();
    for i in 0..100 {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(format!("{{\"registryId\":\"123456789012\",\"repositoryName\":\"team/app\",\"imageId\":{{\"imageTag\":\"t{i}\"}},\"imageManifestMediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"imageManifest\":\"").as_bytes());
        body.extend_from_slice(manifest.as_bytes());
        body.extend_from_slice(b"\"}");
    }
    body.extend_from_slice(b"],\"failures\":[]}");
    body
}

#[allow(clippy::print_stdout)] // a benchmark's report
fn main() {
    println!("| operation | answer | bytes | peak bytes held | peak / bytes |");
    println!("| --- | --- | --- | --- | --- |");
    for operation in Operation::ALL {
        for (shape, status, make) in shapes(operation) {
            let mut body = make();
            body.shrink_to_fit();
            let before = ALLOCATOR.current_usage() - body.capacity();
            ALLOCATOR.reset_peak_usage();
            let kept = match operation {
                Operation::BatchGetImage => judge(status, black_box(&body)),
                _ => decode(operation, status, black_box(&body)),
            };
            black_box(kept);
            let peak = ALLOCATOR.peak_usage() - before;
            #[allow(clippy::cast_precision_loss)] // a ratio for people
            let ratio = peak as f64 / body.len() as f64;
            println!(
                "| {} | {shape} | {} | {peak} | {ratio:.2} |",
                operation.name(),
                body.len()
            );
        }
    }
}
