#!/bin/sh
# End-to-end test of the Setup screen's facts: "(limited)" only when the limit cuts the data set (a limit
# above Fashion-MNIST's 60,000 training images says it changes nothing), and the estimate counts the
# test-set pass after each epoch; switching the model shows no stale facts under the new name; coarse labels
# are not offered for a data set without superclasses.
. "$(dirname "$0")/lib/tui.sh"

tui_start s 120 30 --runs "$TMP/runs"
tui_wait s "Model and settings" 10
tui_field s 11 500
tui_wait s "500 training images (limited)" 20
tui_wait s "per epoch with its test-set pass" 60
tui_field s 11 100000
tui_wait s "60000 training images (all of" 30
tui_reject s "(limited)"
# Switching the model never shows the previous model's parameter count under the new name (it did for up
# to a second, until the probe answered).
tui_field s 11 500
tui_wait s "Model: cnn, 1,676,266 parameters" 30
tui_keys s Right
end=$(($(date +%s) + 3))
while [ "$(date +%s)" -le "$end" ]; do
    tui_screen s | grep -q "Model: mlp, 1,676,266" && tui_fail s "mlp shown with cnn's parameter count"
    sleep 0.05
done
tui_wait s "Model: mlp, 535,818 parameters" 30
# Coarse labels are not offered on Fashion-MNIST (they were, and training refused them).
tui_keys s Home Down Down Right
tui_expect s "coarse labels are CIFAR-100's 20 superclasses: Fashion-MNIST has none"
tui_expect s "Labels          ◂ fine ▸"
tui_keys s q
[ "$(tui_exited s 20)" = 0 ] || tui_fail s "vggtop did not exit 0 after q"
finish
