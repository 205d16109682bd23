#!/usr/bin/env bash
# Builds every libFuzzer target (clang, build/fuzz) and runs each binary named *_fuzz for
# FUZZ_SECONDS seconds (default 60), seeded from a temporary copy of fuzz/corpus/<name without
# _fuzz>/ so that the repository is not written. Crash inputs are kept in
# build/fuzz/artifacts/<target>/. Exits non-zero when any target fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/fuzz"
seconds=${FUZZ_SECONDS:-60}

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DSOTTO_FUZZ=ON -DSOTTO_TESTS=OFF -DSOTTO_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_targets

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The top-level build lets UBSan recover; here every report is a failure.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

mapfile -t targets < <(find "$build/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no *_fuzz binaries in $build/fuzz" >&2
  exit 1
fi

failed=()
summary=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  corpus="$work/$name/corpus"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  seeds="$root/fuzz/corpus/${name%_fuzz}"
  if [ -d "$seeds" ]; then cp -R "$seeds/." "$corpus/"; fi

  echo "=== $name: ${seconds}s, $(find "$corpus" -type f | wc -l) seeds"
  log="$work/$name/log"
  # The full log is kept; the terminal is spared libFuzzer's NEW/REDUCE lines.
  set +e
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" 2>&1 | tee "$log" |
    grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE)'
  status=${PIPESTATUS[0]}
  set -e

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    summary+=("$name: FAILED (exit $status), inputs in $artifacts")
  else
    summary+=("$name: ok, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
