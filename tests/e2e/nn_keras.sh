#!/bin/sh
# End-to-end: Keras HDF5 weights out and in (issue 24). Fixture files are made here with h5py in Keras'
# own layout (tests/tools/keras_h5.py, random weights; no Keras on the test machines: a PyTorch model built
# from the file and numpy are the reference forward passes). Covers: a Keras-layout file loads (train
# --weights) and gives the predictions PyTorch gives on the same file; with --freeze-base, the
# convolutional base comes out of an epoch bit for bit as it went in while the top trains; export --keras
# writes the layout h5py writes for Keras (compared attribute by attribute with a reference file), and
# numpy on the exported file gives vggtop's predictions within 1e-4 relative; --weights imagenet takes
# keras.applications' file from the Keras cache (a fixture with its own MD5; downloaded there from a file://
# mirror when it is missing), applies caffe preprocessing
# (numpy with caffe's BGR and means gives the run's predictions) and records it; hostile files (truncated,
# not HDF5, a kernel of another shape or type, a layer missing, a kernel declared as 2^40 floats, three
# weights) exit 2 with one line naming the file and leave no run directory.
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
PY=/usr/bin/python3
TOOL=$TOP/tests/tools/keras_h5.py
DATA=$TOP/tests/fixtures/data/cifar-100-python # 3 training and 2 test images, 32x32x3, 100 classes
"$PY" -c 'import h5py, numpy' 2>/dev/null || fatal "$PY has no h5py or numpy (python3-h5py, python3-numpy)"
cd "$TMP" || exit 1
train() { "$VGGTOP" train --data "$DATA" --epochs 1 --threads 1 "$@"; }

# A Keras-layout file in, an epoch with the base frozen, the weights out.
"$PY" "$TOOL" make in.h5 --model cnn --input 32,32,3 --classes 100 --seed 3 || fatal "keras_h5.py make"
train --model cnn --run-dir run --weights in.h5 --freeze-base >out 2>err || fatal "train --weights: $(cat err)"
grep -q '^Trainable params: 2,148,964$' out && grep -q '^Non-trainable params: 65,568$' out ||
    fail "the summary does not count the frozen base as non-trainable: $(grep params out)"
grep -q '"weights":.*"in.h5"' run/config.json || fail "config.json does not record the weights"
grep -q '"freeze_base":.*true' run/config.json || fail "config.json does not record --freeze-base"
grep -q '"trainable_params":.*2148964' run/config.json || fail "config.json trainable_params"
"$VGGTOP" export run --keras out.h5 2>err || fail "export --keras exited $?: $(cat err)"
"$PY" "$TOOL" same in.h5 out.h5 --layers conv --expect same || fail "the frozen base changed in an epoch"
"$PY" "$TOOL" same in.h5 out.h5 --layers dense --expect differ || fail "the top did not train"
"$PY" "$TOOL" forward out.h5 --data "$DATA" --predictions run/predictions.csv >fw ||
    fail "numpy on the exported weights disagrees with vggtop's predictions: $(cat fw)"
"$PY" "$TOOL" torch out.h5 --data "$DATA" --predictions run/predictions.csv >tw ||
    fail "PyTorch on the exported weights disagrees with vggtop's predictions: $(cat tw)"
# Imported as they are (a rate too small to move a float32 weight): the run's predictions are those of a
# PyTorch model built from the same file, for the cnn and the mlp.
for model in cnn mlp; do
    "$PY" "$TOOL" make "as-is-$model.h5" --model $model --input 32,32,3 --classes 100 --seed 5 ||
        fatal "keras_h5.py make as-is-$model"
    train --model $model --run-dir "as-is-$model" --weights "as-is-$model.h5" --lr 1e-30 >/dev/null 2>err ||
        fail "train --weights as-is-$model.h5: $(cat err)"
    "$PY" "$TOOL" torch "as-is-$model.h5" --data "$DATA" --predictions "as-is-$model/predictions.csv" >tw ||
        fail "PyTorch on the imported $model file disagrees with vggtop's predictions: $(cat tw)"
done
# Keras' layout, attribute by attribute, against a file h5py wrote the way Keras does.
"$PY" "$TOOL" make ref.h5 --model cnn --input 32,32,3 --classes 100 --seed 9 || fatal "keras_h5.py make ref"
"$PY" "$TOOL" layout out.h5 ref.h5 || fail "the exported layout differs from Keras'"
ls | grep -q '\.tmp\.' && fail "a temporary file was left"
# --best without best.bin, and flags that do not mix.
"$VGGTOP" export run --keras best.h5 --best 2>err; [ $? -eq 2 ] || fail "export --best without best.bin: not exit 2"
[ -e best.h5 ] && fail "a failed export left best.h5"
"$VGGTOP" export run --keras x.h5 --csv - 2>/dev/null; [ $? -eq 2 ] || fail "--keras with --csv: not exit 2"
"$VGGTOP" export run run --keras x.h5 2>/dev/null; [ $? -eq 2 ] || fail "--keras with two runs: not exit 2"

# A file of another number of classes: its predictions layer mismatches, refused unless --skip-mismatch
# (Keras' fine-tuning recipe: the base and fc1 loaded, predictions as initialised).
"$PY" "$TOOL" make ten.h5 --model cnn --input 32,32,3 --classes 10 --seed 4 || fatal "keras_h5.py make ten"
train --model cnn --run-dir skip --weights ten.h5 >/dev/null 2>err; [ $? -eq 2 ] || fail "10 classes into 100"
grep -q "'predictions/kernel:0' has shape (512, 10) in the file, (512, 100) in the model" err ||
    fail "mismatch message: $(cat err)"
[ -e skip ] && fail "a refused run left its directory"
train --model cnn --run-dir skip --weights ten.h5 --skip-mismatch --freeze-base >/dev/null 2>err ||
    fail "--skip-mismatch: $(cat err)"
"$VGGTOP" export skip --keras skip.h5 && "$PY" "$TOOL" same ten.h5 skip.h5 --layers conv --expect same ||
    fail "--skip-mismatch did not load the base"

# Hostile files: one line naming the file, exit 2, no run directory.
hostile() { # NAME EXPECTED-TEXT
    train --model cnn --run-dir "r-$1" --weights "$1.h5" >/dev/null 2>err
    rc=$?
    [ $rc -eq 2 ] || fail "$1: exit $rc, not 2 ($(cat err))"
    [ "$(wc -l <err)" -eq 1 ] || fail "$1: not one line: $(cat err)"
    grep -q "$1.h5: .*$2" err || fail "$1: message $(cat err)"
    [ -e "r-$1" ] && fail "$1: a run directory was left"
}
head -c 4000 in.h5 >truncated.h5
hostile truncated "truncated: 4000 bytes"
printf 'not hdf5 at all\n' >text.h5
hostile text "not an HDF5 file"
"$PY" "$TOOL" make shape.h5 --model cnn --input 32,32,3 --classes 100 --break shape:block2_conv1 || fatal make
hostile shape "layer block2_conv1: 'block2_conv1/kernel:0' has shape (3, 3, 32, 65) in the file, (3, 3, 32, 64) in the model"
"$PY" "$TOOL" make int.h5 --model cnn --input 32,32,3 --classes 100 --break int:fc1 || fatal make
hostile int "layer fc1: 'fc1/kernel:0' is not floating point"
"$PY" "$TOOL" make drop.h5 --model cnn --input 32,32,3 --classes 100 --break drop:predictions || fatal make
hostile drop "layer predictions is not in the file"
"$PY" "$TOOL" make huge.h5 --model cnn --input 32,32,3 --classes 100 --break huge:fc1 || fatal make
hostile huge "has shape (1048576, 1048576) in the file, (4096, 512) in the model"
"$PY" "$TOOL" make count.h5 --model cnn --input 32,32,3 --classes 100 --break count:block1_conv2 || fatal make
hostile count "layer block1_conv2 has 3 weights in the file"

# --weights imagenet: keras.applications' notop file in the Keras cache of a HOME of our own.
mkdir -p home/.keras/models
notop=home/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
"$PY" "$TOOL" make "$notop" --model vgg16 --input 32,32,3 --classes 1 --notop --seed 5 || fatal "make notop"
HOME=$TMP/home train --model vgg16 --resize 32 --run-dir inet --weights imagenet 2>err; [ $? -eq 2 ] ||
    fail "a cache file of another MD5 was taken"
grep -q "not keras.applications' file" err || fail "MD5 message: $(cat err)"
sum=$(md5sum "$notop" | cut -d' ' -f1)
HOME=$TMP/home VGGTOP_IMAGENET_MD5=$sum train --model vgg16 --resize 32 --run-dir inet --weights imagenet \
    --freeze-base --lr 0.001 >out 2>err || fail "--weights imagenet: $(cat err)"
grep -q '"preprocessing":.*"caffe"' inet/config.json || fail "config.json does not record caffe preprocessing"
"$VGGTOP" export inet --keras inet.h5 || fail "export of the imagenet run"
"$PY" "$TOOL" same "$notop" inet.h5 --layers conv --expect same || fail "the frozen ImageNet base changed"
# (1e-3: float32 through 13 convolutions of inputs up to 150; x / 255 instead of caffe would be far off.)
"$PY" "$TOOL" forward inet.h5 --data "$DATA" --caffe --rtol 1e-3 --predictions inet/predictions.csv >fw ||
    fail "numpy with caffe preprocessing disagrees with the imagenet run: $(cat fw)"
# evaluate prepares the test images as the run did (config.json's weights): the same predictions.
cp inet/predictions.csv inet-predictions.csv
HOME=$TMP/home "$VGGTOP" evaluate inet >/dev/null 2>err || fail "evaluate of the imagenet run: $(cat err)"
cmp -s inet/predictions.csv inet-predictions.csv || fail "evaluate predicts otherwise than the run (caffe lost?)"
# Not in the cache: downloaded there (a file:// mirror here), MD5 checked, then used.
mkdir -p mirror home2
cp "$notop" mirror/
HOME=$TMP/home2 VGGTOP_IMAGENET_URL=file://$TMP/mirror VGGTOP_IMAGENET_MD5=$sum train --model vgg16 --resize 32 \
    --run-dir inet3 --weights imagenet >/dev/null 2>err || fail "--weights imagenet with a download: $(cat err)"
cmp -s "$notop" "home2/.keras/models/${notop##*/}" || fail "the download is not in the Keras cache"
ls home2/.keras/models | grep -q '\.part$' && fail "the download left its part file"
HOME=$TMP/home3 VGGTOP_IMAGENET_URL=file://$TMP/mirror VGGTOP_IMAGENET_MD5=00000000000000000000000000000000 \
    train --model vgg16 --resize 32 --run-dir inet4 --weights imagenet >/dev/null 2>err
[ $? -eq 2 ] && grep -q "MD5 $sum, expected 0000" err || fail "a download of another MD5: $(cat err)"
[ -e "home3/.keras/models/${notop##*/}" ] && fail "a download of another MD5 was kept"
HOME=$TMP/home VGGTOP_IMAGENET_MD5=$sum train --model cnn --run-dir inet2 --weights imagenet 2>err
[ $? -eq 2 ] && grep -q "vgg16 and vgg19, not cnn" err || fail "imagenet for a cnn: $(cat err)"
finish
