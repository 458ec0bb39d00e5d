#!/usr/bin/env bash
# skopeo, a pull client nobody here wrote, against `ecr-contract serve` (spec registry-api.md):
# an image pushed through the AWS JSON API comes back from the registry API with the exact
# bytes, digest and blobs that were pushed (`skopeo inspect --raw`, `skopeo inspect`,
# `skopeo copy docker://... dir:`), with the Basic credentials of GetAuthorizationToken; and a
# tag is translated when only another format is accepted (skopeo always accepts every format,
# so that part asks with curl).
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
