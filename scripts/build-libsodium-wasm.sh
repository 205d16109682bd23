#!/usr/bin/env bash
# Build a static libsodium for emscripten (wasm32) from Debian's source package
# and print its install prefix as the last line of stdout (logs go to stderr):
#
#   prefix=$(scripts/build-libsodium-wasm.sh)
#   # -> $prefix/include/sodium.h, $prefix/lib/libsodium.a
#
# Idempotent: the result is cached in
#   ${SOTTO_CACHE:-$HOME/.cache/sotto}/libsodium-wasm-<debian-version>
# where <debian-version> is the Debian source version of libsodium (that of the
# installed libsodium-dev/libsodium23, else the apt candidate), so the wasm
# build matches the native one. A cache hit prints the prefix and exits
# immediately without touching apt.
#
# On a cache miss the script (as root, or through sudo otherwise):
#   - adds a deb-src entry (/etc/apt/sources.list.d/sotto-deb-src.sources) if
#     none exists for the release, and runs apt-get update only then (or when
#     the source index is missing);
#   - installs missing tools: dpkg-dev autoconf automake libtool make emscripten;
# then, as the calling user (no root needed), fetches
# `apt-get source libsodium=<version>` into a temporary directory, runs
# `autoreconf -fi`, `emconfigure ./configure ...` (CFLAGS=-O2) and
# `emmake make install`, and moves the result into place only when complete.
# The build output goes to <prefix>.log. Takes about 2.5 minutes on 2 idle cores.
#
# Environment:
#   SOTTO_CACHE          cache root (default: $HOME/.cache/sotto)
#   SOTTO_DEBIAN_MIRROR  mirror for the added deb-src entry
#                        (default: http://deb.debian.org/debian)
#   JOBS                 parallel make jobs (default: nproc)
#
# Environment callers need for emscripten builds (see scripts/wasm-env.sh,
# which sets them; this script sets them for itself):
#   NODE_PATH=/usr/share/nodejs  Debian's emcc runs tools/acorn-optimizer.js
#                                with node; without it every optimised link
#                                (-O1 and up) fails with "Cannot find module
#                                'acorn'".
#   EM_CACHE                     must stay UNSET (or point at a complete
#                                emscripten cache). Debian's emscripten is
#                                configured with FROZEN_CACHE=True and uses the
#                                prebuilt, read-only cache in
#                                /usr/share/emscripten/cache; it never writes
#                                there, so no writable cache is needed. An
#                                empty EM_CACHE breaks every compile
#                                ("FROZEN_CACHE is set, but cache file is
#                                missing").
set -euo pipefail

log() { printf '[build-libsodium-wasm] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

export NODE_PATH=/usr/share/nodejs
export LC_ALL=C
# A stale or empty EM_CACHE makes Debian's frozen-cache emcc fail (see above).
if [[ -n "${EM_CACHE:-}" && ! -e "${EM_CACHE}/sysroot_install.stamp" ]]; then
  log "ignoring EM_CACHE=${EM_CACHE} (not a complete emscripten cache)"
  unset EM_CACHE
fi

cache_root="${SOTTO_CACHE:-$HOME/.cache/sotto}"

# --- Which libsodium version? -------------------------------------------------
debian_version() {
  local v pkg
  for pkg in libsodium-dev libsodium23; do
    v=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null || true)
    if [[ "$v" == ii* ]]; then
      printf '%s\n' "${v##* }"
      return 0
    fi
  done
  v=$(apt-cache policy libsodium-dev 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
  if [[ -n "$v" && "$v" != "(none)" ]]; then
    printf '%s\n' "$v"
    return 0
  fi
  return 1
}

if [[ $EUID -eq 0 ]]; then
  SUDO=()
else
  SUDO=(sudo)
fi
as_root() {
  if [[ ${#SUDO[@]} -gt 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    die "need root for: $* (not root and sudo is not installed)"
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"
}

version=$(debian_version || true)
if [[ -z "$version" ]]; then
  log "libsodium version unknown; refreshing apt lists"
  as_root apt-get update -qq >&2
  version=$(debian_version) || die "cannot determine libsodium's Debian version"
fi
# Source version: a binNMU suffix (+bN) exists only on binary packages.
src_version="${version%+b[0-9]*}"

prefix="${cache_root}/libsodium-wasm-${src_version//:/_}"

if [[ -f "$prefix/lib/libsodium.a" && -f "$prefix/include/sodium.h" ]]; then
  printf '%s\n' "$prefix"
  exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent builds of the same prefix.
exec 9>"${prefix}.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
  if [[ -f "$prefix/lib/libsodium.a" && -f "$prefix/include/sodium.h" ]]; then
    printf '%s\n' "$prefix"
    exit 0
  fi
fi

start=$(date +%s)
log "building libsodium ${src_version} for wasm32 into ${prefix}"

# --- deb-src entry ------------------------------------------------------------
codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
codename="${codename:-bookworm}"

have_deb_src() {
  local f
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    if grep -Eq "^[[:space:]]*deb-src[[:space:]].*[[:space:]]${codename}[[:space:]]" "$f"; then
      return 0
    fi
  done
  # deb822 format: a stanza whose Types include deb-src and Suites include $codename
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    if awk -v cn="$codename" '
        BEGIN { RS = "" }
        {
          enabled = 1; src = 0; suite = 0
          n = split($0, lines, "\n")
          for (i = 1; i <= n; i++) {
            l = lines[i]
            if (l ~ /^[[:space:]]*#/) continue
            if (tolower(l) ~ /^enabled:[[:space:]]*no/) enabled = 0
            if (tolower(l) ~ /^types:/ && l ~ /deb-src/) src = 1
            if (tolower(l) ~ /^suites:/ && (" " l " ") ~ ("[[:space:]]" cn "[[:space:]]")) suite = 1
          }
          if (enabled && src && suite) found = 1
        }
        END { exit(found ? 0 : 1) }' "$f"; then
      return 0
    fi
  done
  return 1
}

need_update=0
if ! have_deb_src; then
  mirror="${SOTTO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  src_file=/etc/apt/sources.list.d/sotto-deb-src.sources
  log "adding deb-src entry ${src_file} (${mirror} ${codename})"
  printf '%s\n' \
    "Types: deb-src" \
    "URIs: ${mirror}" \
    "Suites: ${codename} ${codename}-updates" \
    "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
    "" \
    "Types: deb-src" \
    "URIs: http://deb.debian.org/debian-security" \
    "Suites: ${codename}-security" \
    "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
    as_root tee "$src_file" >/dev/null
  need_update=1
else
  # deb-src configured, but is its index downloaded? (apt-cache showsrc exits 0
  # even when it finds nothing, so look at its output.)
  srcinfo=$(apt-cache showsrc libsodium 2>/dev/null || true)
  [[ "$srcinfo" == *"Package: libsodium"* ]] || need_update=1
fi
if [[ $need_update -eq 1 ]]; then
  log "apt-get update"
  as_root apt-get update -qq >&2
fi

# --- tools --------------------------------------------------------------------
missing=()
command -v dpkg-source >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v autoreconf >/dev/null 2>&1 || missing+=(autoconf)
command -v automake >/dev/null 2>&1 || missing+=(automake)
command -v libtoolize >/dev/null 2>&1 || missing+=(libtool)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v emcc >/dev/null 2>&1 || missing+=(emscripten)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  as_root apt-get install -y -qq "${missing[@]}" >&2
fi

# --- fetch, configure, build --------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/libsodium-wasm.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

build_log="${prefix}.log"
: >"$build_log"
run() {
  # Full output goes to the log; on failure show its tail.
  if ! "$@" >>"$build_log" 2>&1; then
    log "failed: $* (last lines of ${build_log}:)"
    tail -n 60 "$build_log" >&2
    exit 1
  fi
}

cd "$work"
apt_source_opts=(-qq)
if [[ $EUID -eq 0 ]]; then
  # As root apt drops to the sandbox user _apt, which cannot write into this
  # directory ("Download is performed unsandboxed as root ..."). Download as
  # root directly instead; this also avoids the warning. As a normal user
  # apt-get source needs no privileges at all.
  apt_source_opts+=(-o APT::Sandbox::User=root)
fi
log "apt-get source libsodium=${src_version} (log: ${build_log})"
run apt-get "${apt_source_opts[@]}" source "libsodium=${src_version}"

srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'libsodium-*' | head -n 1)
[[ -n "$srcdir" ]] || die "no unpacked source directory in $work"
cd "$srcdir"

log "autoreconf -fi"
run autoreconf -fi

log "emconfigure ./configure"
# CFLAGS: configure's default is "-g -O2"; the DWARF only bloats the archive.
run emconfigure ./configure \
  --host=wasm32-unknown-emscripten \
  --disable-shared \
  --without-pthreads \
  --disable-ssp \
  --disable-asm \
  --disable-pie \
  --prefix="$prefix" \
  CFLAGS="-O2"

log "emmake make"
stage="$work/stage"
run emmake make -j"${JOBS:-$(nproc)}"
run emmake make install DESTDIR="$stage"

# Move into place only once complete, so an interrupted build never leaves a
# prefix that passes the cache check.
[[ -f "$stage$prefix/lib/libsodium.a" && -f "$stage$prefix/include/sodium.h" ]] ||
  die "install did not produce libsodium.a and sodium.h"
rm -rf "$prefix"
mkdir -p "$(dirname "$prefix")"
mv "$stage$prefix" "$prefix"

log "done in $(($(date +%s) - start))s"
printf '%s\n' "$prefix"
