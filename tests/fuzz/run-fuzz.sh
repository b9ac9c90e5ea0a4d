#!/bin/sh
# Builds the libFuzzer harnesses of the data loaders (tests/fuzz/fuzz_*.c) with clang, ASan and UBSan,
# and runs each for SECONDS seconds (default 60), starting from the committed seeds in tests/fuzz/seeds/
# and the corpus grown by earlier runs (tests/fuzz/corpus-<harness>/, not committed). A crash, leak,
# sanitizer report or timeout fails the run and leaves the input in build/fuzz/ (FUZZ_BUILD).
#   sh tests/fuzz/run-fuzz.sh [SECONDS]      (make fuzz FUZZ_SECONDS=N calls it)
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${1:-60}
out=${FUZZ_BUILD:-build/fuzz}
cc=${FUZZ_CC:-clang}
harnesses="cifar100 cifar100_python cifar10 idx image"

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "run-fuzz.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
mkdir -p "$out/obj"
# The data module links zlib, and for downloads and the CIFAR-100 python tarball libcurl, libarchive, libcrypto;
# for images (vggtop predict) libpng and libjpeg.
libs=$(pkg-config --libs zlib libcurl libarchive libcrypto libpng libjpeg) || { echo "run-fuzz.sh: pkg-config failed" >&2; exit 1; }
flags="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags libpng) -fno-sanitize-recover=all"
# The loaders once, instrumented for coverage; then one small link per harness.
objs=""
for src in src/data/*.c src/util/util.c; do
    obj=$out/obj/$(basename "$src" .c).o
    # shellcheck disable=SC2086
    "$cc" $flags -fsanitize=fuzzer-no-link,address,undefined -c -o "$obj" "$src" || {
        echo "run-fuzz.sh: compiling $src failed" >&2
        exit 1
    }
    objs="$objs $obj"
done
for h in $harnesses; do
    # shellcheck disable=SC2086
    "$cc" $flags -fsanitize=fuzzer,address,undefined -o "$out/fuzz_$h" "tests/fuzz/fuzz_$h.c" $objs \
        $libs -lm -lpthread || {
        echo "run-fuzz.sh: building fuzz_$h failed" >&2
        exit 1
    }
done

failed=0
# The harnesses write their data set folders under TMPDIR.
TMPDIR=$(cd "$out" && pwd)/tmp
export TMPDIR
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
for h in $harnesses; do
    # FUZZ_SMOKE=1 (make test's short run) starts from the seeds alone, so it takes the same time every day.
    corpus=tests/fuzz/corpus-$h
    [ "${FUZZ_SMOKE:-0}" = 1 ] && corpus=$out/smoke-corpus-$h && rm -rf "$corpus"
    mkdir -p "$corpus"
    log=$out/fuzz_$h.log
    "$out/fuzz_$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=2304 \
        -max_len=20000 -print_final_stats=1 -artifact_prefix="$out/$h-" "$corpus" "tests/fuzz/seeds/$h" \
        >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "fuzz_$h: FAILED after ${runs:-?} runs (log: $log)" >&2
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2
    else
        echo "fuzz_$h: ${runs:-?} runs in ${secs}s, $cov, no crash"
    fi
done
exit "$failed"
