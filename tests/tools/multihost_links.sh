#!/bin/sh
# Step time and allreduce wait of data-parallel training over emulated links: 2 and 3 hosts (network
# namespaces, tests/e2e/lib/netns.sh; needs root), each cable unshaped and shaped with tbf to 1, 10 and 25
# Gbit/s, for each model given (default: cnn and vgg16-nopool) at a fixed batch per rank. With DELAYS (one-way
# latencies in microseconds) the hosts are cabled instead through tests/tools/wire.c, which adds the latency
# and sends at the link's rate (0: unlimited), for each delay and link. Prints one line per run: model, ranks,
# link (0: unshaped), one-way delay in us, params, the mean step (slice gradient, allreduce, update) and the
# mean wait for the allreduce after the backward pass, in ms, from the run's last log line. Every "host"
# shares this machine's cores, so the step includes the other ranks' competition for them: compare a link
# with the unshaped run of the same ranks (tests/tools/fit_dist.py does, and fits bench --dist's model).
# Not a test (minutes): its numbers go into docs/SCALING.md.
#     [RANKS="2 3"] [LINKS="0 1 10 25"] [DELAYS="0 100 500"] [PRECISION=float32] \
#         sh tests/tools/multihost_links.sh [MODEL:BATCH_PER_RANK:STEPS ...]
# (PRECISION is --allreduce-precision).
. "$(dirname "$0")/../e2e/lib/prologue.sh"
. "$(dirname "$0")/../e2e/lib/netns.sh"
netns_require
[ $# -gt 0 ] || set -- cnn:32:20 vgg16-nopool:8:6
# cable DELAY GBIT: the hosts cabled for a run (the bridge and tbf without DELAYS).
cable() {
    if [ -z "${DELAYS:-}" ]; then
        [ "$netns_hosts" -gt 0 ] || netns_up 3
        i=1
        while [ "$i" -le 3 ]; do # unshaped, then shaped if asked
            ip netns exec "${NETNS}h$i" tc qdisc del dev eth0 root 2>/dev/null
            ip netns exec "${NETNS}sw" tc qdisc del dev "p$i" root 2>/dev/null
            i=$((i + 1))
        done
        if [ "$2" -gt 0 ]; then netns_shape "$2"; fi
    else
        netns_down
        netns_up 3 "$1" "$2"
    fi
}
echo "model ranks gbit delay_us params step_ms wait_ms"
for spec in "$@"; do
    model=${spec%%:*} rest=${spec#*:}
    batch=${rest%%:*} steps=${rest#*:}
    for ranks in ${RANKS:-2 3}; do
        hosts=h1,h2
        [ "$ranks" -eq 2 ] || hosts=h1,h2,h3
        global=$((batch * ranks))
        for delay in ${DELAYS:-0}; do
            for gbit in ${LINKS:-0 1 10 25}; do
                cable "$delay" "$gbit"
                out=$TMP/$model-$ranks-$gbit-$delay
                netns_mpirun "$ranks" "$hosts" "$VGGTOP" train --model "$model" --batch-size "$global" \
                    --limit-train $((global * steps)) --limit-test "$ranks" --epochs 1 --threads 1 --run-dir "$out" \
                    --allreduce-precision "${PRECISION:-float32}" \
                    >"$out.out" 2>&1 || { cat "$out.out" >&2; fatal "$model on $ranks hosts at $gbit Gbit/s"; }
                params=$(sed -n 's/.*"params":[[:space:]]*\([0-9]*\).*/\1/p' "$out/config.json" | head -1)
                sed -n 's/^Ranks: .*(\([0-9.]*\) of \([0-9.]*\) ms)$/\2 \1/p' "$out.out" |
                    awk -v m="$model" -v r="$ranks" -v g="$gbit" -v d="$delay" -v p="$params" \
                        '{ print m, r, g, d, p, $1, $2 }'
            done
        done
    done
done
finish
