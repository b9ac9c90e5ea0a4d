#!/bin/sh
# End-to-end (tmux): the Setup form applies the rules between fields as the command line does. A resize
# below 32 is refused for vgg16 while typing (it used to be accepted and the run to fail later), and
# switching the model to vgg16 while such a resize is set is refused with the reason, leaving the model as
# it was. Settings the Setup screen already knows to be unusable are refused by Enter with the reason.
. "$(dirname "$0")/lib/tui.sh"

s=setup
tui_start "$s" 120 40 --runs "$TMP/runs"
tui_wait "$s" "Model and settings" 10
tui_expect "$s" "cnn ▸"

# vgg16, then Resize 16: marked, explained, and Enter does not accept it.
tui_keys "$s" Right Right
tui_expect "$s" "vgg16 ▸"
tui_keys "$s" Down Down Down e C-u
tui_keys "$s" -l 16
tui_expect "$s" "below vgg16's minimum"
tui_keys "$s" Enter
tui_expect "$s" "below vgg16's minimum"
tui_keys "$s" Escape
sleep 0.3
tui_expect "$s" "Resize          auto"

# cnn takes Resize 16; switching to vgg16 then is refused and says why.
tui_keys "$s" Home Left Left
tui_expect "$s" "cnn ▸"
tui_field "$s" 3 16
tui_expect "$s" "Resize          16"
tui_keys "$s" Right Right
tui_expect "$s" "--resize: 16 is below vgg16's minimum"
tui_expect "$s" "◂ mlp ▸" # cnn → mlp taken, mlp → vgg16 refused
# Coarse labels on Fashion-MNIST: not offered (they were, and then Enter refused them); the choice stays
# fine and the status says why.
tui_keys "$s" Home Down Down Right
tui_expect "$s" "coarse labels are CIFAR-100's 20 superclasses: Fashion-MNIST has none"
tui_expect "$s" "Labels          ◂ fine ▸"
tui_reject "$s" "◂ coarse ▸"
[ -z "$(ls "$TMP/runs" 2>/dev/null)" ] || tui_fail "$s" "a run directory was made: $(ls "$TMP/runs")"
tui_keys "$s" q
sleep 0.5
echo "qa_setup.sh: ok"
