#!/usr/bin/env bash
# build-wasm.sh BUILD_DIR: the browser build of the portable libraries and their tests,
# with Debian's emscripten. libsodium for wasm is built once from Debian's source and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/wasm}
source scripts/wasm-env.sh
prefix=$(scripts/build-libsodium-wasm.sh | tail -n 1)
emcmake cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOTTO_SODIUM_WASM_PREFIX="$prefix" >/dev/null
cmake --build "$dir"
