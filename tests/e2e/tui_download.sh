#!/bin/sh
# End-to-end (tmux): the Setup screen's d key downloads CIFAR-100 (from a local 127.0.0.1 server, through
# $VGGTOP_CIFAR100_URL and $VGGTOP_CIFAR100_MD5) with its progress on screen; c cancels and keeps the partial
# file; the next d resumes it, and when it is in place Setup switches to CIFAR-100.
. "$(dirname "$0")/lib/tui.sh"
command -v python3 >/dev/null || fatal "python3 is needed (src/install-deps.sh)"
server=
at_exit '[ -n "$server" ] && kill "$server" 2>/dev/null'
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy VGGTOP_DATA
export HOME="$TMP/home"
mkdir -p "$HOME"
python3 "$TOP/tests/tools/cifar100_tarballs.py" "$TMP/www" || tui_fail none "cannot make the tarballs"
python3 "$TOP/tests/tools/http_server.py" "$TMP/www" "$TMP/port" "$TMP/requests.log" &
# shellcheck disable=SC2034 # read by the exit hook
server=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=http://127.0.0.1:$(cat "$TMP/port")
size=$(wc -c <"$TMP/www/cifar-100-binary.tar.gz")
export VGGTOP_CIFAR100_MD5="$(md5sum "$TMP/www/cifar-100-binary.tar.gz" | cut -d' ' -f1)"

# 1. A server that sends half and stalls: the progress shows, c cancels, the half is kept.
export VGGTOP_CIFAR100_URL="$url/stall/cifar-100-binary.tar.gz"
s=cancel
tui_start "$s" 120 40 --runs "$TMP/runs"
tui_wait "$s" "Model and settings" 10
tui_wait "$s" "d downloads CIFAR-100" 20
tui_keys "$s" d
tui_wait "$s" "Downloading CIFAR-100 (c cancels)" 5
tui_wait "$s" " 50%  " 10
tui_keys "$s" c
tui_wait "$s" "download interrupted" 10
tui_reject "$s" "Downloading CIFAR-100"
[ "$(wc -c <"$TMP/data/cifar-100-binary.tar.gz.part")" -eq $((size / 2)) ] || tui_fail "$s" "the partial file was not kept"
[ -e "$TMP/data/cifar-100-binary" ] && tui_fail "$s" "something was installed"
tui_keys "$s" q
sleep 0.5
tmux -L "$SOCK" kill-session -t "$s" 2>/dev/null

# 2. A working server: d resumes the half, installs, and Setup switches to CIFAR-100.
export VGGTOP_CIFAR100_URL="$url/files/cifar-100-binary.tar.gz"
tmux -L "$SOCK" kill-server 2>/dev/null # a new server takes the new environment
s=done
tui_start "$s" 120 40 --runs "$TMP/runs"
tui_wait "$s" "d downloads CIFAR-100" 20
tui_keys "$s" d
tui_wait "$s" "CIFAR-100 is in ./data/cifar-100-binary: Setup uses it now" 20
tui_wait "$s" "Data: CIFAR-100 32x32x3, 100 classes, 5 training images" 20
tui_reject "$s" "d downloads CIFAR-100"
grep -q "GET /files/cifar-100-binary.tar.gz range=bytes=$((size / 2))-" "$TMP/requests.log" ||
    tui_fail "$s" "the download was not resumed: $(cat "$TMP/requests.log")"
cmp -s "$TMP/www/expected/train.bin" "$TMP/data/cifar-100-binary/train.bin" || tui_fail "$s" "train.bin differs"
[ -e "$TMP/data/cifar-100-binary.tar.gz.part" ] && tui_fail "$s" "the tarball was left"
# Again: CIFAR-100 is in use, so d has nothing to do.
tui_keys "$s" d
tui_expect "$s" "the data set in use is CIFAR-100 already"
tui_keys "$s" q
sleep 0.5
finish
