#!/bin/sh
# Adversarial end-to-end tests (issue 15): hostile files, lying run directories and faults. Each case is
# a row of a table: a way to damage a copy of a real run (or a data set), the command to run against it, the
# exit status it must give and a phrase its one-line message must hold, within a time limit (a hang fails).
# The table runs against the release binary and again against the ASan+UBSan one (any sanitizer report is
# a failure there). Faults that need a small file system (a full disk, no inodes, read-only) mount a tmpfs
# of their own, which needs root (as CI runs); elsewhere those cases are skipped and said so.
. "$(dirname "$0")/lib/prologue.sh"
top=$TOP tmp=$TMP
pids=""
mounts=""
at_exit 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; for m in $mounts; do umount "$m" 2>/dev/null; done'
ASAN_BIN="$top/build/asan/vggtop"
mkdir -p "$top/build"
# The lock: make test may be building the ASan variant at this moment (Makefile, sanitizer-bins).
flock "$top/build/.asan.lock" make --no-print-directory -s VARIANT=asan build/asan/vggtop >/dev/null || { echo "hostile.sh: FAIL: cannot build $ASAN_BIN" >&2; exit 1; }
cd "$tmp" || exit 1

ARGS="--model mlp --limit-train 600 --limit-test 100 --batch-size 50 --threads 1"
"$VGGTOP" train $ARGS --epochs 2 --run-dir base >/dev/null 2>&1 || { echo "hostile.sh: FAIL: base run exited $?" >&2; exit 1; }

# ---- the table ----------------------------------------------------------------------------------------------
# expect STATUS PHRASE SETUP -- COMMAND...: SETUP (a shell function) damages a fresh copy of the base run in
# ./r, then COMMAND runs (RUN stands for the copy) with at most 20 s; its status and message are checked, and
# files the case marks as precious (precious FILE...) must be byte-identical afterwards. Whatever refuses (a
# status other than 0) leaves the whole run directory as it found it, byte for byte, run.lock included.
# shape DIR: every entry's name, type and size, and every regular file's checksum (FIFOs are not opened).
shape() { (cd "$1" && find . -printf '%p %y %s\n' | sort && find . -type f -exec cksum {} + | sort); }
precious_files=""
precious() { precious_files="$*"; for f in $*; do cp "r/$f" "keep.$f"; done; }
run_case() { # bin status phrase setup command...
    bin=$1 want=$2 phrase=$3 setup=$4
    shift 5 # and the "--"
    rm -rf r keep.*
    cp -r base r
    precious_files=""
    $setup
    shape r >before.shape
    set -- $(echo "$@" | sed "s#RUN#$tmp/r#g")
    timeout 20 "$bin" "$@" >out 2>err </dev/null
    got=$?
    what="[$bin] $setup: vggtop $*"
    [ "$got" -eq 124 ] && { fail "$what: hung (killed after 20 s)"; return; }
    [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want ($(head -c 300 err))"
    [ "$want" -eq 0 ] || [ "$(grep -c . err)" -eq 1 ] || fail "$what: stderr is not one line: $(head -c 400 err)"
    grep -q -- "$phrase" err out || fail "$what: no '$phrase' in: $(head -c 300 err)"
    grep -q -E 'Sanitizer|runtime error' err && fail "$what: sanitizer report: $(grep -m2 -E 'Sanitizer|runtime error' err)"
    grep -q "$(printf '\033')" err out && fail "$what: an escape sequence from a file reached the terminal"
    for f in $precious_files; do cmp -s "r/$f" "keep.$f" || fail "$what: changed $f"; done
    [ "$want" -eq 0 ] || { shape r | cmp -s before.shape - || fail "$what: refused, but changed the run: $(shape r |
        diff before.shape - | grep '^[<>]' | head -4 | tr '\n' ' ')"; }
}

# Damages. Each works on ./r, a copy of a finished 2-epoch run.
fifo_config() { rm r/config.json; mkfifo r/config.json; }
fifo_history() { rm r/history.csv; mkfifo r/history.csv; }
fifo_progress() { rm r/progress.json; mkfifo r/progress.json; }
fifo_predictions() { rm r/predictions.csv; mkfifo r/predictions.csv; }
fifo_checkpoint() { rm r/checkpoint.bin; mkfifo r/checkpoint.bin; }
zero_predictions() { rm r/predictions.csv; ln -s /dev/zero r/predictions.csv; }
dir_checkpoint() { rm r/checkpoint.bin; mkdir r/checkpoint.bin; precious predictions.csv; }
loop_history() { rm r/history.csv; ln -s history.csv r/history.csv; }
huge_config() { head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >>r/config.json; }
classes_20000() {
    { printf 'index,true,pred'; i=0; while [ $i -lt 20000 ]; do printf ',p%d' $i; i=$((i + 1)); done; echo; } >r/predictions.csv
}
progress_huge() { sed -i 's/"epoch":[^,]*/"epoch": 1e300/' r/progress.json; }
progress_pid_max() { sed -i 's/"pid":[^,]*/"pid": 4294967295/' r/progress.json; }
# (The base run is on Fashion-MNIST, whose first class is "T-shirt/top".)
escape_names() { sed -i 's#"T-shirt/top"#"\\u001b]0;owned\\u0007"#' r/config.json; }
bad_utf8_name() { sed -i 's#"T-shirt/top"#"T-shirt\xff"#' r/config.json; }
bad_fine_to_coarse() {
    sed -i 's/"n_test":/"coarse_names": ["a", "b"], "fine_to_coarse": [0, 0, 0, 0, 0, 0, 0, 0, 0, 7], &/' r/config.json
}
# A checkpoint whose CRC is right but whose first weight is NaN, or whose learning rate is infinite.
recrc() { head -c -4 r/checkpoint.bin >ck.body; gzip -c ck.body | tail -c 8 | head -c 4 >ck.crc; cat ck.body ck.crc >r/checkpoint.bin; }
nan_weight() {
    printf '\000\000\300\177' | dd of=r/checkpoint.bin bs=1 seek=96 conv=notrunc 2>/dev/null
    recrc
    precious predictions.csv report.txt confusion.csv progress.json history.csv
}
inf_lr() {
    # The blob (its length E at offset 88) ends 4 bytes (the CRC) before the end; the rate is its 96th byte on.
    e=$(od -An -tu8 -j88 -N8 r/checkpoint.bin | tr -d ' ')
    printf '\000\000\000\000\000\000\360\177' |
        dd of=r/checkpoint.bin bs=1 seek=$(($(stat -c %s r/checkpoint.bin) - 4 - e + 96)) conv=notrunc 2>/dev/null
    recrc
    precious progress.json history.csv
}
zero_lr() { # a learning rate of 0 in a run without a cosine schedule (issue 22: it was resumed)
    # The rate's place found as inf_lr finds it: from the blob's stored length, whatever precedes the blob
    # (checkpoint version 2 puts the optimizer's step count and moments there).
    e=$(od -An -tu8 -j88 -N8 r/checkpoint.bin | tr -d ' ')
    printf '\000\000\000\000\000\000\000\000' |
        dd of=r/checkpoint.bin bs=1 seek=$(($(stat -c %s r/checkpoint.bin) - 4 - e + 96)) conv=notrunc 2>/dev/null
    recrc
}
# The files of issue 14's screens and commands (per_class.csv, layers.csv, predictions.json).
fifo_layers() { rm r/layers.csv; mkfifo r/layers.csv; }
fifo_pred_epoch() { rm r/predictions.json; mkfifo r/predictions.json; }
# Supports whose sum overflows a long (a signed overflow, UBSan's report, before they were bounded).
per_class_huge() { sed -i '2s/[0-9]*$/9223372036854775807/; 3s/[0-9]*$/9223372036854775807/' r/per_class.csv; }
layers_dead_share() { sed -i '2s/^\(1,[^,]*,[^,]*,[^,]*,[^,]*\),[^,]*,/\1,-5,/' r/layers.csv; }
dir_history() { rm r/history.csv; mkdir r/history.csv; }
wrong_model() { sed -i 's#"mlp"#"cnn"#' r/config.json; }
# The same on a run without run.lock (copied, or made before the lock existed): the refusal makes none.
wrong_model_no_lock() { wrong_model; rm -f r/run.lock; }
# The data set the run was made with is gone: config.json's absolute data.path (what the run remembers) names
# a place that holds nothing.
no_data() { sed -i 's#"path":[[:space:]]*"[^"]*"#"path": "/nowhere"#' r/config.json; }
escape_model() { sed -i 's#"mlp"#"m\\u001b[2J"#' r/config.json; }
finished() { precious progress.json history.csv checkpoint.bin; }
nothing() { :; }

table() { # the binary
    b=$1
    # 5. special files never hang a reader, and are named for what they are
    run_case "$b" 2 "FIFO" fifo_config -- report RUN
    run_case "$b" 2 "FIFO" fifo_history -- history RUN
    run_case "$b" 0 "FIFO" fifo_progress -- history RUN
    run_case "$b" 2 "FIFO" fifo_predictions -- roc RUN
    run_case "$b" 2 "FIFO" fifo_checkpoint -- evaluate RUN
    run_case "$b" 2 "FIFO" fifo_checkpoint -- train --resume RUN --epochs 3
    run_case "$b" 2 "character device" zero_predictions -- report RUN
    run_case "$b" 2 "more than the" huge_config -- report RUN
    run_case "$b" 0 "more than the" huge_config -- history RUN
    # 6. sizes are not taken on trust
    run_case "$b" 2 "1 to 1000 classes" classes_20000 -- report RUN
    # 8. numbers from files are checked before arithmetic
    # (issue 22 1: history needs only history.csv; a damaged progress.json is named and done without)
    run_case "$b" 0 '"epoch" is 1e+300' progress_huge -- history RUN
    run_case "$b" 0 '"pid" is 4.29497e+09' progress_pid_max -- history RUN
    # 9. class names that would drive a terminal or break JSON
    run_case "$b" 2 "control character" escape_names -- report RUN
    run_case "$b" 2 "not UTF-8" bad_utf8_name -- report RUN
    run_case "$b" 2 '"model": not printable text' escape_model -- report RUN
    run_case "$b" 0 '"model": not printable text' escape_model -- history RUN
    # 13. a bad superclass map is refused without a leak (LeakSanitizer in the ASan binary)
    run_case "$b" 2 "fine_to_coarse" bad_fine_to_coarse -- report RUN
    # 4. checkpoints that pass the CRC but hold nonsense, named, with nothing replaced
    run_case "$b" 2 "checkpoint.bin: not a usable vggtop checkpoint: parameter 0 is not a finite" nan_weight -- evaluate RUN
    run_case "$b" 2 "checkpoint.bin: not a usable vggtop checkpoint: parameter 0" nan_weight -- train --resume RUN --epochs 3
    run_case "$b" 2 "learning rate inf" inf_lr -- train --resume RUN --epochs 3
    run_case "$b" 2 "learning rate 0 is not" zero_lr -- train --resume RUN --epochs 3
    # 3. a refused resume writes nothing
    run_case "$b" 2 "already done 2" finished -- train --resume RUN --epochs 1
    # issue 22 2. refusals that once still wrote (curve.csv, run.lock's pid): the run is left as it was
    run_case "$b" 2 "history.csv: is a directory" dir_history -- train --resume RUN --epochs 3
    run_case "$b" 2 "holds a mlp" wrong_model -- evaluate RUN
    run_case "$b" 2 "holds a mlp" wrong_model -- train --resume RUN --epochs 3
    run_case "$b" 2 "holds a mlp" wrong_model_no_lock -- evaluate RUN
    run_case "$b" 2 "holds a mlp" wrong_model_no_lock -- train --resume RUN --epochs 3
    run_case "$b" 2 "nowhere" no_data -- evaluate RUN
    run_case "$b" 2 "nowhere" no_data -- train --resume RUN --epochs 3
    # 12. messages that name the real cause
    run_case "$b" 2 "is a directory" dir_checkpoint -- evaluate RUN
    run_case "$b" 2 "loop of symbolic links" loop_history -- history RUN
    run_case "$b" 2 "--digits is not an option of history" nothing -- history RUN --digits 3
    # per_class.csv, layers.csv and predictions.json: the same bounded reads, every number checked
    run_case "$b" 2 "FIFO" fifo_layers -- layers RUN
    run_case "$b" 2 "FIFO" fifo_pred_epoch -- report RUN
    run_case "$b" 2 "line 2: support is not a whole number" per_class_huge -- report RUN --epoch 1
    run_case "$b" 2 "line 2: dead_relu is not a number in 0..1" layers_dead_share -- layers RUN
}
table "$VGGTOP"
table "$ASAN_BIN"

# 12. compare names its limit
set --
i=0
while [ $i -lt 65 ]; do set -- "$@" base; i=$((i + 1)); done
"$VGGTOP" compare "$@" >out 2>err
[ $? -eq 2 ] && grep -q "more than the 64" err || fail "compare of 65 runs: $(cat err)"
# Runs without a finished epoch: one line on stderr (it was a note and an error), naming none kept.
for d in noep1 noep2; do cp -r base $d; rm $d/history.csv; done
"$VGGTOP" compare noep1 noep2 >out 2>err
st=$?
[ $st -eq 2 ] && [ "$(grep -c . err)" -eq 1 ] && grep -q "none of the runs has a finished epoch" err ||
    fail "compare of runs without epochs: exit $st, stderr: $(cat err)"

# 10. lost output is a failure
for cmd in "report base" "confusion base" "roc base" "history base" "compare base" "layers base" \
    "report base --epoch 1" "report base --history 1"; do
    $VGGTOP $cmd >/dev/full 2>err
    st=$?
    [ $st -eq 1 ] && grep -q "cannot write the output" err || fail "$cmd >/dev/full: exit $st ($(cat err))"
done

# 9. names files: an escape sequence in a data set's names is escaped as ls shows it, never sent raw to the
# terminal, and the data set trains (issue 22: it was refused) with config.json strict UTF-8 JSON (a made-up
# CIFAR-100 of 10 black images a split, every label 0, with its own fine_label_names.txt)
mkdir -p esc
head -c $((10 * 3074)) /dev/zero >esc/train.bin
head -c $((10 * 3074)) /dev/zero >esc/test.bin
i=1
while [ $i -le 100 ]; do
    if [ $i -eq 10 ]; then printf 'x\033[2Jy\n'; else echo "class$i"; fi
    i=$((i + 1))
done >esc/fine_label_names.txt
"$VGGTOP" data --data esc >out 2>err
st=$?
[ $st -eq 0 ] || fail "fine_label_names.txt with ESC [2J: exit $st ($(cat err))"
"$VGGTOP" train --data esc --model mlp --epochs 1 --batch-size 10 --threads 1 --run-dir esc-run >out 2>err ||
    fail "training on a data set with an odd class name: exit $? ($(tail -1 err))"
grep -q "$(printf '\033')" out err && fail "a raw escape from a names file reached the terminal"
python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8", errors="strict"))' esc-run/config.json ||
    fail "config.json is not strict UTF-8 JSON"
grep -qF '"x\\e[2Jy"' esc-run/config.json || fail "the odd name is not in config.json as x\\e[2Jy"
grep -q "$(printf '\033')" out err && fail "fine_label_names.txt: the escape sequence reached the terminal"

# A FIFO in place of a data file is refused at once.
mkdir -p ff && mkfifo ff/train.bin && : >ff/test.bin
timeout 20 "$VGGTOP" data --data ff >out 2>err
st=$?
[ $st -eq 2 ] && grep -q "FIFO" err || fail "FIFO train.bin: exit $st ($(cat err))"

# ---- 1 and 2: one process per run, liveness by the lock -----------------------------------------------------
"$VGGTOP" train $ARGS --epochs 1 --run-dir two >/dev/null 2>&1 || fail "run 'two' exited $?"
"$VGGTOP" train --resume two --epochs 400 >first.out 2>&1 &
first=$!
pids="$pids $first"
i=0
while [ $i -lt 200 ] && ! grep -q '"state":.*"training"' two/progress.json 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
"$VGGTOP" train --resume two --epochs 500 >second.out 2>&1
st=$?
[ $st -eq 2 ] && grep -q "being trained by process $first" second.out || fail "second resume: exit $st ($(cat second.out))"
"$VGGTOP" evaluate two >ev.out 2>&1
st=$?
[ $st -eq 2 ] && grep -q "being trained by process $first" ev.out || fail "evaluate of a live run: exit $st ($(cat ev.out))"
kill -9 $first
wait $first 2>/dev/null
# The killed run's pid now names nothing (or, later, someone else): the lock decides, so resume goes on.
sed -i "s/\"pid\":[^,]*/\"pid\": $$/" two/progress.json
"$VGGTOP" history two >hist.out 2>&1 || fail "history of the killed run: $(cat hist.out)"
grep -q "is gone" hist.out || fail "history does not say the killed run's process is gone: $(head -3 hist.out)"
done_epochs=$(($(wc -l <two/history.csv) - 1))
"$VGGTOP" train --resume two --epochs $((done_epochs + 1)) >third.out 2>&1 ||
    fail "resume after kill -9 (pid reused): $(tail -2 third.out)"

# ---- faults on a small file system ----------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! mkdir -p small || ! mount -t tmpfs -o size=6m tmpfs small 2>/dev/null; then
    echo "hostile.sh: skip the disk-full, inode and read-only cases: mounting a tmpfs needs root"
else
    mounts="$tmp/small $mounts"
    # Disk full at a checkpoint write: exit 1 with the reason, the previous checkpoint whole, and resumable
    # once there is room again. (mlp on 28x28 images: a checkpoint of about 4.3 MB; two do not fit in 6 MB.)
    "$VGGTOP" train $ARGS --epochs 3 --run-dir small/run >full.out 2>&1
    st=$?
    [ $st -eq 1 ] || fail "disk full: exit $st, expected 1 ($(tail -2 full.out))"
    grep -q "No space left on device" full.out || fail "disk full: no reason given: $(tail -2 full.out)"
    ls small/run/*.tmp.* >/dev/null 2>&1 && fail "disk full: temporary files left behind"
    mount -o remount,size=40m small
    "$VGGTOP" evaluate small/run >/dev/null 2>&1 || fail "disk full: the kept checkpoint does not evaluate"
    "$VGGTOP" train --resume small/run >resumed.out 2>&1 || fail "disk full: resume with room again: $(tail -2 resumed.out)"
    [ "$(wc -l <small/run/history.csv)" -eq 4 ] || fail "disk full: the resumed run did not finish its 3 epochs"

    # Read-only: a resume is refused with the reason and changes nothing.
    cp small/run/progress.json ro.progress
    mount -o remount,ro small
    "$VGGTOP" train --resume small/run --epochs 4 >ro.out 2>&1
    st=$?
    [ $st -eq 1 ] && grep -q "Read-only file system" ro.out || fail "read-only: exit $st ($(tail -2 ro.out))"
    cmp -s small/run/progress.json ro.progress || fail "read-only: progress.json changed"
    umount small

    # Out of inodes: a new run says so.
    mount -t tmpfs -o size=20m,nr_inodes=3 tmpfs small
    "$VGGTOP" train $ARGS --epochs 1 --run-dir small/a/b/c >inode.out 2>&1
    st=$?
    [ $st -eq 1 ] && [ "$(grep -c . inode.out)" -eq 1 ] && grep -q "No space left on device" inode.out ||
        fail "out of inodes: exit $st ($(tail -2 inode.out))"
    umount small

    # The run directory deleted, or replaced by another run moved into its place, while training: the run
    # stops within seconds with status 1 and one clear line, and writes nothing into a newcomer.
    mount -t tmpfs -o size=40m tmpfs small
    disturb_training() { # name, then a command that does the damage to small/NAME
        "$VGGTOP" train --model mlp --limit-train 20000 --limit-test 100 --epochs 50 --threads 1 \
            --run-dir "small/$1" >"$1.out" 2>&1 &
        g=$!
        pids="$pids $g"
        i=0
        while [ $i -lt 200 ] && ! grep -q '"state":.*"training"' "small/$1/progress.json" 2>/dev/null; do
            sleep 0.1
            i=$((i + 1))
        done
        $2
        i=0
        while [ $i -lt 300 ] && kill -0 $g 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
        if kill -0 $g 2>/dev/null; then
            fail "$1: the run still goes on 30 s after its directory went"
            return
        fi
        wait $g
        st=$?
        [ $st -eq 1 ] && grep -q "removed or replaced while training" "$1.out" || fail "$1: exit $st ($(tail -1 "$1.out"))"
    }
    remove_it() { rm -rf small/gone; }
    replace_it() { mv small/moved small/moved.old && cp -r "$tmp/base" small/moved; }
    disturb_training gone remove_it
    disturb_training moved replace_it
    diff -r "$tmp/base" small/moved >/dev/null || fail "moved: the newcomer's files were changed"
    umount small
    mounts=""
fi

[ "$fails" -eq 0 ] && echo "hostile.sh: all passed"
[ "$fails" -eq 0 ]
