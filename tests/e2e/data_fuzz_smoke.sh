#!/bin/sh
# A short smoke run of the data loaders' libFuzzer harnesses inside make test: 3 seconds each from the
# committed seeds (make fuzz runs them longer). Needs clang and its fuzzer runtime (src/install-deps.sh).
# Builds in the script's temporary folder, so parallel runs do not race; kept when something fails.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FUZZ_SMOKE=1 FUZZ_BUILD="$TMP" sh tests/fuzz/run-fuzz.sh "${FUZZ_SMOKE_SECONDS:-3}" || {
    KEEP=1
    fail "the failing inputs and logs are in $TMP"
}
finish
