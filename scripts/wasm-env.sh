# Environment for emscripten builds with Debian's emscripten 3.1.6 and Node 20.
# Source it (bash/sh):  . scripts/wasm-env.sh
#
# What it sets and why:
#   NODE_PATH   /usr/share/nodejs: Debian's emcc runs tools/acorn-optimizer.js
#               with node for every optimised link (-O1 and up); without it the
#               link fails with "Cannot find module 'acorn'".
#   EM_CACHE    left unset on purpose. Debian's emscripten has FROZEN_CACHE=True
#               and uses the prebuilt, read-only system-library cache in
#               /usr/share/emscripten/cache; it never writes there, so no
#               writable cache is needed. Pointing EM_CACHE at an empty or
#               partial directory breaks every compile ("FROZEN_CACHE is set,
#               but cache file is missing"), so an incomplete one is unset here.
#
# Not set here, but needed when running emscripten output under Node 20 (see
# the CMake wasm setup): run with `node --no-experimental-fetch`, or link with
# -sSINGLE_FILE=1; emscripten 3.1.6 otherwise tries to fetch() the .wasm file by
# path and fails with "Failed to parse URL". emcmake's default
# CMAKE_CROSSCOMPILING_EMULATOR ("node;--experimental-wasm-threads") is rejected
# by Node 20 ("bad option"), so pass -DCMAKE_CROSSCOMPILING_EMULATOR explicitly.

case ":${NODE_PATH:-}:" in
  *:/usr/share/nodejs:*) ;;
  *) NODE_PATH="/usr/share/nodejs${NODE_PATH:+:${NODE_PATH}}" ;;
esac
export NODE_PATH

if [ -n "${EM_CACHE:-}" ] && [ ! -e "${EM_CACHE}/sysroot_install.stamp" ]; then
  echo "wasm-env.sh: unsetting EM_CACHE=${EM_CACHE} (not a complete emscripten cache)" >&2
  unset EM_CACHE
fi
