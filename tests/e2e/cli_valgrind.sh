#!/bin/sh
# End-to-end: "no leaks in valgrind on the CLI paths". Runs the vggtop commands under valgrind's memcheck
# (--help, summary, data, a tiny mlp train on the default data set, the run-reading commands and evaluate
# on its run directory, export --keras/--onnx, train --weights, predict, the usage and data errors, a corrupt
# checkpoint, a one-step bench) and fails on
# any memory error, any definitely or indirectly lost block, a file descriptor left open at exit, or an
# exit status other than the expected one.
# "Still reachable" and "possibly lost" blocks are not counted: OpenBLAS keeps its thread pool's buffers
# until the process ends. No suppressions are needed today; if OpenBLAS or libc ever report false errors,
# tests/e2e/valgrind.supp may name their internals (never vggtop's code) and is then used automatically.
# The workloads are tiny because memcheck runs the program some 30 times slower.
# Memcheck runs every thread on one core and nothing here waits on a clock or a signal, so it runs beside
# another script:
# e2e: concurrent
. "$(dirname "$0")/lib/prologue.sh"
command -v valgrind >/dev/null 2>&1 || fatal "valgrind is not installed (make deps installs it)"
supp=
[ -f tests/e2e/valgrind.supp ] && supp=--suppressions=tests/e2e/valgrind.supp

# vg STATUS ARGS...: runs `vggtop ARGS` under memcheck; checks the exit status, valgrind's verdict (status 99
# means errors or leaks) and the file descriptors open at exit (only those inherited from the shell may be).
# OpenBLAS's kernel is chosen for valgrind's sake, in valgrind's environment only: valgrind 3.19 cannot run
# AVX-512 (a SkylakeX kernel dies with SIGILL) and emulates FMA one element at a time in software (the Haswell
# kernel it would pick makes a step some 15 times slower); the SSE3 Prescott kernel runs on any x86-64.
coretype=
[ "$(uname -m)" = x86_64 ] && coretype=OPENBLAS_CORETYPE=Prescott
# vggtop restarts itself once to set its libraries' environment (nn_blas_choose_kernel), which would leave
# valgrind behind: the environment is set here as the restart would set it, and VGGTOP_RESTARTED says so.
restart="VGGTOP_RESTARTED=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4"
n=0
vg() {
    want=$1; shift
    n=$((n + 1))
    log="$TMP/vg.$lane.$n.log"
    # shellcheck disable=SC2086 # $coretype and $supp are empty or one word, $restart three
    env -u OPENBLAS_CORETYPE $coretype $restart valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 --track-fds=yes $supp --log-file="$log" "$VGGTOP" "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" -eq 99 ]; then
        fail "vggtop $*: valgrind reports errors or leaks:"
        head -n 80 "$log" >&2
        return
    fi
    if [ "$rc" -ne "$want" ]; then
        fail "vggtop $* exited $rc, expected $want; stderr: $(head -c 400 "$err")"
        grep -v -e 'FILE DESCRIPTORS' -e 'Open file descriptor' -e 'inherited from parent' -e '^==[0-9]*== *$' \
            "$log" | head -n 40 >&2
        return
    fi
    # --track-fds lists every descriptor open at exit; one not "<inherited from parent>" is ours, leaked.
    awk '/Open file descriptor/ { pending = $0; next }
         pending != "" { if ($0 !~ /inherited from parent/) { print pending; print; bad = 1 }; pending = "" }
         END { exit bad }' "$log" >"$TMP/fds.$lane" || { fail "vggtop $*: file descriptor left open at exit:"; cat "$TMP/fds.$lane" >&2; }
}
# expect PATTERN FILE WHAT: the command did what it is for (so a clean run is not an empty one).
expect() { grep -q -- "$1" "$2" || fail "$3: no '$1' in its output: $(head -c 300 "$2")"; }

# Two lanes of commands run at once (memcheck runs a program on one core): those without a run directory,
# and a training run with the commands that read it. Each lane has its own output files and counts.
lane_plain() {
# ---- commands without a run directory ---------------------------------------------------------------------
vg 0 --help
expect '^usage: vggtop' "$out" "--help"
vg 0 summary --model vgg16
expect '^Total params: 34,006,948$' "$out" "summary --model vgg16"
vg 2 summary --model vgg16 --input 16x16x3
expect 'too small' "$err" "summary of a 16x16 vgg16"
vg 0 data
expect '^classes ' "$out" "data"
vg 2 data --data "$TMP/no-such-dir"
expect 'no-such-dir' "$err" "data --data with a missing folder"
# The CIFAR-100 python version (the pickle reader, and the tarball through libarchive), good and refused.
fix=$(pwd)/tests/fixtures/data
vg 0 data --data "$fix/cifar-100-python.tar.gz"
expect '^format       CIFAR-100 python$' "$out" "data on the python tarball"
vg 0 data --data "$fix/cifar-100-python-p5" --labels coarse
expect '^classes      20$' "$out" "data on a protocol 5 copy"
mkdir "$TMP/evil" && cp "$fix/cifar-100-python/"* "$TMP/evil/" && cp "$fix/pickle-bad/global_os_system" "$TMP/evil/train"
vg 2 data --data "$TMP/evil"
expect "global 'os.system' is refused" "$err" "data on a pickle that calls code"
# A download (libcurl, libcrypto, libarchive) from a local file:// tarball, then one with a wrong MD5.
if command -v python3 >/dev/null 2>&1 && python3 tests/tools/cifar100_tarballs.py "$TMP/www"; then
    md5=$(md5sum "$TMP/www/cifar-100-binary.tar.gz" | cut -d' ' -f1)
    vg 0 data --download --url "file://$TMP/www/cifar-100-binary.tar.gz" --md5 "$md5" --data "$TMP/dl/cifar-100-binary"
    expect 'CIFAR-100 is in' "$out" "data --download"
    vg 2 data --download --url "file://$TMP/www/evil-dotdot.tar.gz" --md5 "$(md5sum "$TMP/www/evil-dotdot.tar.gz" |
        cut -d' ' -f1)" --data "$TMP/dl2/cifar-100-binary"
    expect 'leaves the directory' "$err" "data --download of a tarball with ../"
else
    fail "python3 tests/tools/cifar100_tarballs.py failed: the download was not checked"
fi

# ---- bench: one step of mlp, and the metrics workload (the sgemm reference is too big for valgrind) ---------
vg 0 bench --model mlp --steps 1 --warmup 0 --threads 1 --skip sgemm,data
expect '^mlp ' "$out" "bench"

}

lane_run() {
# ---- a tiny training run, then every command that reads its run directory ---------------------------------
run="$TMP/run"
vg 0 train --model mlp --limit-train 64 --limit-test 32 --epochs 1 --threads 1 --run-dir "$run"
expect '^Finished: 1 epoch' "$out" "train"
if [ -f "$run/checkpoint.bin" ]; then
    cp -R "$run" "$TMP/run2"
    vg 0 history "$run"
    expect '1 of 1 epoch' "$out" "history"
    vg 0 report "$run"
    expect 'weighted avg' "$out" "report"
    vg 0 confusion "$run"
    vg 0 roc "$run"
    expect '^macro' "$out" "roc"
    vg 0 compare "$run" "$TMP/run2"
    expect 'val_acc per epoch' "$out" "compare"
    vg 0 evaluate "$run"
    expect 'val_acc' "$out" "evaluate"
    # Resuming for a second epoch, on OpenBLAS's default thread pool this time.
    vg 0 train --resume "$TMP/run2" --epochs 2
    expect '^Finished: 2 epochs' "$out" "train --resume"

    # The model out as Keras HDF5 and ONNX, back in with --weights, refused when truncated; predict on a PNG
    # and refused on a truncated one (issue 24).
    vg 0 export "$run" --keras "$TMP/w.h5"
    vg 0 export "$run" --onnx "$TMP/w.onnx"
    vg 0 train --model mlp --limit-train 32 --limit-test 16 --epochs 1 --threads 1 --run-dir "$TMP/run3" \
        --weights "$TMP/w.h5"
    expect '^Finished: 1 epoch' "$out" "train --weights"
    head -c 3000 "$TMP/w.h5" >"$TMP/cut.h5"
    vg 2 train --model mlp --epochs 1 --threads 1 --run-dir "$TMP/run4" --weights "$TMP/cut.h5"
    expect 'truncated' "$err" "train --weights of a truncated file"
    printf '\211PNG\r\n\032\n' >"$TMP/cut.png"
    vg 2 predict "$run" "$TMP/cut.png"
    expect 'cut.png' "$err" "predict of a truncated PNG"
    if /usr/bin/python3 -c 'from PIL import Image; Image.new("RGB", (40, 30), (200, 100, 50)).save("'"$TMP"'/i.png")'
    then
        vg 0 predict "$run" "$TMP/i.png"
        expect '  1\. ' "$out" "predict"
    fi

    # Corrupt checkpoints are refused (exit 2) without leaking what was read so far.
    bad="$TMP/bad"
    mkdir "$bad"
    cp "$run/config.json" "$run/history.csv" "$bad/"
    head -c 1000 "$run/checkpoint.bin" >"$bad/checkpoint.bin"
    vg 2 evaluate "$bad"
    expect 'checkpoint.bin' "$err" "evaluate of a truncated checkpoint"
    cp "$run/checkpoint.bin" "$bad/checkpoint.bin"
    printf '\377' | dd of="$bad/checkpoint.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
    vg 2 evaluate "$bad"
    expect 'checkpoint.bin' "$err" "evaluate of a corrupt checkpoint"
    vg 2 train --resume "$bad"
    expect 'checkpoint.bin' "$err" "train --resume from a corrupt checkpoint"
else
    fail "train wrote no $run/checkpoint.bin: the run-directory commands were not checked"
fi

}

for lane in plain run; do
    (
        out="$TMP/$lane.out" err="$TMP/$lane.err"
        "lane_$lane"
        echo "$n" >"$TMP/$lane.count"
        exit "$fails"
    ) &
    eval "pid_$lane=\$!"
done
# shellcheck disable=SC2154 # set by the eval above
wait "$pid_plain" || fails=$((fails + $?))
# shellcheck disable=SC2154
wait "$pid_run" || fails=$((fails + $?))
n=$(($(cat "$TMP/plain.count" 2>/dev/null || echo 0) + $(cat "$TMP/run.count" 2>/dev/null || echo 0)))
echo "$E2E_NAME: $n commands ran under memcheck"
finish
