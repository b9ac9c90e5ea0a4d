#!/bin/sh
# End-to-end tests of `vggtop data`: what it reports for the Debian Fashion-MNIST fallback, for tiny
# CIFAR-100 / CIFAR-10 folders written here in the exact binary formats (golden outputs), for
# $VGGTOP_DATA, and the one-line errors and exit status 2 of bad folders, files and flags.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
cd "$TMP" || exit 1
# A $HOME of our own: a Keras cache of the machine's user must not be found.
export HOME="$TMP/home"
mkdir -p "$HOME"

# One CIFAR record: label bytes (octal escapes) then 3,072 pixel bytes.
record() { printf "$1"; head -c 3072 /dev/zero | tr '\000' "$2"; }

# expect STATUS WORD... -- ARGS: runs vggtop, checks the exit status, that stderr is one line, and words in it.
expect_error() {
    want=$1 word=$2; shift 2
    "$VGGTOP" "$@" >out.txt 2>err.txt
    got=$?
    [ "$got" -eq "$want" ] || fail "vggtop $*: exit $got, expected $want"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "vggtop $*: stderr is not one line: $(cat err.txt)"
    grep -qF -- "$word" err.txt || fail "vggtop $*: stderr does not say '$word': $(cat err.txt)"
    [ -s out.txt ] && fail "vggtop $*: printed to stdout on error"
    return 0
}

# 1. Nothing here: Debian's Fashion-MNIST, and how to get CIFAR-100.
if [ -d /usr/share/datasets/fashion-mnist ]; then
    "$VGGTOP" data >out.txt 2>err.txt || fail "vggtop data with no CIFAR-100: exit $?"
    cat >want.txt <<'GOLD'
data set     Fashion-MNIST
format       IDX
path         /usr/share/datasets/fashion-mnist
found by     Debian's dataset-fashion-mnist package
image shape  28x28x1 (grey)
classes      10
train        60,000 images
test         10,000 images
class names  T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot

note: Using Fashion-MNIST from Debian's dataset-fashion-mnist package, not CIFAR-100. For CIFAR-100, run vggtop data --download (it fetches and checks cifar-100-binary.tar.gz into ./data/cifar-100-binary), or pass --data DIR.
GOLD
    diff want.txt out.txt >/dev/null || { fail "Fashion-MNIST fallback output differs:"; diff want.txt out.txt >&2; }
else
    echo "$E2E_NAME: dataset-fashion-mnist is not installed; skipping the fallback check"
fi

# 2. The copies Keras and torchvision users have (the python version, tests/tools/cifar100_pickles.py's fixtures),
# found after ./data/cifar-100-binary in this order: Keras's cache, torchvision's ./data, then either's tarball.
fix=$TOP/tests/fixtures/data
mkdir -p data "$HOME/.keras/datasets"
cp "$fix/cifar-100-python.tar.gz" data/
"$VGGTOP" data >out.txt 2>err.txt || fail "vggtop data on ./data/cifar-100-python.tar.gz: exit $? ($(cat err.txt))"
cat >want.txt <<'GOLD'
data set     CIFAR-100, fine labels
format       CIFAR-100 python
path         ./data/cifar-100-python.tar.gz
found by     torchvision's folder ./data
image shape  32x32x3 (RGB)
classes      100
train        3 images
test         2 images
class names  apple, aquarium_fish, baby, bear, beaver, bed, bee, beetle, bicycle, bottle, ... (90 more)
superclasses aquatic_mammals, fish, flowers, food_containers, fruit_and_vegetables, household_electrical_devices, household_furniture, insects, large_carnivores, large_man-made_outdoor_things, ... (10 more)
GOLD
diff want.txt out.txt >/dev/null || { fail "python tarball output differs:"; diff want.txt out.txt >&2; }
cp "$fix/cifar-100-python.tar.gz" "$HOME/.keras/datasets/"
"$VGGTOP" data 2>&1 | grep -q "^path         $HOME/.keras/datasets/cifar-100-python.tar.gz$" || fail "Keras's tarball not found"
cp -r "$fix/cifar-100-python" data/
"$VGGTOP" data 2>&1 | grep -q "^path         ./data/cifar-100-python$" || fail "torchvision's folder not found"
cp -r "$fix/cifar-100-python-p4" "$HOME/.keras/datasets/cifar-100-python"
"$VGGTOP" data >out.txt 2>&1 || fail "vggtop data on Keras's cache: exit $?"
grep -q "^path         $HOME/.keras/datasets/cifar-100-python$" out.txt || fail "Keras's cache not found: $(cat out.txt)"
grep -q "^found by     Keras's cache ~/.keras/datasets$" out.txt || fail "Keras's cache: source not said"
grep -q "^format       CIFAR-100 python$" out.txt || fail "Keras's cache: format not said"
# A pickle that calls code is refused, naming the file.
cp "$fix/pickle-bad/global_os_system" "$HOME/.keras/datasets/cifar-100-python/train"
expect_error 2 "$HOME/.keras/datasets/cifar-100-python/train: not a CIFAR-100 python pickle: byte 2: global 'os.system' is refused" data
rm -rf data "$HOME/.keras"

# 3. ./data/cifar-100-binary: 5 training records (cattle, apple, worm, cattle, maple_tree), 2 test.
mkdir -p data/cifar-100-binary
{
    record '\013\023' '\001'; record '\004\000' '\002'; record '\015\143' '\003'
    record '\013\023' '\004'; record '\021\057' '\005'
} >data/cifar-100-binary/train.bin
{ record '\004\000' '\006'; record '\015\143' '\007'; } >data/cifar-100-binary/test.bin
"$VGGTOP" data >out.txt 2>err.txt || fail "vggtop data on ./data/cifar-100-binary: exit $?"
cat >want.txt <<'GOLD'
data set     CIFAR-100, fine labels
format       CIFAR-100 binary
path         ./data/cifar-100-binary
found by     the default directory ./data/cifar-100-binary
image shape  32x32x3 (RGB)
classes      100
train        5 images
test         2 images
class names  apple, aquarium_fish, baby, bear, beaver, bed, bee, beetle, bicycle, bottle, ... (90 more)
superclasses aquatic_mammals, fish, flowers, food_containers, fruit_and_vegetables, household_electrical_devices, household_furniture, insects, large_carnivores, large_man-made_outdoor_things, ... (10 more)
GOLD
diff want.txt out.txt >/dev/null || { fail "CIFAR-100 fine output differs:"; diff want.txt out.txt >&2; }
[ -s err.txt ] && fail "CIFAR-100: unexpected stderr: $(cat err.txt)"

"$VGGTOP" data --data data --labels coarse --resize 48 >out.txt 2>err.txt || fail "vggtop data --labels coarse: exit $?"
cat >want.txt <<'GOLD'
data set     CIFAR-100, coarse labels
format       CIFAR-100 binary
path         data/cifar-100-binary
found by     --data
image shape  48x48x3 (RGB), resized from 32x32 (bicubic)
classes      20
train        5 images
test         2 images
class names  aquatic_mammals, fish, flowers, food_containers, fruit_and_vegetables, household_electrical_devices, household_furniture, insects, large_carnivores, large_man-made_outdoor_things, ... (10 more)
GOLD
diff want.txt out.txt >/dev/null || { fail "CIFAR-100 coarse output differs:"; diff want.txt out.txt >&2; }

# The data set's own names file wins over the built-in list.
i=0; while [ $i -lt 100 ]; do echo "class$i"; i=$((i + 1)); done >data/cifar-100-binary/fine_label_names.txt
"$VGGTOP" data | grep -q '^class names  class0, class1, class2' || fail "fine_label_names.txt not used"

# 4. $VGGTOP_DATA beats ./data; a CIFAR-10 folder (5 batches of 1 record, labels 3 = cat).
mkdir c10
for b in 1 2 3 4 5; do record '\003' '\011' >c10/data_batch_$b.bin; done
record '\003' '\011' >c10/test_batch.bin
VGGTOP_DATA=c10 "$VGGTOP" data >out.txt 2>&1 || fail "vggtop data with \$VGGTOP_DATA: exit $?"
grep -q '^data set     CIFAR-10$' out.txt || fail "\$VGGTOP_DATA: not CIFAR-10: $(head -1 out.txt)"
grep -q '^found by     \$VGGTOP_DATA$' out.txt || fail "\$VGGTOP_DATA: source not reported"
grep -q '^class names  airplane, automobile, bird, cat, deer' out.txt || fail "CIFAR-10 names missing"
grep -q '^note: Using CIFAR-10 from c10, not CIFAR-100' out.txt || fail "CIFAR-10: no CIFAR-100 notice"

# 5. Bad folders, files and flags: exit 2 and one line naming what is wrong.
expect_error 2 "--data nowhere: No such file or directory" data --data nowhere
export VGGTOP_DATA=nowhere
expect_error 2 "\$VGGTOP_DATA nowhere" data
unset VGGTOP_DATA
touch plain
expect_error 2 "not a directory" data --data plain
mkdir empty
expect_error 2 "no data set here" data --data empty
expect_error 2 "--labels: 'medium' is not fine or coarse" data --labels medium
expect_error 2 "--resize: '0'" data --resize 0
expect_error 2 "--resize: '4'" data --resize 4
expect_error 2 "--resize: '513'" data --resize 513
expect_error 2 "unknown option '--bogus'" data --bogus
expect_error 2 "--labels coarse: only CIFAR-100" data --data c10 --labels coarse
head -c 5000 data/cifar-100-binary/train.bin >short.bin && mv short.bin data/cifar-100-binary/train.bin
expect_error 2 "data/cifar-100-binary/train.bin: 5000 bytes is not a whole number of 3074-byte CIFAR-100 records" data
{ record '\004\000' '\001'; record '\004\144' '\001'; } >data/cifar-100-binary/train.bin
expect_error 2 "train.bin: record 1: fine label 100 is out of range 0..99" data
"$VGGTOP" data --help >out.txt 2>&1 || fail "vggtop data --help: exit $?"
grep -q '^usage: vggtop data' out.txt || fail "vggtop data --help: no usage line"

finish
