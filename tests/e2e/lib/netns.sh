# Emulated hosts for the multi-host end-to-end scripts (tests/e2e/mpi_multihost*.sh), sourced after
# prologue.sh. Each "host" hN is a network namespace with its own loopback and one interface eth0 at
# 10.27.0.N/24, cabled by a veth pair to a bridge in a "switch" namespace; a host's processes also get a UTS
# namespace named hN (tests/tools/netns-rsh.sh, the rsh agent Open MPI starts its daemons with). Nothing is
# made outside these namespaces (the veths are created in the root namespace and moved at once), and the
# namespaces carry this shell's pid in their names, so two scripts never meet. It gives:
# - netns_require: skips the script (exit 77, one line) without root, network namespaces, unshare or mpirun;
# - netns_up N: hosts h1..hN and the switch, torn down at exit (also on failure);
# - netns_up N DELAY_US [GBIT]: the same hosts cabled instead through tests/tools/wire.c, a switch in one
#   process that delays every frame by DELAY_US microseconds one way and sends at most GBIT Gbit/s out of
#   each port (this kernel has no netem to add latency to a veth); netns_shape and netns_link need the bridge;
# - netns_mpirun NP HOSTS ARGS...: mpirun started on h1 with --host HOSTS, Open MPI's TCP transport only, on
#   eth0 only (no shared memory between hosts, no other interface), session files under $TMP; its link to
#   each daemon is probed every second (TCP keepalive), so a host cut off is noticed in about 4 s, not 8 min;
# - netns_shape GBITS: every cable shaped to GBITS Gbit/s both ways with tbf (1, 10, 25);
# - netns_link HOST up|down: HOST's cable plugged in or pulled out (no netem on this kernel: a cut is a link
#   down, which drops every packet as netem's loss 100% would);
# - netns_tx_bytes HOST: the bytes HOST has sent on its cable so far;
# - netns_rank_pid RANK: the pid of the vggtop process of that MPI rank, on whichever host it runs.
NETNS=vggtop$$
netns_hosts=0
netns_wire_pid=
WIRE="${WIRE:-$TOP/build/release/tests/wire}"

netns_require() {
    why=
    if [ "$(id -u)" != 0 ]; then
        why="needs root (network namespaces)"
    elif ! command -v unshare >/dev/null || ! command -v mpirun >/dev/null || ! command -v tc >/dev/null; then
        why="needs unshare, tc and mpirun"
    elif ! unshare --uts --mount --propagation private true 2>/dev/null; then
        why="this kernel or container gives no UTS or mount namespaces"
    elif ! ip netns add "${NETNS}probe" 2>/dev/null; then
        why="this kernel or container gives no network namespaces"
    else
        ip netns del "${NETNS}probe"
    fi
    [ -z "$why" ] || skip "$why"
}

netns_down() {
    [ -z "$netns_wire_pid" ] || kill "$netns_wire_pid" 2>/dev/null
    netns_wire_pid= netns_hosts=0
    for ns in $(ip netns list 2>/dev/null | awk -v p="$NETNS" 'index($1, p) == 1 { print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}

netns_up() {
    at_exit netns_down
    if [ $# -gt 1 ]; then
        netns_wire_start "$@"
    else
        ip netns add "${NETNS}sw" && ip -n "${NETNS}sw" link add br0 type bridge &&
            ip -n "${NETNS}sw" link set br0 up || fatal "cannot make the switch namespace"
    fi
    i=1
    while [ "$i" -le "$1" ]; do
        ns=${NETNS}h$i
        ip netns add "$ns" || fatal "cannot make host h$i"
        if [ -n "$netns_wire_pid" ]; then # the wire's tap, jumbo frames (a frame is a read and a write there)
            ip link set "${NETNS}t$i" netns "$ns" && ip -n "$ns" link set "${NETNS}t$i" name eth0 &&
                ip -n "$ns" link set eth0 mtu 65000 || fatal "cannot cable host h$i to the wire"
        else # a veth, its other end a port of the bridge
            ip link add "${NETNS}a$i" type veth peer name "${NETNS}b$i" &&
                ip link set "${NETNS}a$i" netns "$ns" && ip link set "${NETNS}b$i" netns "${NETNS}sw" &&
                ip -n "$ns" link set "${NETNS}a$i" name eth0 &&
                ip -n "${NETNS}sw" link set "${NETNS}b$i" name "p$i" master br0 up || fatal "cannot cable host h$i"
        fi
        ip -n "$ns" addr add "10.27.0.$i/24" dev eth0 &&
            ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up || fatal "cannot make host h$i"
        i=$((i + 1))
    done
    netns_hosts=$1
    mkdir -p "$TMP/ompi"
}

# The wire with a tap for each of N hosts, DELAY_US and GBIT as netns_up takes them.
netns_wire_start() {
    [ -x "$WIRE" ] || fatal "no $WIRE (make build/release/tests/wire)"
    taps= i=1
    while [ "$i" -le "$1" ]; do taps="$taps ${NETNS}t$i"; i=$((i + 1)); done
    # The wire makes the taps and says "ready"; they go with it when it is killed.
    rm -f "$TMP/wire.ready" && mkfifo "$TMP/wire.ready" || fatal "mkfifo"
    "$WIRE" --delay-us "$2" --gbit "${3:-0}" $taps >"$TMP/wire.ready" 2>"$TMP/wire.err" &
    netns_wire_pid=$!
    read -r ready <"$TMP/wire.ready"
    [ "$ready" = ready ] || fatal "the wire did not start: $(cat "$TMP/wire.err")"
}

netns_mpirun() {
    np=$1 hosts=$2
    shift 2
    VGGTOP_NETNS=$NETNS OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        ip netns exec "${NETNS}h1" unshare --uts sh -c 'hostname h1 && exec "$@"' netns \
        mpirun -np "$np" --host "$hosts" --oversubscribe \
        --mca plm_rsh_agent "$TOP/tests/tools/netns-rsh.sh" --mca plm_rsh_no_tree_spawn 1 \
        --mca btl tcp,self --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0 \
        --mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 \
        --mca orte_tmpdir_base "$TMP/ompi" "$@"
}

netns_shape() {
    # burst: 1 ms at the rate (at least 64 KB), so the bucket never starves a stream at line rate.
    burst=$(($1 * 125000)); [ "$burst" -ge 65536 ] || burst=65536
    i=1
    while [ "$i" -le "$netns_hosts" ]; do
        ip netns exec "${NETNS}h$i" tc qdisc replace dev eth0 root tbf rate "${1}gbit" burst "$burst" latency 20ms &&
            ip netns exec "${NETNS}sw" tc qdisc replace dev "p$i" root tbf rate "${1}gbit" burst "$burst" latency 20ms ||
            fatal "tc tbf ${1}gbit on the cable of h$i"
        i=$((i + 1))
    done
}

netns_link() {
    ip -n "${NETNS}sw" link set "p${1#h}" "$2" && ip -n "${NETNS}$1" link set eth0 "$2" || fatal "link $1 $2"
}

netns_tx_bytes() {
    ip netns exec "${NETNS}$1" cat /sys/class/net/eth0/statistics/tx_bytes
}

netns_rank_pid() {
    i=1
    while [ "$i" -le "$netns_hosts" ]; do
        for pid in $(ip netns pids "${NETNS}h$i"); do
            case $(readlink "/proc/$pid/exe" 2>/dev/null) in */vggtop) ;; *) continue ;; esac
            if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
                echo "$pid"
                return 0
            fi
        done
        i=$((i + 1))
    done
    return 1
}
