#!/usr/bin/env bash
# run-ctest.sh BUILD_DIR NAME     runs one build's tests and prints each vector file's tally.
# run-ctest.sh --summary NAME...  totals of the named runs, closing with one line
#                                 "N passed, M failed" counting test cases.
set -euo pipefail
results=build/test-results
mkdir -p "$results"

if [ "${1:-}" = "--summary" ]; then
  shift
  passed=0 failed=0
  echo
  echo "== summary"
  for name in "$@"; do
    read -r programs program_failures cases case_failures < "$results/$name.counts"
    printf '  %-12s %4d test cases passed, %d failed (%d test programs, %d failed)\n' \
      "$name" "$cases" "$case_failures" "$programs" "$program_failures"
    passed=$((passed + cases))
    # A program that crashed reports no failing case; count it as one.
    failed=$((failed + (case_failures > program_failures ? case_failures : program_failures)))
  done
  if [ -n "${SOTTO_TEST_START:-}" ]; then
    echo "  elapsed: $(( $(date +%s) - SOTTO_TEST_START )) s"
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

dir=$1 name=$2
echo "== tests: $name ($dir)"
status=0
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" --timeout 900 | tee "$results/$name.log" || status=$?
log="$dir/Testing/Temporary/LastTest.log"
cases=0 case_failures=0
if [ -f "$log" ]; then
  grep -h '^vectors ' "$log" | sort -u | sed 's/^/  /' || true
  # awk reads the log itself: a grep that matched nothing would end the script (pipefail).
  cases=$(awk '/^\[  PASSED  \] [0-9]+ tests?/ {s += $4} END {print s + 0}' "$log")
  case_failures=$(awk '/^\[  FAILED  \] [0-9]+ tests?, listed below/ {s += $4} END {print s + 0}' "$log")
fi
line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$results/$name.log" | tail -1 || true)
programs=$(sed -nE 's/.*failed out of ([0-9]+).*/\1/p' <<<"$line")
program_failures=$(sed -nE 's/.* ([0-9]+) tests? failed out of.*/\1/p' <<<"$line")
[ -n "$programs" ] || { programs=0; program_failures=1; }
echo "${programs} ${program_failures} ${cases} ${case_failures}" > "$results/$name.counts"
exit $status
