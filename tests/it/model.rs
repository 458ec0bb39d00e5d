//! The model's small tables and bounds, each entry pinned: what a media type names; how a
//! translation renames layer types; the lengths of manifests, repository names and tags; what
//! CreateRepository reads of mutability and encryption; the limits a BatchGetImage sits at; and
//! the layer part sizes.

use ecr_contract::model::manifest::{
    Contents, DOCKER_LIST, OCI, OCI_INDEX, S1, S1_SIGNED, S2, translate,
};
use ecr_contract::model::{
    Encryption, Format, ImageTag, MIN_PART_SIZE, OpError, PART_SIZE, Registry, RepositoryName,
    RequestCause, StoredBlob, TagMutability, batch_get_image,
};
use ecr_contract::wire::{
    BatchGetImageRequest, CreateRepositoryRequest, EncryptionConfiguration, ImageIdentifier,
    PutImageRequest,
};

/// Each Docker layer type and its OCI name (spec section 5's translations).
const LAYER_TYPES: [(&str, &str); 3] = [
    (
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    ),
    (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ),
    (
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.v1.tar",
    ),
];

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

/// A manifest of `media_type` whose layers have `layer_types`.
fn manifest_with_layers(media_type: &str, layer_types: &[&str]) -> Contents {
    let layers: Vec<String> = layer_types
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"{{"mediaType":"{t}","size":{i},"digest":"sha256:{i:064x}"}}"#))
        .collect();
    let text = format!(
        r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"c","size":1,"digest":"sha256:{:064x}"}},"layers":[{}]}}"#,
        99,
        layers.join(",")
    );
    Contents::parse(&text).expect("a manifest")
}

fn layer_types(translated: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(translated).expect("JSON");
    value["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_translation_renames_each_layer_type_and_keeps_one_it_does_not_know() {
    let docker: Vec<&str> = LAYER_TYPES.iter().map(|(d, _)| *d).collect();
    let oci: Vec<&str> = LAYER_TYPES.iter().map(|(_, o)| *o).collect();
    let unknown = "application/x-custom-layer";
    let with_unknown = |types: &[&str]| -> Vec<String> {
        types
            .iter()
            .chain([&unknown])
            .map(|t| (*t).to_owned())
            .collect()
    };
    let directions = [
        (OCI, Format::Oci, &oci, Format::S2, &docker),
        (S2, Format::S2, &docker, Format::Oci, &oci),
    ];
    for (media_type, from, from_layers, to, to_layers) in directions {
        let layers = with_unknown(from_layers);
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let stored = manifest_with_layers(media_type, &layers);
        let translated = translate(&stored, from, to, "team/app", "t").expect("a translation");
        assert_eq!(
            layer_types(&translated),
            with_unknown(to_layers),
            "{from:?} to {to:?}"
        );
    }
}

#[test]
fn names_and_tags_take_exactly_their_lengths() {
    let name = |n: usize| "a".repeat(n);
    assert!(RepositoryName::parse(&name(1)).is_err());
    assert!(RepositoryName::parse(&name(2)).is_ok());
    assert!(RepositoryName::parse(&name(256)).is_ok());
    assert!(RepositoryName::parse(&name(257)).is_err());
    let short = RepositoryName::parse(&name(1)).expect_err("too short");
    assert!(
        short.to_string().contains("greater than or equal to 2"),
        "{short}"
    );
    let empty = ImageTag::parse("").expect_err("an empty tag");
    assert!(
        empty.to_string().contains("greater than or equal to 1"),
        "{empty}"
    );
    assert!(ImageTag::parse("t").is_ok());
    assert!(ImageTag::parse(&"t".repeat(300)).is_ok());
    let long = ImageTag::parse(&"t".repeat(301)).expect_err("a tag too long");
    assert!(
        long.to_string().contains("less than or equal to 300"),
        "{long}"
    );
}

#[test]
fn tag_mutability_reads_each_enum_value_and_nothing_else() {
    let table = [
        ("MUTABLE", Some(TagMutability::Mutable)),
        ("MUTABLE_WITH_EXCLUSION", Some(TagMutability::Mutable)),
        ("IMMUTABLE", Some(TagMutability::Immutable)),
        ("IMMUTABLE_WITH_EXCLUSION", Some(TagMutability::Immutable)),
        ("mutable", None),
        ("", None),
    ];
    for (given, read) in table {
        assert_eq!(TagMutability::parse(given), read, "{given:?}");
    }
    assert_eq!(TagMutability::Mutable.as_str(), "MUTABLE");
    assert_eq!(TagMutability::Immutable.as_str(), "IMMUTABLE");
}

/// What CreateRepository makes of `encryption`: the configuration it reports, or the error.
fn created_with(encryption: Option<EncryptionConfiguration>) -> Result<Encryption, OpError> {
    let mut registry = Registry::builder().build().expect("a registry");
    let created = registry.create_repository(
        &CreateRepositoryRequest {
            repository_name: Some("team/app".into()),
            encryption_configuration: encryption.clone(),
            ..Default::default()
        },
        1_700_000_000.0,
    )?;
    let reported = created
        .repository
        .and_then(|r| r.encryption_configuration)
        .expect("an encryption configuration");
    let parsed = Encryption::parse(encryption.as_ref())?;
    assert_eq!(reported, parsed.to_wire());
    Ok(parsed)
}

#[test]
fn encryption_is_aes256_by_default_and_a_kms_key_only_with_kms() {
    let config = |t: Option<&str>, key: Option<String>| {
        Some(EncryptionConfiguration {
            encryption_type: t.map(str::to_owned),
            kms_key: key,
        })
    };
    let key = || Some("arn:aws:kms:us-east-1:123456789012:key/k".to_owned());
    let default = created_with(None).expect("the default");
    assert_eq!((default.encryption_type, default.kms_key), ("AES256", None));
    for t in ["AES256", "KMS", "KMS_DSSE"] {
        let read = created_with(config(Some(t), None)).expect("a known type");
        assert_eq!((read.encryption_type, read.kms_key), (t, None));
    }
    for t in ["KMS", "KMS_DSSE"] {
        let read = created_with(config(Some(t), key())).expect("a key with KMS");
        assert_eq!((read.encryption_type, read.kms_key), (t, key()));
        let longest = Some("k".repeat(2048));
        assert!(created_with(config(Some(t), longest)).is_ok());
    }
    let refused = [
        ("no type", config(None, None), "'Member must not be null'"),
        (
            "an unknown type",
            config(Some("DES"), None),
            "enum value set",
        ),
        (
            "a key with AES256",
            config(Some("AES256"), key()),
            "only be specified with",
        ),
        (
            "an empty key",
            config(Some("KMS"), Some(String::new())),
            "between 1 and 2048",
        ),
        (
            "a key too long",
            config(Some("KMS"), Some("k".repeat(2049))),
            "between 1 and 2048",
        ),
    ];
    for (why, given, says) in refused {
        let error = created_with(given).expect_err(why);
        assert_eq!(error.code, "InvalidParameterException", "{why}");
        assert!(error.message.contains(says), "{why}: {}", error.message);
    }
}

#[test]
fn a_blob_shows_its_size_not_its_bytes() {
    let blob = StoredBlob::new(vec![0x41; 3]);
    assert_eq!(format!("{blob:?}"), "Blob(3 bytes)");
    assert_eq!((blob.size(), blob.bytes()), (3, &b"AAA"[..]));
}

#[test]
fn a_request_at_a_limit_names_that_limit_and_one_past_it_is_refused_by_its_constraint() {
    let long = "a".repeat(256);
    let registry = Registry::builder()
        .repository("ab")
        .repository("abc")
        .repository(long.as_str())
        .build()
        .expect("a registry");
    let request = |name: &str, ids: Vec<ImageIdentifier>| BatchGetImageRequest {
        repository_name: Some(name.to_owned()),
        image_ids: Some(ids),
        ..Default::default()
    };
    let limits = |name: &str, ids| {
        let expected = batch_get_image(&registry, &request(name, ids));
        expected.success.expect("a valid request").at_limits
    };
    let one = || vec![ImageIdentifier::tag("absent")];
    assert_eq!(limits("ab", one()), [RequestCause::RepositoryName]);
    assert_eq!(limits(&long, one()), [RequestCause::RepositoryName]);
    assert_eq!(limits("abc", one()), []);
    let hundred = (0..100)
        .map(|i| ImageIdentifier::tag(format!("t{i}")))
        .collect();
    assert_eq!(limits("abc", hundred), [RequestCause::ImageIdsCount]);
    let shortest = vec![ImageIdentifier::tag("t")];
    assert_eq!(limits("abc", shortest), [RequestCause::TagLength]);
    let longest = vec![ImageIdentifier::tag("t".repeat(300))];
    assert_eq!(limits("abc", longest), [RequestCause::TagLength]);
    for (ids, constraint) in [
        (vec![], "greater than or equal to 1"),
        (
            vec![ImageIdentifier::tag("t"); 101],
            "less than or equal to 100",
        ),
    ] {
        let error = batch_get_image(&registry, &request("abc", ids))
            .error
            .expect("an error");
        assert_eq!(error.cause, RequestCause::ImageIdsCount);
        assert!(error.message.contains(constraint), "{}", error.message);
    }
}

#[test]
fn layer_parts_are_at_most_ten_mib_and_at_least_five_but_the_last() {
    // Service quotas: "Maximum layer part size" 10 MiB, "Minimum layer part size" 5 MiB.
    assert_eq!(PART_SIZE, 10_485_760);
    assert_eq!(MIN_PART_SIZE, 5_242_880);
}
