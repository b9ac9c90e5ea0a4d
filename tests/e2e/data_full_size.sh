#!/bin/sh
# A CIFAR-100 of the real size (50,000 + 10,000 records of zeros, written here): vggtop data loads it,
# resized to 48x48 as for vgg16, within 1 GiB of resident memory; one record more than the official
# train.bin is refused. No timing is asserted (vggtop bench measures speed).
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
mkdir "$TMP/cifar-100-binary"
# Zero bytes are valid records: coarse label 0 and fine label 0 in every one, which agree with each other.
head -c $((50000 * 3074)) /dev/zero >"$TMP/cifar-100-binary/train.bin"
head -c $((10000 * 3074)) /dev/zero >"$TMP/cifar-100-binary/test.bin"

if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$TMP/rss" "$VGGTOP" data --data "$TMP" --resize 48 >"$TMP/out" 2>"$TMP/err" ||
        fail "vggtop data on a full-size CIFAR-100: exit $?: $(cat "$TMP/err")"
    rss=$(tail -1 "$TMP/rss")
    echo "$E2E_NAME: peak resident memory at 48x48: $rss KB"
    [ "$rss" -lt 1048576 ] || fail "peak memory $rss KB is not under 1 GiB"
else
    "$VGGTOP" data --data "$TMP" --resize 48 >"$TMP/out" 2>"$TMP/err" || fail "full-size CIFAR-100: exit $?"
    echo "$E2E_NAME: /usr/bin/time missing, memory not measured"
fi
grep -q '^train        50,000 images$' "$TMP/out" || fail "train size not 50,000: $(cat "$TMP/out")"
grep -q '^test         10,000 images$' "$TMP/out" || fail "test size not 10,000"
grep -q '^image shape  48x48x3 (RGB), resized from 32x32 (bicubic)$' "$TMP/out" || fail "shape line"

# One record more than CIFAR-100's train.bin holds.
head -c 3074 /dev/zero >>"$TMP/cifar-100-binary/train.bin"
"$VGGTOP" data --data "$TMP" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 2 ] || fail "oversized train.bin: exit $rc, expected 2"
grep -q 'train.bin: 50001 records, more than the 50000 of CIFAR-100' "$TMP/err" || fail "oversized: $(cat "$TMP/err")"

finish
