#!/bin/sh
# A short smoke run of the data loaders' libFuzzer harnesses inside make test: 5 seconds each from the
# committed seeds (make fuzz runs them longer). Needs clang and its fuzzer runtime (src/install-deps.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SMOKE=1 FUZZ_BUILD=build/fuzz-smoke sh tests/fuzz/run-fuzz.sh "${FUZZ_SMOKE_SECONDS:-5}"
