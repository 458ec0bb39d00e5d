#!/usr/bin/env bash
# Confirms each divergence of tests/peers/moto.toml with raw requests (curl --aws-sigv4), no
# ecr-contract code involved. Usage: tests/peers/confirm-moto.sh [ENDPOINT] (default: a
# moto_server you started, e.g. `target/py/bin/moto_server -p 5055`). It creates and deletes
# the repository confirm-moto/app only. Placeholder credentials: moto accepts any.
set -u
url=${1:-http://127.0.0.1:5055}
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=placeholder
ecr() { # ecr OPERATION BODY: prints the request and the raw answer (status, content type, body)
  printf '\n$ %s %s\n' "$1" "$2"
  curl -sS --aws-sigv4 'aws:amz:us-east-1:ecr' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'content-type: application/x-amz-json-1.1' -H "x-amz-target: AmazonEC2ContainerRegistry_V20150921.$1" \
    --data-binary "$2" -o /tmp/confirm-moto.body -w 'HTTP %{http_code} %{content_type}\n' "$url/"
  head -c 600 /tmp/confirm-moto.body; echo
}
repo=confirm-moto/app
cfg=sha256:1111111111111111111111111111111111111111111111111111111111111111
l1=sha256:2222222222222222222222222222222222222222222222222222222222222222
s2='{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7,"digest":"'$cfg'"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":9,"digest":"'$l1'"}]}'
s2b=${s2/\"size\":9/\"size\":10}
esc() { printf '%s' "$1" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }
sha() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }
d_s2=$(sha "$s2"); d_s2b=$(sha "$s2b")
echo "# sha256 of the s2 manifest as pushed: $d_s2"
ecr CreateRepository '{"repositoryName":"'$repo'"}'
echo "# STATE-PUT-DIGEST: PutImage without imageDigest"
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v1","imageManifest":'"$(esc "$s2")"'}'
echo "# MAN-DIGEST: BatchGetImage answers that digest with the manifest, whose sha256 is $d_s2"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}]}'
ecr DeleteRepository '{"repositoryName":"'$repo'","force":true}'
ecr CreateRepository '{"repositoryName":"'$repo'"}'
echo "# seeding with imageDigest named (moto keeps the digest it is given)"
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v1","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"latest","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v2","imageDigest":"'$d_s2b'","imageManifest":'"$(esc "$s2b")"'}'
echo "# ID-BY-TAG: v1 points at s2 (tags v1, latest)"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}]}'
echo "# ID-TAG-AND-DIGEST / ID-MISMATCH-CODE / ID-ACCOUNTING: tag v1 with the digest of v2 (images, no ImageTagDoesNotMatchDigest failure)"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1","imageDigest":"'$d_s2b'"}]}'
echo "# ID-NOT-FOUND: absent tag nope with the digest of s2"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"nope","imageDigest":"'$d_s2'"}]}'
echo "# ID-MISSING-BOTH, ID-INVALID-DIGEST, ID-FAILURE-ECHO"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{}]}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageDigest":"sha256:xyz"}]}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageDigest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}'
echo "# MAN-TRANSLATION: an S2 image by tag when only OCI is accepted"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v2"}],"acceptedMediaTypes":["application/vnd.oci.image.manifest.v1+json"]}'
echo "# VAL-*: limits not checked"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}],"registryId":"12345"}'
ecr BatchGetImage '{"repositoryName":"a","imageIds":[{"imageTag":"v1"}]}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":""}]}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}],"acceptedMediaTypes":[]}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":'"$(python3 -c 'print([{"imageTag":"v1"}]*101)' | tr "'" '"')"'}' | grep -o '^HTTP.*\|"failures": \[\]'
echo "# VAL-MALFORMED: missing repositoryName; body not JSON"
ecr BatchGetImage '{"imageIds":[{"imageTag":"v1"}]}'
ecr BatchGetImage '{"repositoryName": "'$repo'", "imageIds": ['
echo "# ROBUST-NO-5XX, WIRE-*: empty imageIds, missing imageIds, imageIds of the wrong type"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[]}'
ecr BatchGetImage '{"repositoryName":"'$repo'"}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":"v1"}'
echo "# WIRE-SHAPE: a number as imageTag inside imageIds, echoed back in failures"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":5}]}'
echo "# REPO-FOREIGN-REGISTRY: another account's registry id"
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}],"registryId":"210987654321"}'
echo "# STATE-TAG-MOVE: move v2 (s2b's last tag) to s2; s2b should stay, by digest"
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v2","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr BatchGetImage '{"repositoryName":"'$repo'","imageIds":[{"imageDigest":"'$d_s2b'"}]}'
echo "# setup divergences: same manifest and tag again; digest mismatch; immutable repository"
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v1","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"wrong","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2b")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"dangling","imageManifest":"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":1,\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000002\"}]}"}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"nomedia","imageManifest":"{\"schemaVersion\":2}"}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"bare","imageManifest":"not json"}'
ecr InitiateLayerUpload '{"repositoryName":"'$repo'"}'
echo "# setup divergence: a manifest of 4,194,305 characters (one over ECR's limit)"
python3 -c 'import json; m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"p\":\""; m+="e"*(4194305-len(m)-2)+"\"}"; print(json.dumps({"repositoryName":"'$repo'","imageTag":"huger","imageManifest":m}))' > /tmp/confirm-moto.huge
printf '\n$ PutImage <a manifest of 4,194,305 characters>\n'
curl -sS --aws-sigv4 'aws:amz:us-east-1:ecr' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H 'content-type: application/x-amz-json-1.1' -H 'x-amz-target: AmazonEC2ContainerRegistry_V20150921.PutImage' \
  --data-binary @/tmp/confirm-moto.huge -o /tmp/confirm-moto.body -w 'HTTP %{http_code} %{content_type}\n' "$url/"
head -c 200 /tmp/confirm-moto.body; echo
echo "# setup divergence: deleting an image a manifest list references (ECR: failure ImageReferencedByManifestList)"
list='{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":"'$d_s2'"}]}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"multi","imageDigest":"'$(sha "$list")'","imageManifest":'"$(esc "$list")"'}'
ecr BatchDeleteImage '{"repositoryName":"'$repo'","imageIds":[{"imageDigest":"'$d_s2'"}]}'
ecr DeleteRepository '{"repositoryName":"'$repo'","force":true}'
ecr CreateRepository '{"repositoryName":"'$repo'","imageTagMutability":"IMMUTABLE"}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v1","imageDigest":"'$d_s2'","imageManifest":'"$(esc "$s2")"'}'
ecr PutImage '{"repositoryName":"'$repo'","imageTag":"v1","imageDigest":"'$d_s2b'","imageManifest":'"$(esc "$s2b")"'}'
echo "# ROBUST-AUTH: the same BatchGetImage, unsigned"
printf '\n$ BatchGetImage (unsigned)\n'
curl -sS -H 'content-type: application/x-amz-json-1.1' -H 'x-amz-target: AmazonEC2ContainerRegistry_V20150921.BatchGetImage' \
  --data-binary '{"repositoryName":"'$repo'","imageIds":[{"imageTag":"v1"}]}' -w '\nHTTP %{http_code} %{content_type}\n' "$url/" | head -c 400; echo
ecr DeleteRepository '{"repositoryName":"'$repo'","force":true}'
