# kvpress.cpp — the two set-up commands of the README, plus helpers.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
# WERROR=ON: warnings are errors (CI, .ci/run); applies when $(BUILD_DIR) is first configured.
WERROR ?= OFF

.PHONY: deps deps-fuzz build cli demo test test-asan fuzz fuzz-smoke sanitize-ci clean format format-check

deps:
	bash scripts/install-deps.sh

deps-fuzz:
	bash scripts/install-deps.sh --fuzz

$(BUILD_DIR)/build.ninja:
	cmake --preset release -B $(BUILD_DIR) -DKVPRESS_WERROR=$(WERROR)

# Everything: the CLI, the tests and the benchmarks.
build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The CLI alone (build/bin/kvpress): what `make demo` runs, without the test suite.
cli: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target kvpress

demo: cli
	bash scripts/demo.sh $(BUILD_DIR)

# The test targets are built here (not by `make demo`).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake --preset asan -B build-asan
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (docs/FUZZING.md): clang-14 build in build-fuzz/, not part of `make test`.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 30
fuzz: deps-fuzz
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVPRESS_FUZZ=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1" \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers

# Each target for FUZZ_SECONDS on its committed corpus (fuzz/corpus/<target>/).
fuzz-smoke: fuzz
	bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# CI after `make test` (.ci/run): the fuzz build's ASan + UBSan libraries also serve the unit
# tests (`ctest -L unit` under the sanitizers), then a short fuzz smoke of every target.
FUZZ_SMOKE_SECONDS ?= 15
sanitize-ci: fuzz
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target unit_tests
	cd $(FUZZ_DIR) && ctest --output-on-failure -j $(JOBS) -L unit
	bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS)

# Formats the given files (`make format FILES="src/x.cc src/x.h"`); the whole tree at once would
# collide with every open branch (docs/CONTRIBUTING.md "Formatting").
format:
	@test -n "$(FILES)" || { echo 'make format FILES="..."  (clang-format-14 -i on them)'; exit 2; }
	clang-format-14 -i $(FILES)

# CI's first step: every C++ file not listed in scripts/format-pending.txt is clang-format clean;
# FORMAT_BASE=main checks only the lines changed since main instead.
format-check:
	bash scripts/install-deps.sh --format
ifeq ($(FORMAT_BASE),)
	bash scripts/format-check.sh
else
	bash scripts/format-check.sh --diff $(FORMAT_BASE)
endif

clean:
	rm -rf $(BUILD_DIR) build-asan build-debug $(FUZZ_DIR)
