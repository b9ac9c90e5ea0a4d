#!/bin/sh
# End-to-end test on a vt100 (no alternate screen): after q the front end's last frame is not left on the
# terminal (it stayed, tabs, footer and all, above the shell's prompt).
set -u
. "$(dirname "$0")/tui_lib.inc"
tui_setup

tmux -L "$SOCK" new-session -d -s v -x 80 -y 24 \
    "cd '$TMP' && TERM=vt100 LANG=C LC_ALL=C '$VGGTOP' --runs '$TMP/runs' 2> '$TMP/v.err'; echo \$? > '$TMP/v.exit'; sleep 600"
tui_wait v "Model and settings" 10
tui_keys v q
end=$(($(date +%s) + 20))
while [ ! -s "$TMP/v.exit" ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done
[ "$(cat "$TMP/v.exit" 2>/dev/null)" = 0 ] || tui_fail v "vggtop did not exit 0 after q"
tui_reject v "Model and settings"
tui_reject v "Tab Next"
echo "tui_vt100: all passed"
