"""Drives an ECR endpoint with the real AWS clients (boto3 and the AWS CLI) and asserts what
they return. Usage: ecr_clients.py ENDPOINT_URL [--signed-only]

Run by `cargo test` (tests/it/clients.rs) against `ecr-contract serve`.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import unittest

import boto3
import botocore.exceptions

ENDPOINT = sys.argv[1]
SIGNED_ONLY = "--signed-only" in sys.argv
S2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI = "application/vnd.oci.image.manifest.v1+json"
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def ecr():
    return boto3.client("ecr", endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload(client, repo, data):
    """Uploads one blob with the layer API and returns its digest."""
    upload_id = client.initiate_layer_upload(repositoryName=repo)["uploadId"]
    client.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=0,
                             partLastByte=len(data) - 1, layerPartBlob=data)
    return client.complete_layer_upload(repositoryName=repo, uploadId=upload_id,
                                        layerDigests=[digest(data)])["layerDigest"]


def manifest(media_type, config, layers, config_type, layer_type):
    return json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": config_type, "size": len(config), "digest": digest(config)},
        "layers": [{"mediaType": layer_type, "size": len(l), "digest": digest(l)} for l in layers],
    }, indent=3)


def docker_manifest(config, layers):
    return manifest(S2, config, layers, "application/vnd.docker.container.image.v1+json",
                    "application/vnd.docker.image.rootfs.diff.tar.gzip")


def oci_manifest(config, layers):
    return manifest(OCI, config, layers, "application/vnd.oci.image.config.v1+json",
                    "application/vnd.oci.image.layer.v1.tar+gzip")


class Boto3(unittest.TestCase):
    """boto3: create, upload, put, retag, move, delete, and read back."""

    @classmethod
    def setUpClass(cls):
        cls.client = ecr()
        cls.repo = "clients/app"
        created = cls.client.create_repository(repositoryName=cls.repo)["repository"]
        cls.account = created["registryId"]
        cls.config, cls.layer = b'{"architecture":"amd64"}', b"layer bytes"
        for blob in (cls.config, cls.layer):
            upload(cls.client, cls.repo, blob)
        cls.s2 = docker_manifest(cls.config, [cls.layer])
        cls.s2_digest = cls.client.put_image(repositoryName=cls.repo, imageManifest=cls.s2,
                                             imageManifestMediaType=S2, imageTag="v1")["image"]["imageId"]["imageDigest"]

    def get(self, ids, **kwargs):
        return self.client.batch_get_image(repositoryName=self.repo, imageIds=ids, **kwargs)

    def test_put_image_reports_the_sha256_of_the_manifest(self):
        self.assertEqual(self.s2_digest, digest(self.s2.encode()))

    def test_create_repository_answers_arn_and_uri(self):
        repo = self.client.describe_repositories(repositoryNames=[self.repo])["repositories"][0]
        self.assertEqual(repo["repositoryArn"], f"arn:aws:ecr:us-east-1:{self.account}:repository/{self.repo}")
        self.assertTrue(repo["repositoryUri"].endswith("/" + self.repo))

    def test_batch_get_image_by_tag_returns_the_manifest_byte_for_byte(self):
        answer = self.get([{"imageTag": "v1"}])
        self.assertEqual(answer["failures"], [])
        image = answer["images"][0]
        self.assertEqual(image["imageManifest"], self.s2)
        self.assertEqual(image["imageId"], {"imageTag": "v1", "imageDigest": self.s2_digest})
        self.assertEqual(image["imageManifestMediaType"], S2)
        self.assertEqual(image["registryId"], self.account)

    def test_batch_get_image_by_digest_and_by_both(self):
        for ids in ([{"imageDigest": self.s2_digest}], [{"imageTag": "v1", "imageDigest": self.s2_digest}]):
            image = self.get(ids)["images"][0]
            self.assertEqual(image["imageId"]["imageDigest"], self.s2_digest)
            self.assertEqual(image["imageManifest"], self.s2)

    def test_failures_come_back_beside_images(self):
        answer = self.get([{"imageTag": "v1"}, {"imageTag": "absent"},
                           {"imageTag": "v1", "imageDigest": "sha256:" + "0" * 64}])
        self.assertEqual(len(answer["images"]), 1)
        codes = {f["imageId"].get("imageTag"): f["failureCode"] for f in answer["failures"]}
        self.assertEqual(codes, {"absent": "ImageNotFound", "v1": "ImageTagDoesNotMatchDigest"})

    def test_accepted_media_types_translate_schema_2_to_oci(self):
        image = self.get([{"imageTag": "v1"}], acceptedMediaTypes=[OCI])["images"][0]
        self.assertEqual(image["imageManifestMediaType"], OCI)
        translated = json.loads(image["imageManifest"])
        self.assertEqual(translated["config"]["digest"], digest(self.config))
        self.assertEqual([l["digest"] for l in translated["layers"]], [digest(self.layer)])

    def test_oci_and_manifest_list_images(self):
        oci = oci_manifest(self.config, [self.layer])
        oci_digest = self.client.put_image(repositoryName=self.repo, imageManifest=oci,
                                           imageTag="oci")["image"]["imageId"]["imageDigest"]
        index = json.dumps({"schemaVersion": 2, "mediaType": LIST, "manifests": [
            {"mediaType": S2, "size": len(self.s2), "digest": self.s2_digest, "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI, "size": len(oci), "digest": oci_digest, "platform": {"architecture": "arm64", "os": "linux"}}]})
        self.client.put_image(repositoryName=self.repo, imageManifest=index, imageTag="multi")
        images = self.get([{"imageTag": "oci"}, {"imageTag": "multi"}])["images"]
        self.assertEqual({i["imageManifestMediaType"] for i in images}, {OCI, LIST})

    def test_retag_then_move_then_delete(self):
        self.client.put_image(repositoryName=self.repo, imageManifest=self.s2, imageTag="retagged")
        self.assertEqual(self.get([{"imageTag": "retagged"}])["images"][0]["imageId"]["imageDigest"], self.s2_digest)
        other = docker_manifest(self.config, [self.layer, self.layer])
        moved = self.client.put_image(repositoryName=self.repo, imageManifest=other, imageTag="retagged")
        self.assertEqual(self.get([{"imageTag": "retagged"}])["images"][0]["imageManifest"], other)
        self.assertEqual(self.get([{"imageDigest": self.s2_digest}])["failures"], [])
        deleted = self.client.batch_delete_image(repositoryName=self.repo, imageIds=[{"imageTag": "retagged"}])
        self.assertEqual(deleted["imageIds"][0]["imageDigest"], moved["image"]["imageId"]["imageDigest"])
        failure = self.get([{"imageTag": "retagged"}])["failures"][0]
        self.assertEqual(failure["failureCode"], "ImageNotFound")

    def test_delete_by_digest_removes_every_tag(self):
        m = docker_manifest(b'{"os":"linux"}', [self.layer])
        d = self.client.put_image(repositoryName=self.repo, imageManifest=m, imageTag="a")["image"]["imageId"]["imageDigest"]
        self.client.put_image(repositoryName=self.repo, imageManifest=m, imageTag="b")
        self.client.batch_delete_image(repositoryName=self.repo, imageIds=[{"imageDigest": d}])
        codes = [f["failureCode"] for f in self.get([{"imageTag": "a"}, {"imageTag": "b"}, {"imageDigest": d}])["failures"]]
        self.assertEqual(codes, ["ImageNotFound"] * 3)

    def test_modelled_errors_surface_as_boto3_exceptions(self):
        with self.assertRaises(self.client.exceptions.RepositoryNotFoundException):
            self.client.batch_get_image(repositoryName="absent/repo", imageIds=[{"imageTag": "v1"}])
        with self.assertRaises(self.client.exceptions.ImageAlreadyExistsException):
            self.client.put_image(repositoryName=self.repo, imageManifest=self.s2, imageTag="v1")
        with self.assertRaises(self.client.exceptions.RepositoryAlreadyExistsException):
            self.client.create_repository(repositoryName=self.repo)
        with self.assertRaises(self.client.exceptions.InvalidParameterException):
            self.client.batch_get_image(repositoryName=self.repo, registryId="12345", imageIds=[{"imageTag": "v1"}])

    def test_immutable_repository_refuses_to_move_a_tag(self):
        self.client.create_repository(repositoryName="clients/locked", imageTagMutability="IMMUTABLE")
        self.client.put_image(repositoryName="clients/locked", imageManifest=self.s2, imageTag="stable")
        with self.assertRaises(self.client.exceptions.ImageTagAlreadyExistsException):
            self.client.put_image(repositoryName="clients/locked", imageManifest=docker_manifest(b"{}", []), imageTag="stable")

    def test_list_and_describe_images(self):
        ids = self.client.list_images(repositoryName=self.repo)["imageIds"]
        self.assertIn({"imageTag": "v1", "imageDigest": self.s2_digest}, ids)
        details = self.client.describe_images(repositoryName=self.repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
        self.assertEqual(details[0]["imageDigest"], self.s2_digest)
        self.assertIn("v1", details[0]["imageTags"])


class AwsCli(unittest.TestCase):
    """The AWS CLI, including the documented example of the API reference."""

    def aws(self, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                   AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                   AWS_DEFAULT_REGION="us-east-1")
        aws = os.path.join(os.path.dirname(sys.executable), "aws")
        out = subprocess.run([aws, "ecr", *args, "--endpoint-url", ENDPOINT, "--output", "json"],
                             capture_output=True, text=True, env=env, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def test_documented_example_ubuntu_precise(self):
        self.aws("create-repository", "--repository-name", "ubuntu")
        m = docker_manifest(b'{"os":"linux","ubuntu":"precise"}', [b"precise layer"])
        put = self.aws("put-image", "--repository-name", "ubuntu", "--image-tag", "precise", "--image-manifest", m)
        answer = self.aws("batch-get-image", "--repository-name", "ubuntu", "--image-ids", "imageTag=precise")
        self.assertEqual(answer["failures"], [])
        image = answer["images"][0]
        self.assertEqual(image["repositoryName"], "ubuntu")
        self.assertEqual(image["imageId"], {"imageTag": "precise", "imageDigest": put["image"]["imageId"]["imageDigest"]})
        self.assertEqual(image["imageManifest"], m)

    def test_cli_input_json_with_accepted_media_types(self):
        self.aws("create-repository", "--repository-name", "cli/app")
        m = oci_manifest(b"{}", [b"x"])
        self.aws("put-image", "--repository-name", "cli/app", "--image-tag", "v1", "--image-manifest", m)
        request = json.dumps({"repositoryName": "cli/app", "imageIds": [{"imageTag": "v1"}, {"imageTag": "nope"}],
                              "acceptedMediaTypes": [S2]})
        answer = self.aws("batch-get-image", "--cli-input-json", request)
        self.assertEqual(answer["images"][0]["imageManifestMediaType"], S2)
        self.assertEqual(answer["failures"][0]["failureCode"], "ImageNotFound")


class Signatures(unittest.TestCase):
    """Against `serve --verify-signatures`: boto3's signature is accepted, a wrong one refused."""

    def test_wrong_secret_is_refused_with_invalid_signature(self):
        client = boto3.client("ecr", endpoint_url=ENDPOINT, region_name="us-east-1",
                              aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            client.describe_repositories()
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidSignatureException")

    def test_unknown_key_is_refused(self):
        client = boto3.client("ecr", endpoint_url=ENDPOINT, region_name="us-east-1",
                              aws_access_key_id="AKIAUNKNOWN", aws_secret_access_key="x")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            client.describe_repositories()
        self.assertEqual(caught.exception.response["Error"]["Code"], "UnrecognizedClientException")

    def test_right_signature_is_accepted(self):
        self.assertIn("repositories", ecr().describe_repositories())


if __name__ == "__main__":
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    classes = [Signatures] if SIGNED_ONLY else [Boto3, AwsCli]
    for case in classes:
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
