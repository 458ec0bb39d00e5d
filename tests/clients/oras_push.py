"""The ORAS Python SDK (`oras` on PyPI) against `ecr-contract serve`: push an artifact of two
files through the registry API, pull it back, and compare the bytes.

Usage: python oras_push.py <serve url> <user> <password> <repository:tag> <work dir>
Prints the pushed manifest's digest as JSON ({"digest": ...}) on success; exits non-zero with
the reason otherwise.
"""

import hashlib
import json
import os
import sys

import oras.client


def main():
    url, user, password, target, work = sys.argv[1:6]
    host = url.split("://", 1)[1]
    client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    client.login(username=user, password=password, hostname=host)
    os.chdir(work)
    files = {"small.txt": b"oras small file\n", "large.bin": os.urandom(6 * 1024 * 1024 + 5)}
    for name, data in files.items():
        with open(name, "wb") as f:
            f.write(data)
    reference = f"{host}/{target}"
    # Chunked at ECR's minimum part size first (to another tag), then in single requests.
    chunked = client.push(target=reference + "-chunked", files=list(files), quiet=True,
                          do_chunked=True, chunk_size=5 * 1024 * 1024)
    if chunked.status_code != 201:
        sys.exit(f"oras push, chunked: {chunked.status_code} {chunked.text}")
    pushed = client.push(target=reference, files=list(files), quiet=True)
    if pushed.status_code != 201:
        sys.exit(f"oras push: {pushed.status_code} {pushed.text}")
    digest = pushed.headers.get("Docker-Content-Digest")
    out = os.path.join(work, "pulled")
    paths = client.pull(target=reference, outdir=out)
    got = {os.path.basename(p): open(p, "rb").read() for p in paths}
    for name, data in files.items():
        if got.get(name) != data:
            sys.exit(f"oras pull: {name} came back different")
    manifest = client.get_manifest(reference)
    print(json.dumps({"digest": digest, "layers": [l["digest"] for l in manifest["layers"]],
                      "sha256": {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in files.items()}}))


if __name__ == "__main__":
    main()
