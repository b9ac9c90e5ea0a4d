#!/bin/sh
# End-to-end: training on CIFAR-100 files (a tiny set written here in the binary format: a coarse label
# byte, a fine label byte, 3072 pixel bytes per record): fine labels keep the 100 class names and the 20
# superclasses in config.json, so `confusion --coarse` works from the run directory alone; --labels coarse
# trains on the 20 superclasses.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
FAIL_FAST=1
cd "$TMP" || exit 1

# Five real CIFAR-100 classes with their superclasses: apple/fruit and vegetables (0/4), aquarium
# fish/fish (1/1), baby/people (2/14), bear/large carnivores (3/8), beaver/aquatic mammals (4/0).
mkdir -p data/cifar-100-binary
records() { # file count
    i=0
    while [ $i -lt "$2" ]; do
        case $((i % 5)) in 0) c=4 ;; 1) c=1 ;; 2) c=14 ;; 3) c=8 ;; 4) c=0 ;; esac
        printf "\\$(printf %o $c)\\$(printf %o $((i % 5)))"
        head -c 3072 /dev/urandom
        i=$((i + 1))
    done >"$1"
}
records data/cifar-100-binary/train.bin 60
records data/cifar-100-binary/test.bin 25

"$VGGTOP" train --model mlp --epochs 1 --batch-size 16 --threads 1 --run-dir fine >out 2>err ||
    fail "fine-label run exited $?: $(cat err)"
grep -q 'CIFAR-100' out || fail "the data set is not named CIFAR-100: $(head -2 out)"
grep -q '"name":.*"CIFAR-100"' fine/config.json || fail "config.json data set"
grep -q '"beaver"' fine/config.json || fail "config.json lacks the fine class names"
grep -q '"coarse_names"' fine/config.json && grep -q '"fine_to_coarse"' fine/config.json ||
    fail "config.json lacks the superclasses"
[ "$(head -1 fine/predictions.csv | tr ',' '\n' | grep -c '^p[0-9]')" -eq 100 ] || fail "predictions.csv is not 100 classes"
"$VGGTOP" confusion --coarse --csv fine >coarse.csv || fail "confusion --coarse exited $?"
[ "$(wc -l <coarse.csv)" -eq 20 ] || fail "the folded matrix has $(wc -l <coarse.csv) rows, not 20"
[ "$(awk -F, '{for (i = 1; i <= NF; i++) s += $i} END {print s}' coarse.csv)" -eq 25 ] || fail "folded total"
# Superclass rows that hold test images: 0, 1, 4, 8, 14 (the classes above).
[ "$(awk -F, '{s = 0; for (i = 1; i <= NF; i++) s += $i; if (s) printf "%d ", NR - 1}' coarse.csv)" = "0 1 4 8 14 " ] ||
    fail "folded rows with images: $(awk -F, '{s = 0; for (i = 1; i <= NF; i++) s += $i; if (s) printf "%d ", NR - 1}' coarse.csv)"
"$VGGTOP" confusion --coarse fine | grep -q 'test images' || fail "confusion --coarse text"
"$VGGTOP" report fine | grep -q 'beaver' || fail "report lacks the class names"

"$VGGTOP" train --model mlp --labels coarse --epochs 1 --batch-size 16 --threads 1 --run-dir coarse >/dev/null 2>err ||
    fail "coarse-label run exited $?: $(cat err)"
[ "$(head -1 coarse/predictions.csv | tr ',' '\n' | grep -c '^p[0-9]')" -eq 20 ] || fail "coarse predictions are not 20 classes"
grep -q '"labels":.*"coarse"' coarse/config.json || fail "config.json labels"
grep -q '"aquatic_mammals"\|"aquatic mammals"' coarse/config.json || fail "config.json lacks the superclass names"
finish
