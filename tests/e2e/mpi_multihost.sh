#!/bin/sh
# End-to-end: data-parallel training across emulated hosts. Two or three network namespaces (hosts h1..h3,
# each its own address and host name, tests/e2e/lib/netns.sh) joined by a bridge; mpirun on h1 starts the
# other ranks through an rsh agent that enters their namespace (tests/tools/netns-rsh.sh), and the ranks talk
# over Open MPI's TCP transport only (no shared memory between hosts). Checks:
# - 16 steps of mlp on 2 hosts and on 3 hosts, and of cnn on 3 hosts, end with the 1-process history within 1e-3 in every metric;
#   config.json names the hosts, and each rank, alone on its host, takes all its cores by default;
# - --allreduce-precision bf16 and fp16: the same 16 steps, within 1e-3, at most 0.6 of float32's bytes on
#   the wire;
# - a cable with 200 us of latency each way (tests/tools/wire.c) delays a round trip by 400 us and trains
#   the 16 steps as the bridge does;
# - bench --dist prints the projection at 8, 32 and 128 ranks on 1, 10, 25 and 100 Gbit/s and, for cnn, the
#   efficiencies measured over the emulated links (tests/tools/multihost_links.sh).
# About 15 s on a 2-core machine. Needs root (as CI runs); elsewhere it says so in one line and is skipped (status 77).
. "$(dirname "$0")/lib/prologue.sh"
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/mpi.sh"
FAIL_FAST=1
netns_require
netns_up 3
cd "$TMP" || exit 1

SHORT="--model mlp --limit-train 512 --limit-test 200 --epochs 1 --batch-size 32 --seed 7 --augment --momentum 0.9"
"$VGGTOP" train $SHORT --threads 1 --run-dir one16 >one16.out 2>&1 || fail "1-process run of 16 steps exited $?"
netns_mpirun 2 h1,h2 "$VGGTOP" train $SHORT --run-dir two16 >two16.out 2>&1 ||
    { cat two16.out >&2; fail "2-host run of 16 steps exited $?"; }
close one16 two16 || { strip one16 >&2; strip two16 >&2; fail "2 hosts end 16 steps away from the 1-process history"; }
grep -q '"hosts":[[:space:]]*\["h1", "h2"\]' two16/config.json || fail "config.json: $(grep '"hosts"' two16/config.json)"
cores=$(getconf _NPROCESSORS_ONLN)
grep -q "\"threads_per_rank\":[[:space:]]*\\[$cores, $cores\\]" two16/config.json ||
    fail "config.json: a rank alone on its host does not take its $cores cores ($(grep threads_per two16/config.json))"
netns_mpirun 3 h1,h2,h3 "$VGGTOP" train $SHORT --threads 1 --run-dir three16 >three16.out 2>&1 ||
    { cat three16.out >&2; fail "3-host run of 16 steps exited $?"; }
close one16 three16 || { strip one16 >&2; strip three16 >&2; fail "3 hosts end 16 steps away from the 1-process history"; }
grep -q '"hosts":[[:space:]]*\["h1", "h2", "h3"\]' three16/config.json || fail "config.json: $(grep '"hosts"' three16/config.json)"
# --allreduce-precision: the same 16 steps with the gradients travelling as bf16 and as fp16 end within 1e-3
# of the 1-process history, and h2 sends at most 0.6 of the float32 run's bytes (the gradients are nearly
# all of them).
for p in float32 bf16 fp16; do
    before=$(netns_tx_bytes h2)
    netns_mpirun 2 h1,h2 "$VGGTOP" train $SHORT --threads 1 --allreduce-precision $p --run-dir $p >$p.out 2>&1 ||
        { cat $p.out >&2; fail "--allreduce-precision $p: mpirun exited $?"; }
    eval "sent_$p=$(($(netns_tx_bytes h2) - before))"
    close one16 $p || { strip one16 >&2; strip $p >&2; fail "--allreduce-precision $p: 16 steps away from 1 process"; }
    grep -q "\"allreduce_precision\":[[:space:]]*\"$p\"" $p/config.json || fail "config.json: $(grep allreduce_ $p/config.json)"
done
for p in bf16 fp16; do
    eval "sent=\$sent_$p"
    [ $((sent * 10)) -le $((sent_float32 * 6)) ] || fail "--allreduce-precision $p: h2 sent $sent bytes, float32 $sent_float32"
done
CNN="--model cnn --limit-train 512 --limit-test 200 --epochs 1 --batch-size 32 --seed 7 --threads 1"
"$VGGTOP" train $CNN --run-dir cnn1 >cnn1.out 2>&1 || fail "1-process cnn run exited $?"
netns_mpirun 3 h1,h2,h3 "$VGGTOP" train $CNN --run-dir cnn3 >cnn3.out 2>&1 ||
    { cat cnn3.out >&2; fail "3-host cnn run exited $?"; }
close cnn1 cnn3 || { strip cnn1 >&2; strip cnn3 >&2; fail "cnn on 3 hosts ends 16 steps away from 1 process"; }
# bench --dist: the fitted projection at 8, 32 and 128 ranks on each link, and cnn's measured efficiencies.
"$VGGTOP" bench --model cnn --steps 1 --warmup 0 --skip sgemm,data,metrics --dist >bench.out 2>&1 ||
    { cat bench.out >&2; fail "bench --dist exited $?"; }
grep -q '^  ranks  *1 Gbit/s  *10 Gbit/s  *25 Gbit/s  *100 Gbit/s$' bench.out &&
    [ "$(awk '($1 == 8 || $1 == 32 || $1 == 128) && NF == 13 && $3 == "/" && $13 ~ /%$/' bench.out | wc -l)" -eq 3 ] ||
    { cat bench.out >&2; fail "bench --dist: no projection at 8, 32 and 128 ranks on 4 links"; }
[ "$(grep -c '^  measured, [23] ranks on emulated hosts.*25 Gbit/s [0-9]*%$' bench.out)" -eq 2 ] ||
    { cat bench.out >&2; fail "bench --dist: cnn's measured efficiencies are missing"; }

# A cable with latency (tests/tools/wire.c: this kernel has no netem): 2 hosts 200 us apart each way. A byte's
# round trip takes at least the 400 us, and the 16 steps give the bridge's history, digit for digit.
netns_down
netns_up 2 200 10
ip netns exec "${NETNS}h2" python3 "$TOP/tests/tools/tcp_rtt.py" serve 5999 &
rtt=$(ip netns exec "${NETNS}h1" python3 "$TOP/tests/tools/tcp_rtt.py" ask 10.27.0.2 5999) || fail "no round trip over the wire"
[ "$rtt" -ge 400 ] && [ "$rtt" -lt 200000 ] || fail "a round trip over the 200 us wire took $rtt us"
netns_mpirun 2 h1,h2 "$VGGTOP" train $SHORT --run-dir wired16 >wired16.out 2>&1 ||
    { cat wired16.out >&2; fail "2 hosts over the delayed wire: mpirun exited $?"; }
[ "$(strip two16)" = "$(strip wired16)" ] || { strip two16 >&2; strip wired16 >&2; fail "the delayed wire trained otherwise than the bridge"; }
finish
