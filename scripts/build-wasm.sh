#!/usr/bin/env bash
# build-wasm.sh BUILD_DIR [TARGET...]: the browser build of the portable libraries, the web
# client's core and their tests (or only the targets named), with Debian's emscripten.
# libsodium for wasm is built once from Debian's source and cached. Optimised for size
# (MinSizeRel): the core is what a browser downloads, and the tests run what ships.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/wasm}
shift || true
source scripts/wasm-env.sh
prefix=$(scripts/build-libsodium-wasm.sh | tail -n 1)
emcmake cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel -DSOTTO_SODIUM_WASM_PREFIX="$prefix" >/dev/null
cmake --build "$dir" ${1:+--target "$@"}
