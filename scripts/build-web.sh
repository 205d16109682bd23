#!/usr/bin/env bash
# build-web.sh [WASM_BUILD_DIR] [OUT_DIR]: the web client sottod serves — the core built
# for the browser (sotto_web.mjs and .wasm), bundled with the TypeScript UI by Vite into
# OUT_DIR (default build/web/dist), each script and stylesheet with its integrity hash.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
wasm=${1:-build/wasm}
out=${2:-build/web/dist}
scripts/build-wasm.sh "$wasm" sotto_web
cd web
[ -d node_modules ] || npm ci --no-audit --no-fund >&2
npx tsc --noEmit -p .
SOTTO_WEB_CORE="$root/$wasm/web" npx vite build --logLevel warn --outDir "$root/$out" --emptyOutDir
wasm_gz=$(gzip -9c "$root/$out"/assets/*.wasm | wc -c)
js_gz=$(cat "$root/$out"/assets/*.js "$root/$out"/assets/*.css | gzip -9c | wc -c)
echo "web client in $out: wasm $((wasm_gz / 1024)) KiB + js/css $((js_gz / 1024)) KiB gzipped"
