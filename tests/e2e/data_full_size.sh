#!/bin/sh
# A CIFAR-100 of the real size (50,000 + 10,000 records of zeros, written here): vggtop data loads it,
# resized to 48x48 as for vgg16, within 1 GiB of resident memory; one record more than the official
# train.bin is refused. No timing is asserted (vggtop bench measures speed).
set -u
bin=${VGGTOP:-./vggtop}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || { echo "data_full_size.sh: $bin is not built" >&2; exit 1; }
tmp=$(mktemp -d /tmp/vggtop-e2e-full-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/cifar-100-binary"
# Zero bytes are valid records: coarse label 0 and fine label 0 in every one, which agree with each other.
head -c $((50000 * 3074)) /dev/zero >"$tmp/cifar-100-binary/train.bin"
head -c $((10000 * 3074)) /dev/zero >"$tmp/cifar-100-binary/test.bin"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" data --data "$tmp" --resize 48 >"$tmp/out" 2>"$tmp/err" ||
        fail "vggtop data on a full-size CIFAR-100: exit $?: $(cat "$tmp/err")"
    rss=$(tail -1 "$tmp/rss")
    echo "data_full_size.sh: peak resident memory at 48x48: $rss KB"
    [ "$rss" -lt 1048576 ] || fail "peak memory $rss KB is not under 1 GiB"
else
    "$bin" data --data "$tmp" --resize 48 >"$tmp/out" 2>"$tmp/err" || fail "full-size CIFAR-100: exit $?"
    echo "data_full_size.sh: /usr/bin/time missing, memory not measured"
fi
grep -q '^train        50,000 images$' "$tmp/out" || fail "train size not 50,000: $(cat "$tmp/out")"
grep -q '^test         10,000 images$' "$tmp/out" || fail "test size not 10,000"
grep -q '^image shape  48x48x3 (RGB), resized from 32x32 (bicubic)$' "$tmp/out" || fail "shape line"

# One record more than CIFAR-100's train.bin holds.
head -c 3074 /dev/zero >>"$tmp/cifar-100-binary/train.bin"
"$bin" data --data "$tmp" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] || fail "oversized train.bin: exit $rc, expected 2"
grep -q 'train.bin: 50001 records, more than the 50000 of CIFAR-100' "$tmp/err" || fail "oversized: $(cat "$tmp/err")"

[ "$fails" -eq 0 ] || exit 1
echo "data_full_size.sh: all passed"
