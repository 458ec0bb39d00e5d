#!/usr/bin/env bash
# skopeo, a pull and push client nobody here wrote, against `ecr-contract serve` (spec
# registry-api.md):
# an image pushed through the AWS JSON API comes back from the registry API with the exact
# bytes, digest and blobs that were pushed (`skopeo inspect --raw`, `skopeo inspect`,
# `skopeo copy docker://... dir:`), with the Basic credentials of GetAuthorizationToken; and a
# tag is translated when only another format is accepted (skopeo always accepts every format,
# so that part asks with curl). Then the push path (section 6): `skopeo copy` of a multi-layer
# image from a `dir:` into `serve` (with ECR's quirks, then with `--push-as distribution`) and
# back out gives the same bytes and digests, and BatchGetImage returns what was pushed.
#
# Usage: tests/clients/skopeo.sh [path/to/ecr-contract]   (default: target/debug/ecr-contract)
# Needs skopeo, curl and python3; fails, never skips, when one is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/ecr-contract}"
for tool in skopeo curl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "skopeo.sh: $tool is missing (apt-get install -y skopeo curl python3)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "skopeo.sh: no $bin (cargo build)" >&2; exit 1; }

work="$(mktemp -d)"
serve_log="$work/serve.log"
"$bin" serve --port 0 >"$serve_log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$serve_log" && break
  sleep 0.1
done
url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$serve_log")"
[ -n "$url" ] || { echo "skopeo.sh: serve did not start:" >&2; cat "$serve_log" >&2; exit 1; }
registry="${url#http://}"

# Push two images through the AWS JSON API (blobs uploaded, as ECR requires): a Docker
# schema 2 one as team/app:v1 and an OCI one as team/app:oci. Writes the manifests, the
# blobs and the registry password into $work.
python3 - "$url" "$work" <<'EOF'
import base64, hashlib, json, sys, urllib.request

url, work = sys.argv[1], sys.argv[2]

def call(operation, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonEC2ContainerRegistry_V20150921." + operation})
    with urllib.request.urlopen(request) as response:
        return json.load(response)

def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    upload = call("InitiateLayerUpload", {"repositoryName": "team/app"})["uploadId"]
    call("UploadLayerPart", {"repositoryName": "team/app", "uploadId": upload, "partFirstByte": 0,
                             "partLastByte": len(data) - 1, "layerPartBlob": base64.b64encode(data).decode()})
    call("CompleteLayerUpload", {"repositoryName": "team/app", "uploadId": upload, "layerDigests": [digest]})
    open(f"{work}/blob-{digest[7:]}", "wb").write(data)
    return {"size": len(data), "digest": digest}

call("CreateRepository", {"repositoryName": "team/app"})
config = blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
layer = blob(b"skopeo layer bytes\n")
manifests = {
    "v1": {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", **layer}]},
    "oci": {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]},
}
for tag, manifest in manifests.items():
    text = json.dumps(manifest, indent=3)
    call("PutImage", {"repositoryName": "team/app", "imageTag": tag, "imageManifest": text})
    open(f"{work}/manifest-{tag}.json", "w").write(text)
token = call("GetAuthorizationToken", {})["authorizationData"][0]["authorizationToken"]
user, password = base64.b64decode(token).decode().split(":", 1)
assert user == "AWS", user
open(f"{work}/password", "w").write(password)
EOF
creds="AWS:$(cat "$work/password")"
fail() { echo "skopeo.sh: $*" >&2; exit 1; }

skopeo inspect --raw --tls-verify=false --creds "$creds" "docker://$registry/team/app:v1" >"$work/raw-v1"
cmp -s "$work/raw-v1" "$work/manifest-v1.json" || fail "skopeo inspect --raw: not the pushed bytes"
want="sha256:$(sha256sum "$work/manifest-v1.json" | cut -d' ' -f1)"
skopeo inspect --tls-verify=false --creds "$creds" "docker://$registry/team/app:v1" >"$work/inspect-v1"
found="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Digest"])' "$work/inspect-v1")"
[ "$found" = "$want" ] || fail "skopeo inspect: digest $found, pushed $want"
skopeo inspect --raw --tls-verify=false --creds "$creds" "docker://$registry/team/app@$want" >"$work/raw-digest"
cmp -s "$work/raw-digest" "$work/manifest-v1.json" || fail "skopeo inspect --raw by digest: not the pushed bytes"

skopeo copy --src-tls-verify=false --src-creds "$creds" "docker://$registry/team/app:v1" "dir:$work/copy" >/dev/null
cmp -s "$work/copy/manifest.json" "$work/manifest-v1.json" || fail "skopeo copy: manifest.json is not the pushed bytes"
blobs=0
for pushed in "$work"/blob-*; do
  hex="${pushed##*/blob-}"
  cmp -s "$work/copy/$hex" "$pushed" || fail "skopeo copy: blob $hex differs or is missing"
  [ "$(sha256sum "$work/copy/$hex" | cut -d' ' -f1)" = "$hex" ] || fail "skopeo copy: blob $hex does not hash to its digest"
  blobs=$((blobs + 1))
done
[ "$blobs" -eq 2 ] || fail "expected 2 blobs, found $blobs"

# The OCI image by tag when only Docker schema 2 is accepted: translated, same config and layer.
s2=application/vnd.docker.distribution.manifest.v2+json
curl -sS -u "$creds" -H "Accept: $s2" -D "$work/headers" -o "$work/translated" "$url/v2/team/app/manifests/oci"
grep -qi "^content-type: $s2" "$work/headers" || fail "translation: wrong Content-Type: $(cat "$work/headers")"
python3 - "$work/translated" "$work/manifest-oci.json" <<'EOF' || fail "translation: not the same config and layers"
import json, sys
translated, stored = (json.load(open(p)) for p in sys.argv[1:])
assert translated["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json", translated
assert translated["config"]["digest"] == stored["config"]["digest"]
assert [l["digest"] for l in translated["layers"]] == [l["digest"] for l in stored["layers"]]
EOF
# skopeo reads the OCI image as stored (it accepts every format).
skopeo inspect --raw --tls-verify=false --creds "$creds" "docker://$registry/team/app:oci" >"$work/raw-oci"
cmp -s "$work/raw-oci" "$work/manifest-oci.json" || fail "skopeo inspect --raw of the OCI image: not the pushed bytes"
echo "skopeo.sh: inspect --raw, inspect, copy dir: and the translation agree with what was pushed ($(skopeo --version))"


# The push path. A multi-layer image as a `dir:` (what `skopeo copy ... dir:` writes): three
# gzip layers, one under ECR's 5 MiB part size and two over it (one over its 10 MiB part).
python3 - "$work/image" <<'EOF'
import gzip, hashlib, json, os, sys

out = sys.argv[1]
os.makedirs(out)
open(f"{out}/version", "w").write("Directory Transport Version: 1.1\n")

def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    open(f"{out}/{digest[7:]}", "wb").write(data)
    return {"size": len(data), "digest": digest}

raw = [os.urandom(n) for n in (4096, 6 * 1024 * 1024 + 7, 12 * 1024 * 1024 + 11)]
layers = [blob(gzip.compress(r, compresslevel=1)) for r in raw]
diff_ids = ["sha256:" + hashlib.sha256(r).hexdigest() for r in raw]
config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **l} for l in layers]}
open(f"{out}/manifest.json", "w").write(json.dumps(manifest, indent=2))
EOF

# Pushes $work/image into the serve at $1 as team/pushed:v1 with skopeo, copies it back out and
# compares bytes and digests; then asks BatchGetImage for it.
push_and_back() {
  local push_url="$1" what="$2" push_registry push_password
  push_registry="${push_url#http://}"
  push_password="$(python3 - "$push_url" <<'EOF'
import base64, json, sys, urllib.request
url = sys.argv[1]
def call(operation, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonEC2ContainerRegistry_V20150921." + operation})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
call("CreateRepository", {"repositoryName": "team/pushed"})
token = call("GetAuthorizationToken", {})["authorizationData"][0]["authorizationToken"]
print(base64.b64decode(token).decode().split(":", 1)[1])
EOF
)"
  skopeo copy --dest-tls-verify=false --dest-creds "AWS:$push_password" --preserve-digests \
    "dir:$work/image" "docker://$push_registry/team/pushed:v1" >/dev/null \
    || fail "skopeo copy into serve ($what) failed"
  rm -rf "$work/back"
  skopeo copy --src-tls-verify=false --src-creds "AWS:$push_password" \
    "docker://$push_registry/team/pushed:v1" "dir:$work/back" >/dev/null \
    || fail "skopeo copy out of serve ($what) failed"
  cmp -s "$work/back/manifest.json" "$work/image/manifest.json" \
    || fail "push ($what): the manifest came back different"
  local count=0 file hex
  for file in "$work"/image/*; do
    hex="${file##*/}"
    case "$hex" in manifest.json|version) continue ;; esac
    cmp -s "$work/back/$hex" "$file" || fail "push ($what): blob $hex came back different or not at all"
    [ "$(sha256sum "$work/back/$hex" | cut -d' ' -f1)" = "$hex" ] \
      || fail "push ($what): blob $hex does not hash to its digest"
    count=$((count + 1))
  done
  [ "$count" -eq 4 ] || fail "push ($what): expected 4 blobs, found $count"
  python3 - "$push_url" "$work/image/manifest.json" <<'EOF' || fail "push ($what): BatchGetImage does not return what skopeo pushed"
import hashlib, json, sys, urllib.request
url, path = sys.argv[1], sys.argv[2]
pushed = open(path, "rb").read()
body = {"repositoryName": "team/pushed", "imageIds": [{"imageTag": "v1"}]}
request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
    "content-type": "application/x-amz-json-1.1",
    "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.BatchGetImage"})
image = json.load(urllib.request.urlopen(request))["images"][0]
assert image["imageManifest"].encode() == pushed, "not the bytes pushed"
assert image["imageId"]["imageDigest"] == "sha256:" + hashlib.sha256(pushed).hexdigest(), image["imageId"]
EOF
}

push_and_back "$url" "ECR's quirks"
"$bin" serve --port 0 --push-as distribution >"$work/serve-distribution.log" 2>&1 &
distribution_pid=$!
trap 'kill "$serve_pid" "$distribution_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$work/serve-distribution.log" && break
  sleep 0.1
done
distribution_url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve-distribution.log")"
[ -n "$distribution_url" ] || fail "serve --push-as distribution did not start: $(cat "$work/serve-distribution.log")"
push_and_back "$distribution_url" "--push-as distribution"
echo "skopeo.sh: a 3-layer image copied into serve (ECR's quirks, then --push-as distribution) and back out has the same bytes and digests, and BatchGetImage returns it"
