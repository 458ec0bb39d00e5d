//! Pushing an image to `serve` through the AWS JSON API, as a client would (unsigned: the
//! server does not verify signatures here), and the registry credentials it hands out.

use base64::Engine as _;
use ecr_contract::strategy::manifests::ContentBlob;
use ecr_contract::wire::Operation;
use serde_json::{Value, json};

/// Sends one AWS JSON call; its status and its JSON body, whatever the status.
pub async fn answer(url: &str, operation: Operation, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", operation.target())
        .body(body.to_string())
        .send()
        .await
        .expect("serve answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{operation:?} answered {status} {text}: {e}"));
    (status, value)
}

/// Sends one AWS JSON call; panics unless it is answered 200.
pub async fn call(url: &str, operation: Operation, body: Value) -> Value {
    let (status, value) = answer(url, operation, body).await;
    assert_eq!(status, 200, "{operation:?} answered {value}");
    value
}

/// Uploads `blob` into `repository` (InitiateLayerUpload, one part, CompleteLayerUpload).
pub async fn upload(url: &str, repository: &str, blob: &ContentBlob) {
    let started = call(
        url,
        Operation::InitiateLayerUpload,
        json!({"repositoryName": repository}),
    )
    .await;
    let id = started["uploadId"].as_str().expect("an upload id");
    let part = base64::engine::general_purpose::STANDARD.encode(&blob.bytes);
    call(
        url,
        Operation::UploadLayerPart,
        json!({"repositoryName": repository, "uploadId": id, "partFirstByte": 0,
               "partLastByte": blob.size() - 1, "layerPartBlob": part}),
    )
    .await;
    call(
        url,
        Operation::CompleteLayerUpload,
        json!({"repositoryName": repository, "uploadId": id, "layerDigests": [blob.digest]}),
    )
    .await;
}

/// Creates `repository`, uploads `blobs`, and pushes `manifest` as `tag`; returns its digest.
pub async fn push(
    url: &str,
    repository: &str,
    tag: &str,
    manifest: &str,
    blobs: &[&ContentBlob],
) -> String {
    call(
        url,
        Operation::CreateRepository,
        json!({"repositoryName": repository}),
    )
    .await;
    for blob in blobs {
        upload(url, repository, blob).await;
    }
    let put = call(
        url,
        Operation::PutImage,
        json!({"repositoryName": repository, "imageTag": tag, "imageManifest": manifest}),
    )
    .await;
    put["image"]["imageId"]["imageDigest"]
        .as_str()
        .expect("a digest")
        .to_owned()
}

/// The user name and password of GetAuthorizationToken's token, decoded from `AWS:<password>`.
pub async fn registry_credentials(url: &str) -> (String, String) {
    let answer = call(url, Operation::GetAuthorizationToken, json!({})).await;
    let token = answer["authorizationData"][0]["authorizationToken"]
        .as_str()
        .expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64");
    let text = String::from_utf8(decoded).expect("text");
    let (user, password) = text.split_once(':').expect("user:password");
    (user.to_owned(), password.to_owned())
}
