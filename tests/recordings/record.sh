#!/usr/bin/env bash
# Records `check` against `serve` under each of its outcome choices into tests/recordings/,
# where `cargo test` replays them (tests/it/recording.rs). Run it again when a change to
# `check` changes the requests a run sends: a replay answers only requests it recorded.
#   bash tests/recordings/record.sh [path/to/ecr-contract]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="${1:-target/debug/ecr-contract}"
[ -x "$binary" ] || cargo build --quiet
record() {
  local name=$1 outcomes=$2 port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$binary" serve --port "$port" --require-blobs --outcomes "$outcomes" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
    sleep 0.1
  done
  "$binary" check --endpoint-url "http://127.0.0.1:$port" --cases 2 --seed 1 \
    --record "tests/recordings/serve-$name" >/dev/null
  kill "$server"
  wait "$server" 2>/dev/null || true
  printf 'recorded %s (--outcomes %s)\n' "serve-$name" "${outcomes:-none}"
}
record default ""
record digest-tags-first digest-tags=first
record digest-tags-each digest-tags=each
record fail-untranslatable fail-untranslatable
record digest-of-translation digest-of-translation
record reject-invalid-digest reject-invalid-digest
record mismatch-as-not-found mismatch-as-not-found
record dedupe-ids dedupe-ids
