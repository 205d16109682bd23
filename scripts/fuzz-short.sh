#!/usr/bin/env bash
# Builds every libFuzzer target (clang, build/fuzz) and runs each binary named *_fuzz for
# FUZZ_SECONDS seconds (default 60), as many at once as there are cores, seeded from a
# temporary copy of fuzz/corpus/<name without _fuzz>/ so that the repository is not written.
# Crash inputs are kept in build/fuzz/artifacts/<target>/. Exits non-zero when any target fails.
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

# One target: its log, its exit status and its stats line land in $work/<name>/.
run_one() {
  local bin=$1 name corpus artifacts seeds log status runs rate cov
  name=$(basename "$bin")
  corpus="$work/$name/corpus"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  seeds="$root/fuzz/corpus/${name%_fuzz}"
  if [ -d "$seeds" ]; then cp -R "$seeds/." "$corpus/"; fi
  log="$work/$name/log"
  echo "=== $name: ${seconds}s, $(find "$corpus" -type f | wc -l) seeds" > "$work/$name/head"
  set +e
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
  if [ "$status" -ne 0 ]; then
    echo "$name: FAILED (exit $status), inputs in $artifacts" > "$work/$name/summary"
  else
    echo "$name: ok, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}" > "$work/$name/summary"
  fi
  # The whole log goes to the terminal at once, so that parallel targets do not interleave;
  # libFuzzer's NEW/REDUCE lines are left out of it.
  { cat "$work/$name/head"; grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE)' "$log" || true; }
  return "$status"
}

# As many targets at once as there are cores: each libFuzzer process uses one.
jobs=$(nproc)
failed=()
running=0
for bin in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$bin" &
  running=$((running + 1))
done
wait || true

summary=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  line=$(cat "$work/$name/summary" 2>/dev/null || echo "$name: FAILED (no result)")
  summary+=("$line")
  case $line in *FAILED*) failed+=("$name") ;; esac
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
