#!/usr/bin/env bash
# Installs the Debian packages Sotto builds and tests with, when any is missing.
# Idempotent: does nothing (and asks no network) when everything is there.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # libraries
  libsodium-dev libssl-dev nlohmann-json3-dev
  # lib/openpgp: Compressed Data packets (ZIP, ZLIB)
  zlib1g-dev
  # lib/mail: MIME (GMime 3)
  libgmime-3.0-dev
  # sotto draws invite links as QR codes; its tests read them back with zbarimg
  libqrencode-dev zbar-tools
  # lib/store: the embedded database
  libsqlite3-dev sqlite3
  # the server: Boost.Asio/Beast, config (toml++), flags (CLI11), logging (spdlog)
  libboost-dev libboost-system-dev libtomlplusplus-dev libcli11-dev libspdlog-dev
  # the server mails one-time codes by SMTP
  libcurl4-openssl-dev
  # tests: a throw-away Postfix + Dovecot on loopback (scripts/mailserver.sh)
  postfix dovecot-imapd dovecot-lmtpd openssl
  # ... whose stop ends Dovecot's client processes too (pkill)
  procps
  # tests and benchmarks
  googletest libgtest-dev libbenchmark-dev tmux
  # bench_mls compares against Megolm
  libolm-dev
  # the browser build: emscripten and what rebuilding libsodium for it takes
  emscripten nodejs dpkg-dev autoconf automake libtool
  # the web client's tests drive a headless Chromium (web/tests, through playwright-core)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# Debian packages, when any is missing.
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Postfix and Dovecot are only started by scripts/mailserver.sh, with their own configuration:
  # Postfix gets no system configuration (so it asks nothing and starts nothing), and while
  # installing, a policy-rc.d (when there is none) keeps invoke-rc.d from starting system daemons
  # on machines without systemd.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# tests/interop/mls (ts-mls), tests/interop/openpgp (OpenPGP.js) and tests/interop/deltachat
# (the Delta Chat core): the implementations the interop tests run against; web/: Vite,
# TypeScript and playwright-core. Each at the versions of its package-lock.json; when
# node_modules is there, nothing is asked.
root="$(cd "$(dirname "$0")/.." && pwd)"
for interop in "$root"/tests/interop/{mls,openpgp,deltachat} "$root"/web; do
  if [ ! -d "$interop/node_modules" ]; then
    if ! command -v npm >/dev/null; then
      # Debian's nodejs comes without npm (NodeSource's has it).
      echo "install-deps: installing npm" >&2
      ${sudo:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -q --no-install-recommends npm >&2
    fi
    echo "install-deps: npm ci in ${interop#"$root"/}" >&2
    (cd "$interop" && npm ci --no-audit --no-fund >&2)
  fi
done
