//! The request and response shapes of the operations in the spec, with the service model's
//! member names. Every member is optional here: what is required is checked by the model, so
//! that the harness can also send and recognise requests that break the rules.

use std::marker::PhantomData;

use base64::Engine as _;
use serde::de::{Deserializer, MapAccess};

use super::decode::{Context, Decode, Kind, StructVisitor, Structure};

/// Declares a structure shape: the struct, its JSON names, and its lenient decoder.
macro_rules! structure {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub struct $name {
            $(
                #[doc = concat!("`", $json, "`.")]
                $(#[$fmeta])*
                #[serde(rename = $json, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl Structure for $name {
            const MEMBERS: &'static [&'static str] = &[$($json),*];
            fn read_member<'de, A: MapAccess<'de>>(
                &mut self,
                name: &'static str,
                map: &mut A,
                cx: &mut Context,
            ) -> Result<(), A::Error> {
                match name {
                    $( $json => self.$field = cx.member(name, map)?, )*
                    _ => {}
                }
                Ok(())
            }
        }

        impl Decode for $name {
            const KIND: Kind = Kind::Object;
            fn decode<'de, D: Deserializer<'de>>(
                de: D,
                cx: &mut Context,
            ) -> Result<Option<Self>, D::Error> {
                de.deserialize_any(StructVisitor::<Self>(cx, PhantomData))
            }
        }
    };
}

/// Binary data, carried in JSON as a base64 string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Blob(pub Vec<u8>);

impl serde::Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl Decode for Blob {
    const KIND: Kind = Kind::Blob;
    fn decode<'de, D: Deserializer<'de>>(
        de: D,
        cx: &mut Context,
    ) -> Result<Option<Self>, D::Error> {
        let Some(text) = String::decode(de, cx)? else {
            return Ok(None);
        };
        Ok(
            match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                Ok(bytes) => Some(Blob(bytes)),
                Err(e) => cx.wrong_kind(Kind::Blob, format!("a string that is not base64 ({e})")),
            },
        )
    }
}

structure! {
    /// `ImageIdentifier`: a tag, a digest, both, or (invalidly) neither.
    pub struct ImageIdentifier {
        "imageDigest" => image_digest: String,
        "imageTag" => image_tag: String,
    }
}

structure! {
    /// `BatchGetImageRequest`.
    pub struct BatchGetImageRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageIds" => image_ids: Vec<ImageIdentifier>,
        "acceptedMediaTypes" => accepted_media_types: Vec<String>,
    }
}

structure! {
    /// `Image`: one entry of a BatchGetImage answer, and PutImage's answer.
    pub struct Image {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageId" => image_id: ImageIdentifier,
        "imageManifest" => image_manifest: String,
        "imageManifestMediaType" => image_manifest_media_type: String,
    }
}

structure! {
    /// `ImageFailure`: an id that could not be answered.
    pub struct ImageFailure {
        "imageId" => image_id: ImageIdentifier,
        "failureCode" => failure_code: String,
        "failureReason" => failure_reason: String,
    }
}

structure! {
    /// `BatchGetImageResponse`.
    pub struct BatchGetImageResponse {
        "images" => images: Vec<Image>,
        "failures" => failures: Vec<ImageFailure>,
    }
}

structure! {
    /// `CreateRepositoryRequest` (the members the harness uses; others decode as unknown).
    pub struct CreateRepositoryRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageTagMutability" => image_tag_mutability: String,
        "imageScanningConfiguration" => image_scanning_configuration: ImageScanningConfiguration,
        "encryptionConfiguration" => encryption_configuration: EncryptionConfiguration,
    }
}

structure! {
    /// `ImageScanningConfiguration`.
    pub struct ImageScanningConfiguration {
        "scanOnPush" => scan_on_push: bool,
    }
}

structure! {
    /// `EncryptionConfiguration`.
    pub struct EncryptionConfiguration {
        "encryptionType" => encryption_type: String,
        "kmsKey" => kms_key: String,
    }
}

structure! {
    /// `Repository`.
    pub struct Repository {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "repositoryArn" => repository_arn: String,
        "repositoryUri" => repository_uri: String,
        /// Seconds since the Unix epoch.
        "createdAt" => created_at: f64,
        "imageTagMutability" => image_tag_mutability: String,
        "imageScanningConfiguration" => image_scanning_configuration: ImageScanningConfiguration,
        "encryptionConfiguration" => encryption_configuration: EncryptionConfiguration,
    }
}

structure! {
    /// `CreateRepositoryResponse`.
    pub struct CreateRepositoryResponse {
        "repository" => repository: Repository,
    }
}

structure! {
    /// `InitiateLayerUploadRequest`.
    pub struct InitiateLayerUploadRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
    }
}

structure! {
    /// `InitiateLayerUploadResponse`.
    pub struct InitiateLayerUploadResponse {
        "uploadId" => upload_id: String,
        "partSize" => part_size: i64,
    }
}

structure! {
    /// `UploadLayerPartRequest`.
    pub struct UploadLayerPartRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "uploadId" => upload_id: String,
        "partFirstByte" => part_first_byte: i64,
        "partLastByte" => part_last_byte: i64,
        "layerPartBlob" => layer_part_blob: Blob,
    }
}

structure! {
    /// `UploadLayerPartResponse`.
    pub struct UploadLayerPartResponse {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "uploadId" => upload_id: String,
        "lastByteReceived" => last_byte_received: i64,
    }
}

structure! {
    /// `CompleteLayerUploadRequest`.
    pub struct CompleteLayerUploadRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "uploadId" => upload_id: String,
        "layerDigests" => layer_digests: Vec<String>,
    }
}

structure! {
    /// `CompleteLayerUploadResponse`.
    pub struct CompleteLayerUploadResponse {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "uploadId" => upload_id: String,
        "layerDigest" => layer_digest: String,
    }
}

structure! {
    /// `PutImageRequest`.
    pub struct PutImageRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageManifest" => image_manifest: String,
        "imageManifestMediaType" => image_manifest_media_type: String,
        "imageTag" => image_tag: String,
        "imageDigest" => image_digest: String,
    }
}

structure! {
    /// `PutImageResponse`.
    pub struct PutImageResponse {
        "image" => image: Image,
    }
}

structure! {
    /// `BatchDeleteImageRequest`.
    pub struct BatchDeleteImageRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageIds" => image_ids: Vec<ImageIdentifier>,
    }
}

structure! {
    /// `BatchDeleteImageResponse`.
    pub struct BatchDeleteImageResponse {
        "imageIds" => image_ids: Vec<ImageIdentifier>,
        "failures" => failures: Vec<ImageFailure>,
    }
}

structure! {
    /// `DeleteRepositoryRequest`.
    pub struct DeleteRepositoryRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "force" => force: bool,
    }
}

structure! {
    /// `DeleteRepositoryResponse`.
    pub struct DeleteRepositoryResponse {
        "repository" => repository: Repository,
    }
}

impl ImageIdentifier {
    /// An id naming a tag.
    pub fn tag(tag: impl Into<String>) -> Self {
        Self {
            image_tag: Some(tag.into()),
            image_digest: None,
        }
    }

    /// An id naming a digest.
    pub fn digest(digest: impl Into<String>) -> Self {
        Self {
            image_tag: None,
            image_digest: Some(digest.into()),
        }
    }

    /// An id naming both a tag and a digest.
    pub fn tag_and_digest(tag: impl Into<String>, digest: impl Into<String>) -> Self {
        Self {
            image_tag: Some(tag.into()),
            image_digest: Some(digest.into()),
        }
    }
}

structure! {
    /// `DescribeRepositoriesRequest`.
    pub struct DescribeRepositoriesRequest {
        "registryId" => registry_id: String,
        "repositoryNames" => repository_names: Vec<String>,
        "nextToken" => next_token: String,
        "maxResults" => max_results: i64,
    }
}

structure! {
    /// `DescribeRepositoriesResponse`.
    pub struct DescribeRepositoriesResponse {
        "repositories" => repositories: Vec<Repository>,
        "nextToken" => next_token: String,
    }
}

structure! {
    /// `ListImagesFilter` and `DescribeImagesFilter`.
    pub struct ImagesFilter {
        "tagStatus" => tag_status: String,
    }
}

structure! {
    /// `ListImagesRequest`.
    pub struct ListImagesRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "nextToken" => next_token: String,
        "maxResults" => max_results: i64,
        "filter" => filter: ImagesFilter,
    }
}

structure! {
    /// `ListImagesResponse`.
    pub struct ListImagesResponse {
        "imageIds" => image_ids: Vec<ImageIdentifier>,
        "nextToken" => next_token: String,
    }
}

structure! {
    /// `DescribeImagesRequest`.
    pub struct DescribeImagesRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageIds" => image_ids: Vec<ImageIdentifier>,
        "nextToken" => next_token: String,
        "maxResults" => max_results: i64,
        "filter" => filter: ImagesFilter,
    }
}

structure! {
    /// `ImageDetail`.
    pub struct ImageDetail {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "imageDigest" => image_digest: String,
        "imageTags" => image_tags: Vec<String>,
        "imageSizeInBytes" => image_size_in_bytes: i64,
        /// Seconds since the Unix epoch.
        "imagePushedAt" => image_pushed_at: f64,
        "imageManifestMediaType" => image_manifest_media_type: String,
        "artifactMediaType" => artifact_media_type: String,
    }
}

structure! {
    /// `DescribeImagesResponse`.
    pub struct DescribeImagesResponse {
        "imageDetails" => image_details: Vec<ImageDetail>,
        "nextToken" => next_token: String,
    }
}

structure! {
    /// `BatchCheckLayerAvailabilityRequest`.
    pub struct BatchCheckLayerAvailabilityRequest {
        "registryId" => registry_id: String,
        "repositoryName" => repository_name: String,
        "layerDigests" => layer_digests: Vec<String>,
    }
}

structure! {
    /// `Layer`.
    pub struct Layer {
        "layerDigest" => layer_digest: String,
        "layerAvailability" => layer_availability: String,
        "layerSize" => layer_size: i64,
        "mediaType" => media_type: String,
    }
}

structure! {
    /// `LayerFailure`.
    pub struct LayerFailure {
        "layerDigest" => layer_digest: String,
        "failureCode" => failure_code: String,
        "failureReason" => failure_reason: String,
    }
}

structure! {
    /// `BatchCheckLayerAvailabilityResponse`.
    pub struct BatchCheckLayerAvailabilityResponse {
        "layers" => layers: Vec<Layer>,
        "failures" => failures: Vec<LayerFailure>,
    }
}

structure! {
    /// `GetAuthorizationTokenRequest`.
    pub struct GetAuthorizationTokenRequest {
        "registryIds" => registry_ids: Vec<String>,
    }
}

structure! {
    /// `AuthorizationData`: a token for `docker login`.
    pub struct AuthorizationData {
        /// Base64 of `AWS:<password>`.
        "authorizationToken" => authorization_token: String,
        /// Seconds since the Unix epoch.
        "expiresAt" => expires_at: f64,
        "proxyEndpoint" => proxy_endpoint: String,
    }
}

structure! {
    /// `GetAuthorizationTokenResponse`.
    pub struct GetAuthorizationTokenResponse {
        "authorizationData" => authorization_data: Vec<AuthorizationData>,
    }
}
