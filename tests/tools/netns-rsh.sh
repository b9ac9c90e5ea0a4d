#!/bin/sh
# Open MPI's remote shell (--mca plm_rsh_agent) for the emulated hosts of tests/e2e/lib/netns.sh:
#     netns-rsh.sh HOST COMMAND...
# runs COMMAND (the orted line mpirun builds, one shell string) inside the network namespace
# $VGGTOP_NETNS$HOST, with a UTS namespace whose host name is HOST, so that config.json and the lines that
# name a host say h2, not this machine's name for every rank. (Open MPI tells nodes apart by their daemons,
# not by host name: without the UTS namespaces the ranks still used TCP, their shared-memory transport found
# no peer on its node; the tests force --mca btl tcp,self anyway.) Per host, the test may also set
#     VGGTOP_NETNS_ENV_<HOST>="VAR=value ..."  variables the daemon (and so the ranks) of HOST get;
#     VGGTOP_NETNS_HIDE_<HOST>=PATH           an empty tmpfs over PATH in a mount namespace of HOST's own,
#                                             so PATH has nothing in it there (a data set missing on one host).
set -u
[ $# -ge 2 ] || { echo "usage: netns-rsh.sh HOST COMMAND..." >&2; exit 2; }
host=$1
shift
case $host in *[!A-Za-z0-9]*) echo "netns-rsh.sh: '$host' is not an emulated host name" >&2; exit 2 ;; esac
eval "vars=\${VGGTOP_NETNS_ENV_$host:-}"
eval "hide=\${VGGTOP_NETNS_HIDE_$host:-}"
# The inner shell: name the host, cover the hidden path, then run mpirun's command line.
inner='hostname "$1" && { [ -z "$2" ] || mount -t tmpfs -o size=1m,mode=0755 vggtop-hidden "$2"; } && shift 2 && exec sh -c "$*"'
# shellcheck disable=SC2086 # $vars is a list of assignments for env
exec ip netns exec "${VGGTOP_NETNS:?}$host" unshare --uts --mount --propagation private \
    env $vars sh -c "$inner" netns-rsh "$host" "$hide" "$@"
