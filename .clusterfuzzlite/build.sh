#!/bin/bash -eu
# Builds every cargo-fuzz target of ecr-contract into $OUT, each with its seed corpus
# ($OUT/<target>_seed_corpus.zip) and the dictionary ($OUT/<target>.dict), as ClusterFuzzLite
# and OSS-Fuzz expect. $SRC is the folder that holds the checkout. Runs in ClusterFuzzLite's
# builder image, and as it is on a machine with rustup's nightly toolchain and cargo-fuzz:
#   SRC=<parent of the checkout> OUT=<empty dir> bash .clusterfuzzlite/build.sh
: "${SRC:?set SRC to the folder that holds the checkout}"
: "${OUT:?set OUT to the folder the fuzzers go to}"

# The checkout: this script's own (run from .clusterfuzzlite/), else the working directory
# (the builder image runs $SRC/build.sh there), else $SRC/ecr-contract.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for root in "$here" "$PWD" "$SRC/ecr-contract"; do
  [ -f "$root/fuzz/Cargo.toml" ] && break
done
[ -f "$root/fuzz/Cargo.toml" ] || { echo "no ecr-contract checkout with fuzz/ in $here, $PWD or $SRC/ecr-contract" >&2; exit 1; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$root"

# The builder image's default toolchain is nightly; elsewhere rustup's nightly is asked for.
fuzz=(cargo fuzz)
cargo --version | grep -q nightly || fuzz=(cargo +nightly fuzz)

"${fuzz[@]}" build -O
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
cargo run --quiet -- corpus --out "$corpus"

zip_dir() { # zip_dir DIR ZIP: the files of DIR, flat, into ZIP
  if command -v zip >/dev/null; then
    (cd "$1" && zip -q -r "$2" .)
  else
    python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(src)):
        z.write(os.path.join(src, name), name)
PY
  fi
}

for target in $("${fuzz[@]}" list); do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  rm -f "$OUT/${target}_seed_corpus.zip"
  zip_dir "$corpus/$target" "$OUT/${target}_seed_corpus.zip"
  cp fuzz/dicts/ecr.dict "$OUT/$target.dict"
  echo "$target: fuzzer, $(ls "$corpus/$target" | wc -l) seeds, dictionary in $OUT"
done
