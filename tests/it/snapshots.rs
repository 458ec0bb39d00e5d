//! The exact wire form of every request the harness sends and of representative answers,
//! pinned in the top-level `snapshots/` folder.

use ecr_contract::model::{OpError, Profile, batch_get_image};
use ecr_contract::strategy::manifests::ContentBlob;
use ecr_contract::wire::{self, ImageIdentifier, Input, encode_request};

use crate::support::{fixture_registry, with_snapshots};

/// A request exactly as it goes on the wire (before signing): request line, headers, body.
fn request_form<I: Input>(input: &I) -> String {
    let request = encode_request(input);
    let headers: String = request
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    let body = String::from_utf8(request.body).expect("UTF-8");
    format!(
        "{} {} HTTP/1.1\n{headers}\n{body}\n",
        request.method, request.path
    )
}

/// An answer exactly as the embedded server sends it: status, content type, body.
fn answer_form<T: serde::Serialize>(answer: &Result<T, OpError>) -> String {
    let (status, body) = OpError::to_http(answer);
    let body = String::from_utf8(body).expect("UTF-8");
    format!(
        "HTTP/1.1 {status}\nContent-Type: {}\n\n{body}\n",
        wire::CONTENT_TYPE
    )
}

fn get(name: &str, ids: Vec<ImageIdentifier>) -> wire::BatchGetImageRequest {
    wire::BatchGetImageRequest {
        repository_name: Some(name.into()),
        image_ids: Some(ids),
        ..Default::default()
    }
}

#[test]
fn requests_the_harness_sends_have_a_fixed_wire_form() {
    let (fixture, _) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    let blob = ContentBlob::from_seed("l1");
    let upload_id = "00000000-0000-4000-8000-000000000001".to_owned();
    with_snapshots(|| {
        insta::assert_snapshot!(
            "request-batch-get-image-aws-example",
            request_form(&get("ubuntu", vec![ImageIdentifier::tag("precise")]))
        );
        insta::assert_snapshot!(
            "request-batch-get-image-every-member",
            request_form(&wire::BatchGetImageRequest {
                registry_id: Some("123456789012".into()),
                repository_name: Some("team/app".into()),
                image_ids: Some(vec![
                    ImageIdentifier::tag("v1"),
                    ImageIdentifier::digest(&s2.digest),
                    ImageIdentifier::tag_and_digest("v1", &s2.digest)
                ]),
                accepted_media_types: Some(vec![
                    "application/vnd.docker.distribution.manifest.v2+json".into(),
                    "application/vnd.oci.image.manifest.v1+json".into()
                ]),
            })
        );
        insta::assert_snapshot!(
            "request-create-repository",
            request_form(&wire::CreateRepositoryRequest {
                repository_name: Some("run-1/team/app".into()),
                image_tag_mutability: Some("IMMUTABLE".into()),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-initiate-layer-upload",
            request_form(&wire::InitiateLayerUploadRequest {
                repository_name: Some("team/app".into()),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-upload-layer-part",
            request_form(&wire::UploadLayerPartRequest {
                repository_name: Some("team/app".into()),
                upload_id: Some(upload_id.clone()),
                part_first_byte: Some(0),
                part_last_byte: Some(i64::try_from(blob.size()).expect("small") - 1),
                layer_part_blob: Some(wire::Blob(blob.bytes.clone())),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-complete-layer-upload",
            request_form(&wire::CompleteLayerUploadRequest {
                repository_name: Some("team/app".into()),
                upload_id: Some(upload_id.clone()),
                layer_digests: Some(vec![blob.digest.clone()]),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-put-image",
            request_form(&wire::PutImageRequest {
                repository_name: Some("team/app".into()),
                image_manifest: Some(s2.manifest.clone()),
                image_manifest_media_type: Some(s2.media_type.into()),
                image_tag: Some("v1".into()),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-batch-delete-image",
            request_form(&wire::BatchDeleteImageRequest {
                repository_name: Some("team/app".into()),
                image_ids: Some(vec![
                    ImageIdentifier::tag("v1"),
                    ImageIdentifier::digest(&s2.digest)
                ]),
                ..Default::default()
            })
        );
        insta::assert_snapshot!(
            "request-delete-repository",
            request_form(&wire::DeleteRepositoryRequest {
                repository_name: Some("run-1/team/app".into()),
                force: Some(true),
                ..Default::default()
            })
        );
    });
}

#[test]
fn answers_of_the_reference_model_have_a_fixed_wire_form() {
    let (fixture, registry) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    let answer = |request: &wire::BatchGetImageRequest| {
        batch_get_image(&registry, request).answer(&Profile::default())
    };
    with_snapshots(|| {
        insta::assert_snapshot!(
            "answer-batch-get-image-aws-example",
            answer_form(&answer(&get(
                "ubuntu",
                vec![ImageIdentifier::tag("precise")]
            )))
        );
        insta::assert_snapshot!(
            "answer-batch-get-image-images-and-failures",
            answer_form(&answer(&get(
                "team/app",
                vec![
                    ImageIdentifier::tag("v1"),
                    ImageIdentifier::digest(&s2.digest),
                    ImageIdentifier::tag("nope"),
                    ImageIdentifier::tag_and_digest("v2", &s2.digest),
                    ImageIdentifier::default(),
                    ImageIdentifier::digest("sha256:xyz"),
                ]
            )))
        );
        let mut translated = get("team/app", vec![ImageIdentifier::tag("v1")]);
        translated.accepted_media_types =
            Some(vec!["application/vnd.oci.image.manifest.v1+json".into()]);
        insta::assert_snapshot!(
            "answer-batch-get-image-translated-to-oci",
            answer_form(&answer(&translated))
        );
        insta::assert_snapshot!(
            "answer-error-repository-not-found",
            answer_form(&answer(&get(
                "absent/repo",
                vec![ImageIdentifier::tag("v1")]
            )))
        );
        let mut invalid = get("team/app", vec![ImageIdentifier::tag("v1")]);
        invalid.registry_id = Some("12345".into());
        insta::assert_snapshot!(
            "answer-error-invalid-registry-id",
            answer_form(&answer(&invalid))
        );
        insta::assert_snapshot!(
            "answer-error-too-many-ids",
            answer_form(&answer(&get(
                "team/app",
                vec![ImageIdentifier::tag("v1"); 101]
            )))
        );
    });
}

#[test]
fn answers_of_the_setup_operations_have_a_fixed_wire_form() {
    let (fixture, mut registry) = fixture_registry();
    let s2b = fixture.image("s2b").expect("s2b");
    with_snapshots(|| {
        let created = registry.create_repository(
            &wire::CreateRepositoryRequest {
                repository_name: Some("run-1/app".into()),
                ..Default::default()
            },
            1_700_000_000.5,
        );
        insta::assert_snapshot!("answer-create-repository", answer_form(&created));
        let again = registry.create_repository(
            &wire::CreateRepositoryRequest {
                repository_name: Some("run-1/app".into()),
                ..Default::default()
            },
            1_700_000_001.0,
        );
        insta::assert_snapshot!(
            "answer-error-repository-already-exists",
            answer_form(&again)
        );
        let put = registry.put_image(
            &wire::PutImageRequest {
                repository_name: Some("team/app".into()),
                image_manifest: Some(s2b.manifest.clone()),
                image_tag: Some("v1".into()),
                ..Default::default()
            },
            1_700_000_002.0,
        );
        insta::assert_snapshot!("answer-put-image-moving-a-tag", answer_form(&put));
        let deleted = registry.batch_delete_image(&wire::BatchDeleteImageRequest {
            repository_name: Some("team/app".into()),
            image_ids: Some(vec![
                ImageIdentifier::tag("v2"),
                ImageIdentifier::tag("absent"),
            ]),
            ..Default::default()
        });
        insta::assert_snapshot!("answer-batch-delete-image", answer_form(&deleted));
    });
}

#[test]
fn answers_of_the_read_operations_have_a_fixed_wire_form() {
    let (fixture, mut registry) = fixture_registry();
    let s2 = fixture.image("s2").expect("s2");
    // The blobs of s2, and one no manifest names, uploaded.
    let mut blobs: Vec<ContentBlob> = fixture
        .blobs
        .iter()
        .filter(|b| s2.manifest.contains(b.digest.as_str()))
        .cloned()
        .collect();
    blobs.push(ContentBlob::from_seed("uploaded, unreferenced"));
    for blob in &blobs {
        upload(&mut registry, "team/app", blob);
    }
    let mut digests: Vec<String> = blobs.iter().map(|b| b.digest.clone()).collect();
    digests.push(format!("sha256:{}", "0".repeat(64)));
    with_snapshots(|| {
        let repositories = registry.describe_repositories(&wire::DescribeRepositoriesRequest {
            max_results: Some(2),
            ..Default::default()
        });
        insta::assert_snapshot!(
            "answer-describe-repositories-first-page",
            answer_form(&repositories)
        );
        let images = registry.describe_images(&wire::DescribeImagesRequest {
            repository_name: Some("team/app".into()),
            ..Default::default()
        });
        insta::assert_snapshot!("answer-describe-images", answer_form(&images));
        let listed = registry.list_images(&wire::ListImagesRequest {
            repository_name: Some("team/app".into()),
            max_results: Some(3),
            ..Default::default()
        });
        insta::assert_snapshot!("answer-list-images-first-page", answer_form(&listed));
        let layers =
            registry.batch_check_layer_availability(&wire::BatchCheckLayerAvailabilityRequest {
                repository_name: Some("team/app".into()),
                layer_digests: Some(digests),
                ..Default::default()
            });
        insta::assert_snapshot!(
            "answer-batch-check-layer-availability",
            answer_form(&layers)
        );
        let token = registry.get_authorization_token(
            &wire::GetAuthorizationTokenRequest::default(),
            1_700_000_000.0,
            &ecr_contract::model::TokenKey::new([7; 32]),
        );
        insta::assert_snapshot!("answer-get-authorization-token", answer_form(&token));
    });
}

/// Uploads `blob` to `repository` in one part through the model.
fn upload(registry: &mut ecr_contract::model::Registry, repository: &str, blob: &ContentBlob) {
    let upload_id = registry
        .initiate_layer_upload(&wire::InitiateLayerUploadRequest {
            repository_name: Some(repository.into()),
            ..Default::default()
        })
        .expect("an upload")
        .upload_id;
    let last = i64::try_from(blob.bytes.len()).expect("a size") - 1;
    registry
        .upload_layer_part(&wire::UploadLayerPartRequest {
            repository_name: Some(repository.into()),
            upload_id: upload_id.clone(),
            part_first_byte: Some(0),
            part_last_byte: Some(last),
            layer_part_blob: Some(wire::Blob(blob.bytes.clone())),
            ..Default::default()
        })
        .expect("a part");
    registry
        .complete_layer_upload(&wire::CompleteLayerUploadRequest {
            repository_name: Some(repository.into()),
            upload_id,
            layer_digests: Some(vec![blob.digest.clone()]),
            ..Default::default()
        })
        .expect("a layer");
}
