//! Pagination of DescribeRepositories, ListImages and DescribeImages in the model, as the
//! service model documents it: `maxResults` 1..1000, 100 results by default, opaque tokens
//! valid only for their own listing, and no `maxResults`/`nextToken` with named items.

use ecr_contract::model::{DEFAULT_PAGE_SIZE, ImageManifest, OpError, Registry};
use ecr_contract::wire::{
    DescribeImagesRequest, DescribeRepositoriesRequest, ImageIdentifier, ImagesFilter,
    ListImagesRequest,
};

/// A manifest unique to `n`.
fn manifest(n: usize) -> ImageManifest {
    ImageManifest::new(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":{n},"digest":"sha256:{n:064x}"}},"layers":[]}}"#
    ))
}

/// `repositories` repositories `repo-000`..., the first holding `images` tagged images.
fn registry(repositories: usize, images: usize) -> Registry {
    let mut builder = Registry::builder();
    for r in 0..repositories {
        builder = builder.repository(format!("repo-{r:03}"));
        if r == 0 {
            for i in 0..images {
                builder = builder.image(manifest(i)).tag(format!("t{i:04}"));
            }
        }
    }
    builder.build().expect("a registry")
}

fn repositories_page(
    registry: &Registry,
    max_results: Option<i64>,
    next_token: Option<String>,
) -> Result<(Vec<String>, Option<String>), OpError> {
    let answer = registry.describe_repositories(&DescribeRepositoriesRequest {
        max_results,
        next_token,
        ..Default::default()
    })?;
    let names = answer
        .repositories
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.repository_name)
        .collect();
    Ok((names, answer.next_token))
}

/// Follows `nextToken` from the first page; the page sizes and every item, in order.
fn walk<T>(
    mut page: impl FnMut(Option<String>) -> Result<(Vec<T>, Option<String>), OpError>,
) -> (Vec<usize>, Vec<T>) {
    let (mut sizes, mut all, mut token) = (Vec::new(), Vec::new(), None);
    loop {
        let (items, next) = page(token).expect("a page");
        sizes.push(items.len());
        all.extend(items);
        match next {
            Some(next) => token = Some(next),
            None => return (sizes, all),
        }
        assert!(sizes.len() < 1000, "pagination does not end");
    }
}

#[test]
fn describe_repositories_pages_by_max_results_and_ends_without_a_token() {
    let registry = registry(32, 0);
    let (sizes, names) = walk(|t| repositories_page(&registry, Some(10), t));
    assert_eq!(sizes, [10, 10, 10, 2]);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        (names.len(), sorted),
        (32, names.clone()),
        "each once, by name"
    );
    let (all, token) = repositories_page(&registry, Some(32), None).expect("a page");
    assert_eq!(
        (all.len(), token),
        (32, None),
        "an exact fit has no nextToken"
    );
}

#[test]
fn without_max_results_a_page_holds_one_hundred() {
    let registry = registry(101, 150);
    let (sizes, _) = walk(|t| repositories_page(&registry, None, t));
    assert_eq!(sizes, [DEFAULT_PAGE_SIZE, 1]);
    let list = |next_token| {
        let a = registry.list_images(&ListImagesRequest {
            repository_name: Some("repo-000".into()),
            next_token,
            ..Default::default()
        })?;
        Ok((a.image_ids.unwrap_or_default(), a.next_token))
    };
    assert_eq!(walk(list).0, [100, 50]);
    let describe = |next_token| {
        let a = registry.describe_images(&DescribeImagesRequest {
            repository_name: Some("repo-000".into()),
            next_token,
            ..Default::default()
        })?;
        Ok((a.image_details.unwrap_or_default(), a.next_token))
    };
    assert_eq!(walk(describe).0, [100, 50]);
}

#[test]
fn list_and_describe_images_page_through_every_image_once_in_push_order() {
    let registry = registry(1, 25);
    let (sizes, ids) = walk(|next_token| {
        let a = registry.list_images(&ListImagesRequest {
            repository_name: Some("repo-000".into()),
            max_results: Some(7),
            next_token,
            ..Default::default()
        })?;
        Ok((a.image_ids.unwrap_or_default(), a.next_token))
    });
    assert_eq!(sizes, [7, 7, 7, 4]);
    // Every image once, in push order (the order the embedded server lists in).
    let tags: Vec<String> = ids.into_iter().filter_map(|i| i.image_tag).collect();
    let pushed: Vec<String> = (0..25).map(|i| format!("t{i:04}")).collect();
    assert_eq!(tags, pushed);
    let (sizes, details) = walk(|next_token| {
        let a = registry.describe_images(&DescribeImagesRequest {
            repository_name: Some("repo-000".into()),
            max_results: Some(1000),
            next_token,
            ..Default::default()
        })?;
        Ok((a.image_details.unwrap_or_default(), a.next_token))
    });
    assert_eq!((sizes, details.len()), (vec![25], 25));
    let times: Vec<f64> = details.iter().filter_map(|d| d.image_pushed_at).collect();
    assert_eq!(times.len(), 25);
    // The builder times each call by a counter, one second apart.
    assert!(times.windows(2).all(|w| w[1] - w[0] == 1.0), "{times:?}");
}

/// One request that must fail with `InvalidParameterException`, and why.
struct Refused {
    why: &'static str,
    answer: Result<(), OpError>,
}

fn refused_requests(registry: &Registry) -> Vec<Refused> {
    let token_of = |request: &ListImagesRequest| {
        registry
            .list_images(request)
            .expect("a page")
            .next_token
            .expect("a token")
    };
    let list = |max_results, next_token, status: Option<&str>| ListImagesRequest {
        repository_name: Some("repo-000".into()),
        max_results,
        next_token,
        filter: status.map(|s| ImagesFilter {
            tag_status: Some(s.into()),
        }),
        ..Default::default()
    };
    let list_token = token_of(&list(Some(2), None, None));
    let repos = |max_results, next_token: Option<String>, names: Option<Vec<String>>| {
        registry
            .describe_repositories(&DescribeRepositoriesRequest {
                max_results,
                next_token,
                repository_names: names,
                ..Default::default()
            })
            .map(drop)
    };
    let images = |max_results, next_token: Option<String>, ids: Option<Vec<ImageIdentifier>>| {
        registry
            .describe_images(&DescribeImagesRequest {
                repository_name: Some("repo-000".into()),
                max_results,
                next_token,
                image_ids: ids,
                ..Default::default()
            })
            .map(drop)
    };
    let one = || Some(vec![ImageIdentifier::tag("t0000")]);
    let named = || Some(vec!["repo-000".to_owned()]);
    let mut tampered = list_token.clone();
    tampered.pop();
    let skipping = skip_a_page(&list_token);
    vec![
        Refused {
            why: "maxResults 0",
            answer: repos(Some(0), None, None),
        },
        Refused {
            why: "maxResults 1001",
            answer: repos(Some(1001), None, None),
        },
        Refused {
            why: "maxResults negative",
            answer: registry
                .list_images(&list(Some(i64::MIN), None, None))
                .map(drop),
        },
        Refused {
            why: "maxResults huge",
            answer: images(Some(i64::MAX), None, None),
        },
        Refused {
            why: "a garbage token",
            answer: repos(None, Some("garbage".into()), None),
        },
        Refused {
            why: "an empty token",
            answer: registry
                .list_images(&list(None, Some(String::new()), None))
                .map(drop),
        },
        Refused {
            why: "a tampered token",
            answer: registry
                .list_images(&list(None, Some(tampered), None))
                .map(drop),
        },
        Refused {
            why: "a token whose offset was changed, its checksum not",
            answer: registry
                .list_images(&list(None, Some(skipping), None))
                .map(drop),
        },
        Refused {
            why: "a ListImages token in DescribeImages",
            answer: images(None, Some(list_token.clone()), None),
        },
        Refused {
            why: "a ListImages token in DescribeRepositories",
            answer: repos(None, Some(list_token.clone()), None),
        },
        Refused {
            why: "a token of another filter",
            answer: registry
                .list_images(&list(None, Some(list_token.clone()), Some("TAGGED")))
                .map(drop),
        },
        Refused {
            why: "repositoryNames with maxResults",
            answer: repos(Some(10), None, named()),
        },
        Refused {
            why: "repositoryNames with nextToken",
            answer: repos(None, Some(list_token.clone()), named()),
        },
        Refused {
            why: "no repositoryNames at all",
            answer: repos(None, None, Some(vec![])),
        },
        Refused {
            why: "imageIds with maxResults",
            answer: images(Some(10), None, one()),
        },
        Refused {
            why: "imageIds with nextToken",
            answer: images(None, Some(list_token), one()),
        },
    ]
}

/// `token` with its offset moved one page on and its checksum kept (the embedded server's
/// tokens are base64 of `offset.checksum.listing`).
fn skip_a_page(token: &str) -> String {
    use base64::Engine as _;
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = String::from_utf8(engine.decode(token).expect("base64")).expect("text");
    let (offset, rest) = text.split_once('.').expect("offset.checksum.listing");
    let offset: usize = offset.parse().expect("an offset");
    engine.encode(format!("{}.{rest}", offset + 2))
}

#[test]
fn bad_page_sizes_tokens_and_combinations_are_invalid_parameters() {
    let registry = registry(3, 5);
    for case in refused_requests(&registry) {
        match case.answer {
            Err(e) => assert_eq!(e.code, "InvalidParameterException", "{}: {e}", case.why),
            Ok(()) => panic!("{}: accepted", case.why),
        }
    }
}

#[test]
fn a_token_continues_its_listing_with_another_page_size() {
    let registry = registry(12, 0);
    let (first, token) = repositories_page(&registry, Some(5), None).expect("a page");
    let (rest, end) = repositories_page(&registry, Some(100), token).expect("a page");
    assert_eq!((first.len(), rest.len(), end), (5, 7, None));
    assert!(first.iter().all(|n| !rest.contains(n)));
}

#[test]
fn the_tag_status_filter_lists_tagged_untagged_or_every_image() {
    let registry = Registry::builder()
        .repository("repo-000")
        .image(manifest(0))
        .tag("t0")
        .tag("u0")
        .image(manifest(1))
        .build()
        .expect("a registry");
    let filter = |status: Option<&str>| {
        status.map(|s| ImagesFilter {
            tag_status: Some(s.into()),
        })
    };
    let listed = |status| {
        let answer = registry
            .list_images(&ListImagesRequest {
                repository_name: Some("repo-000".into()),
                filter: filter(status),
                ..Default::default()
            })
            .expect("a listing");
        let ids = answer.image_ids.unwrap_or_default();
        ids.into_iter()
            .map(|id| (id.image_digest.is_some(), id.image_tag))
            .collect::<Vec<_>>()
    };
    let described = |status| {
        let answer = registry
            .describe_images(&DescribeImagesRequest {
                repository_name: Some("repo-000".into()),
                filter: filter(status),
                ..Default::default()
            })
            .expect("a listing");
        let details = answer.image_details.unwrap_or_default();
        details
            .into_iter()
            .map(|d| d.image_tags.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let tagged = vec![(true, Some("t0".to_owned())), (true, Some("u0".to_owned()))];
    let untagged = vec![(true, None)];
    let every: Vec<_> = tagged.iter().chain(&untagged).cloned().collect();
    assert_eq!(listed(Some("TAGGED")), tagged);
    assert_eq!(listed(Some("UNTAGGED")), untagged);
    assert_eq!(listed(Some("ANY")), every);
    assert_eq!(listed(None), every);
    let tags = vec!["t0".to_owned(), "u0".to_owned()];
    assert_eq!(described(Some("TAGGED")), vec![tags.clone()]);
    assert_eq!(described(Some("UNTAGGED")), [Vec::<String>::new()]);
    assert_eq!(described(Some("ANY")), [tags.clone(), vec![]]);
    assert_eq!(described(None), [tags, vec![]]);
}
