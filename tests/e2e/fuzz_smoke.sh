#!/bin/sh
# A short smoke run of the data loaders' libFuzzer harnesses inside make test: 3 seconds each from the
# committed seeds (make fuzz runs them longer). Needs clang and its fuzzer runtime (src/install-deps.sh).
# Builds in a private temporary folder, so parallel runs do not race; kept when something fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
out=$(mktemp -d /tmp/vggtop-fuzz-smoke-XXXXXX)
if FUZZ_SMOKE=1 FUZZ_BUILD="$out" sh tests/fuzz/run-fuzz.sh "${FUZZ_SMOKE_SECONDS:-3}"; then
    rm -rf "$out"
else
    echo "fuzz_smoke.sh: failing inputs and logs kept in $out" >&2
    exit 1
fi
