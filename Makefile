# Sotto: the two commands that matter are `make run` and `make test`.
# Each installs the Debian packages it needs first (scripts/install-deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CMAKE_GEN := -G Ninja
NATIVE := build/native
ASAN := build/asan
WASM := build/wasm
FUZZ_SECONDS ?= 30
# Line tables only: enough for sanitizer reports and backtraces, a fraction of full DWARF's
# size and link time (a full-debug tree of the server's tests is gigabytes).
LINES := -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

.PHONY: all deps native asan wasm web run demo test test-native test-asan test-wasm fuzz bench format clean

all: native

deps:
	@scripts/install-deps.sh

native: deps
	@cmake -S . -B $(NATIVE) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LINES) -DSOTTO_BENCH=OFF >/dev/null
	@cmake --build $(NATIVE)

asan: deps
	@cmake -S . -B $(ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug $(LINES) -DSOTTO_SANITIZE=ON -DSOTTO_BENCH=OFF >/dev/null
	@cmake --build $(ASAN)

wasm: deps
	@scripts/build-wasm.sh $(WASM)

# The web client sottod serves at / (the core in wasm, the UI bundled by Vite).
web: deps
	@scripts/build-web.sh $(WASM) build/web/dist

# Builds and starts the server in the foreground (Ctrl-C stops it); it prints where to connect
# (the web client at https://127.0.0.1:8443/) and the fingerprint of its self-signed
# certificate, kept in build/run-data.
run: native web
	@$(NATIVE)/server/sottod --listen 127.0.0.1:8443 --data-dir build/run-data --web-root build/web/dist

# A demo of the core and crypto libraries: an HPKE-sealed, signed message from Alice to Bob.
demo: native
	@$(NATIVE)/cli/sotto-demo

# With SOTTO_PRUNE_BUILDS=1 (CI) a build tree is deleted once its tests have passed (their
# results stay in build/test-results), so that the disk holds one build at a time: a
# sanitizer build of the server's tests alone takes gigabytes.
prune = if [ "$${SOTTO_PRUNE_BUILDS:-}" = 1 ]; then rm -rf $(1); fi

# The native tests include the browser's (web/tests), which need the web client built.
test-native: native web
	@scripts/run-ctest.sh $(NATIVE) native
	@$(call prune,$(NATIVE))

test-asan: asan
	@scripts/run-ctest.sh $(ASAN) asan+ubsan
	@$(call prune,$(ASAN))

test-wasm: wasm
	@scripts/run-ctest.sh $(WASM) wasm
	@$(call prune,$(WASM))

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz-short.sh

# Every test: native, sanitizers, the wasm build under node, and a short fuzz run.
test: test-native test-asan test-wasm fuzz
	@scripts/run-ctest.sh --summary native asan+ubsan wasm

bench: deps web
	@cmake -S . -B build/release $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DSOTTO_TESTS=OFF >/dev/null
	@cmake --build build/release
	@for b in build/release/bench/bench_*; do echo "== $$(basename $$b)"; $$b; done
	@echo "== web_bench"; SOTTO_SOTTOD=build/release/server/sottod SOTTO_CLI=build/release/cli/sotto/sotto \
	  SOTTO_WEB_DIST=build/web/dist node bench/web_bench.mjs

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build
