//! The model's small tables and bounds, each entry pinned: what a media type names, and the
//! lengths PutImage takes.

use ecr_contract::model::manifest::{DOCKER_LIST, OCI, OCI_INDEX, S1, S1_SIGNED, S2};
use ecr_contract::model::{Format, Registry};
use ecr_contract::wire::PutImageRequest;

#[test]
fn each_media_type_names_its_format_whatever_its_parameters() {
    let table = [
        (S1, Format::S1),
        (S1_SIGNED, Format::S1),
        (S2, Format::S2),
        (OCI, Format::Oci),
        (DOCKER_LIST, Format::DockerList),
        (OCI_INDEX, Format::OciIndex),
        ("text/plain", Format::Other),
        ("", Format::Other),
    ];
    for (media_type, format) in table {
        assert_eq!(Format::of(media_type), format, "{media_type}");
        let with_parameter = format!("{media_type}; charset=utf-8");
        assert_eq!(Format::of(&with_parameter), format, "{with_parameter}");
        assert_eq!(
            format.is_list(),
            media_type == DOCKER_LIST || media_type == OCI_INDEX
        );
    }
    for format in [
        Format::S2,
        Format::Oci,
        Format::DockerList,
        Format::OciIndex,
    ] {
        let media_type = format.media_type().expect("a canonical media type");
        assert_eq!(Format::of(media_type), format);
    }
    assert_eq!(Format::S1.media_type(), Some(S1));
    assert_eq!(Format::Other.media_type(), None);
}

#[test]
fn put_image_refuses_an_empty_manifest_by_its_length_constraint() {
    let mut registry = Registry::builder()
        .repository("team/app")
        .build()
        .expect("a registry");
    let refused = registry
        .put_image(
            &PutImageRequest {
                repository_name: Some("team/app".into()),
                image_manifest: Some(String::new()),
                image_tag: Some("empty".into()),
                ..Default::default()
            },
            1_700_000_000.0,
        )
        .expect_err("an empty manifest is refused");
    assert_eq!(refused.code, "InvalidParameterException");
    assert!(
        refused
            .message
            .contains("'imageManifest' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"),
        "{}",
        refused.message
    );
}
